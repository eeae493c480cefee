"""When a request is due: 15 PRC working days after the requester's identity was
verified, on the official calendar (holidays and weekend make-up workdays, from
the ``holidays`` package), and never more than 30 calendar days."""

import functools
from bisect import bisect_left, bisect_right
from datetime import date, datetime, timedelta

import holidays
from django.utils import timezone

WORKING_DAYS = 15
CALENDAR_DAYS_CAP = 30


@functools.lru_cache(maxsize=64)
def _working_days(year: int) -> tuple[int, ...]:
    """The ordinals of the year's working days, ascending.

    The official calendar of a year never changes while the process runs, and asking
    ``holidays`` day by day is slow when repeated: the request pages count the days
    left of every open request, so each year is walked once and then bisected.
    """
    calendar = holidays.country_holidays("CN", years=year)
    first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
    return tuple(
        day for day in range(first, last + 1) if calendar.is_working_day(date.fromordinal(day))
    )


def _nth_working_day_after(start: date, n: int) -> date:
    days = _working_days(start.year)
    index = bisect_right(days, start.toordinal()) + n - 1
    year = start.year
    while index >= len(days):
        index -= len(days)
        year += 1
        days = _working_days(year)
    return date.fromordinal(days[index])


def _working_days_between(first: date, last: date) -> int:
    """Working days from ``first`` to ``last``, both included."""
    count = 0
    for year in range(first.year, last.year + 1):
        days = _working_days(year)
        count += bisect_right(days, last.toordinal()) - bisect_left(days, first.toordinal())
    return count


def due_date(verified_at: datetime | date, *, working_days: int = WORKING_DAYS) -> date:
    """The last day to answer, counting from the day after verification."""
    start = (
        timezone.localtime(verified_at).date() if isinstance(verified_at, datetime) else verified_at
    )
    by_working_days = _nth_working_day_after(start, working_days)
    return min(by_working_days, start + timedelta(days=CALENDAR_DAYS_CAP))


def working_days_left(due: date, *, today: date | None = None) -> int:
    """Working days from tomorrow up to and including ``due``; negative when overdue."""
    today = today or timezone.localdate()
    if due == today:
        return 0
    if due > today:
        return _working_days_between(today + timedelta(days=1), due)
    return -_working_days_between(due + timedelta(days=1), today)
