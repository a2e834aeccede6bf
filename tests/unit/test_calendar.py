"""The England and Wales working-day calendar, table-driven across the awkward seasons."""

from datetime import date

import pytest

from rules.calendar import WorkingDayCalendar

calendar = WorkingDayCalendar()


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 12, 24), True),
        (date(2026, 12, 25), False),  # Christmas Day (Friday)
        (date(2026, 12, 28), False),  # Boxing Day substitute (26th is a Saturday)
        (date(2026, 12, 29), True),
        (date(2027, 1, 1), False),  # New Year's Day
        (date(2027, 3, 26), False),  # Good Friday 2027
        (date(2027, 3, 29), False),  # Easter Monday 2027
        (date(2027, 5, 3), False),  # Early May bank holiday
        (date(2027, 5, 31), False),  # Spring bank holiday
        (date(2027, 8, 30), False),  # Summer bank holiday
        (date(2027, 12, 27), False),  # Christmas substitute (25th is a Saturday)
        (date(2027, 12, 28), False),  # Boxing Day substitute
        (date(2026, 11, 21), False),  # Saturday
        (date(2026, 11, 23), True),
        (date(2025, 4, 18), False),  # Good Friday 2025
        (date(2025, 4, 21), False),  # Easter Monday 2025
    ],
)
def test_working_days(day: date, working: bool) -> None:
    assert calendar.is_working_day(day) is working


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        (date(2026, 11, 2), 15, date(2026, 11, 23)),  # plain weeks
        (date(2026, 12, 14), 15, date(2027, 1, 7)),  # over Christmas and New Year
        (date(2027, 3, 15), 15, date(2027, 4, 7)),  # over Easter
        (date(2027, 4, 26), 10, date(2027, 5, 11)),  # over the early May bank holiday
        (date(2027, 5, 24), 10, date(2027, 6, 8)),  # over the spring bank holiday
        (date(2026, 11, 20), 1, date(2026, 11, 23)),  # Friday to Monday
        (date(2026, 11, 21), 1, date(2026, 11, 23)),  # from a Saturday
        (date(2026, 11, 23), 0, date(2026, 11, 23)),
    ],
)
def test_add_working_days(start: date, count: int, expected: date) -> None:
    assert calendar.add_working_days(start, count) == expected


@pytest.mark.parametrize(
    ("end", "count", "expected"),
    [
        (date(2026, 11, 25), 3, date(2026, 11, 20)),
        (date(2026, 11, 25), 2, date(2026, 11, 23)),
        (date(2027, 1, 5), 3, date(2026, 12, 30)),  # back over New Year and Christmas
        (date(2027, 1, 5), 5, date(2026, 12, 24)),
        (date(2027, 3, 31), 3, date(2027, 3, 24)),  # back over Easter
        (date(2027, 5, 5), 2, date(2027, 4, 30)),  # back over the early May bank holiday
        (date(2027, 6, 2), 5, date(2027, 5, 25)),  # back over the spring bank holiday
    ],
)
def test_subtract_working_days(end: date, count: int, expected: date) -> None:
    assert calendar.subtract_working_days(end, count) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 11, 23), date(2026, 11, 25), 2),
        (date(2026, 12, 23), date(2027, 1, 4), 5),  # 24, 29, 30, 31 Dec and 4 Jan; 1 Jan is not
        (date(2026, 11, 25), date(2026, 11, 23), 0),
    ],
)
def test_working_days_between(start: date, end: date, expected: int) -> None:
    assert calendar.working_days_between(start, end) == expected


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 11, 25), 3, date(2027, 2, 25)),
        (date(2026, 11, 30), 3, date(2027, 2, 26)),  # 28 Feb 2027 is a Sunday
        (date(2026, 9, 25), 3, date(2026, 12, 24)),  # 25 Dec: the working day before
        (date(2026, 10, 1), 3, date(2026, 12, 31)),  # 1 Jan 2027 is a holiday (target itself)
        (date(2026, 10, 3), 6, date(2027, 4, 2)),  # 3 Apr 2027 is a Saturday
        (date(2026, 11, 3), 6, date(2027, 4, 30)),  # 3 May is a holiday, so Fri 30 Apr
        (date(2027, 2, 26), 3, date(2027, 5, 26)),
    ],
)
def test_within_months(start: date, months: int, expected: date) -> None:
    assert calendar.within_months(start, months) == expected


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        calendar.add_working_days(date(2026, 1, 1), -1)
