"""The suite's clock: run the tests as if today were another day.

    BAZGASHT_TEST_NOW=2027-03-20 make test        # noon UTC that day
    BAZGASHT_TEST_NOW=2027-03-20T20:45:00+00:00 make test

The test process travels there at start and the clock then runs on (time-machine, tick on),
so a test that reads "now" sees that day. Every process a test starts (a Celery worker,
gunicorn, `make run`'s processes) sees the same clock: the shift from the real time is handed
down in BAZGASHT_TEST_CLOCK_SHIFT, and tests/clock_site/sitecustomize.py, put on PYTHONPATH,
applies it as each Python process starts. A test that moves its own clock (the time_machine
fixture) does so in its own process only.

CI runs the tests marked `calendar` on the days where calendars turn (.ci/run).
"""

import os
import time
from datetime import UTC, date, datetime
from pathlib import Path

import time_machine

NOW = "BAZGASHT_TEST_NOW"
SHIFT = "BAZGASHT_TEST_CLOCK_SHIFT"
SITE = Path(__file__).resolve().parent / "clock_site"


def chosen_now(value: str) -> datetime:
    """The moment `value` names: an ISO date (noon UTC) or an ISO time with its offset."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time().replace(hour=12), tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"{NOW}={value!r} is neither a date (2027-03-20) nor a time with an offset") from error
    if moment.tzinfo is None:
        raise ValueError(f"{NOW}={value!r} needs a UTC offset (2027-03-20T20:45:00+00:00)")
    return moment


def environment_for(moment: datetime, environ: dict[str, str]) -> dict[str, str]:
    """The variables that start a Python process with its clock at `moment`, running on."""
    return {
        SHIFT: repr(moment.timestamp() - time.time()),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SITE), environ.get("PYTHONPATH")])),
    }


def travel_for_the_session() -> datetime | None:
    """Set this process's clock, and its children's, to the chosen day; None when none is chosen."""
    value = os.environ.get(NOW, "").strip()
    if not value:
        return None
    moment = chosen_now(value)
    os.environ.update(environment_for(moment, dict(os.environ)))
    time_machine.travel(moment, tick=True).start()
    return moment
