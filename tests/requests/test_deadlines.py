"""15 PRC working days on the official calendar, never more than 30 calendar days."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from requests.deadlines import due_date, working_days_left

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("verified", "due"),
    [
        # Spring Festival 2025: 28 Jan-4 Feb off; Sun 26 Jan and Sat 8 Feb are make-up workdays.
        (date(2025, 1, 24), date(2025, 2, 20)),
        (date(2025, 1, 27), date(2025, 2, 24)),
        # National Day 2025: 1-8 Oct off; Sun 28 Sep and Sat 11 Oct are make-up workdays.
        (date(2025, 9, 26), date(2025, 10, 23)),
        (date(2025, 9, 30), date(2025, 10, 28)),
        # An ordinary stretch: three weeks of weekdays.
        (date(2025, 3, 3), date(2025, 3, 24)),
    ],
)
def test_due_date_follows_the_official_calendar(verified, due):
    assert due_date(verified) == due


def test_make_up_workdays_count_and_holidays_do_not():
    # From Fri 24 Jan 2025 the first working day is the make-up Sunday, 26 Jan.
    assert due_date(date(2025, 1, 24), working_days=1) == date(2025, 1, 26)
    # From Mon 27 Jan the next is Wed 5 Feb, after the Spring Festival week.
    assert due_date(date(2025, 1, 27), working_days=1) == date(2025, 2, 5)
    assert due_date(date(2025, 10, 10), working_days=1) == date(2025, 10, 11)


def test_never_more_than_30_calendar_days():
    # 20 working days from New Year's Eve 2025 would cross the Spring Festival of 2026.
    assert due_date(date(2026, 1, 30), working_days=20) == date(2026, 3, 1)
    assert due_date(date(2026, 1, 30)) <= date(2026, 3, 1)


def test_the_clock_starts_on_the_local_day_of_verification():
    # 23:30 in Shanghai is still the 24th there, although it is already the 24th 15:30 UTC.
    late_evening = datetime(2025, 1, 24, 23, 30, tzinfo=SHANGHAI)
    assert due_date(late_evening) == date(2025, 2, 20)


def test_working_days_left_counts_down_and_goes_negative_when_overdue():
    due = date(2025, 2, 20)
    assert working_days_left(due, today=date(2025, 1, 24)) == 15
    assert working_days_left(due, today=date(2025, 2, 19)) == 1
    assert working_days_left(due, today=date(2025, 2, 20)) == 0
    assert working_days_left(due, today=date(2025, 2, 24)) == -2
