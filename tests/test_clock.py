"""The suite's clock (tests/clock.py): a chosen day, and the same clock in the processes tests start."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests import clock
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        ("2027-03-20", datetime(2027, 3, 20, 12, tzinfo=UTC)),
        ("2027-03-20T20:00:00+00:00", datetime(2027, 3, 20, 20, tzinfo=UTC)),
        ("2028-02-29T23:30:00+03:30", datetime(2028, 2, 29, 20, tzinfo=UTC)),
    ],
)
def test_a_day_or_a_time_with_its_offset_names_the_moment(value, moment):
    assert clock.chosen_now(value) == moment


@pytest.mark.parametrize("value", ["2027-02-30", "20 March", "2027-03-20T20:00:00"])
def test_anything_else_is_refused_with_the_form_it_takes(value):
    with pytest.raises(ValueError, match="2027-03-20"):
        clock.chosen_now(value)


def test_a_process_a_test_starts_reads_the_same_clock_and_is_no_test_run():
    moment = datetime(2027, 3, 20, 20, 0, tzinfo=UTC)
    env = {**os.environ, **clock.environment_for(moment, dict(os.environ)), "DEBUG": "true"}
    code = "import datetime, config.settings as s; print(datetime.datetime.now(datetime.UTC).isoformat(), s.TESTING)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)

    now, testing = done.stdout.split()
    assert moment <= datetime.fromisoformat(now) < moment + timedelta(minutes=1)
    # The settings take a process that imported pytest for a test run; this one is not.
    assert testing == "False"
