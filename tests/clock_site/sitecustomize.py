"""Loaded by every Python process a test starts while the suite runs on a chosen day (tests/clock.py):
the process's clock runs as far from the real one as the test process's does."""

import os
import sys

_shift = os.environ.get("BAZGASHT_TEST_CLOCK_SHIFT")
if _shift:
    import time

    # time-machine offers pytest a fixture when it can import pytest, and the settings take a
    # process that has imported pytest for a test run: this process is not one.
    _hidden = "pytest" not in sys.modules
    if _hidden:
        sys.modules["pytest"] = None  # type: ignore[assignment]
    try:
        import time_machine
    finally:
        if _hidden:
            del sys.modules["pytest"]

    time_machine.travel(time.time() + float(_shift), tick=True).start()
