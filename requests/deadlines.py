"""When a request is due: 15 PRC working days after the requester's identity was
verified, on the official calendar (holidays and weekend make-up workdays, from
the ``holidays`` package), and never more than 30 calendar days."""

import functools
from datetime import date, datetime, timedelta

import holidays
from django.utils import timezone

WORKING_DAYS = 15
CALENDAR_DAYS_CAP = 30


@functools.lru_cache(maxsize=8)
def _calendar(year: int):
    return holidays.country_holidays("CN", years=range(year, year + 2))


def due_date(verified_at: datetime | date, *, working_days: int = WORKING_DAYS) -> date:
    """The last day to answer, counting from the day after verification."""
    start = (
        timezone.localtime(verified_at).date() if isinstance(verified_at, datetime) else verified_at
    )
    by_working_days = _calendar(start.year).get_nth_working_day(start, working_days)
    return min(by_working_days, start + timedelta(days=CALENDAR_DAYS_CAP))


def working_days_left(due: date, *, today: date | None = None) -> int:
    """Working days from tomorrow up to and including ``due``; negative when overdue."""
    today = today or timezone.localdate()
    if due == today:
        return 0
    if due > today:
        return _calendar(today.year).get_working_days_count(today + timedelta(days=1), due)
    return -_calendar(due.year).get_working_days_count(due + timedelta(days=1), today)
