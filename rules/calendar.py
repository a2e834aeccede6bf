"""The England and Wales working-day calendar, from the `holidays` package (offline)."""

import calendar as monthdays
from datetime import date, datetime, time, timedelta

import holidays

from contracts.base import LONDON

__all__ = ["LONDON", "WorkingDayCalendar", "local_date"]


class WorkingDayCalendar:
    """Working days are Monday to Friday less the England and Wales bank holidays.

    Conventions (process.md section 2): "within N working days of D" is the
    N-th working day after D, D not counted; "N working days before C" is the
    N-th working day counting back from C, C not counted; "within M months of
    D" is D plus M calendar months, or the last working day before it.
    """

    def __init__(self) -> None:
        # England's list is also Wales's: the two share every bank holiday.
        self._holidays = holidays.country_holidays("GB", subdiv="ENG")

    def is_working_day(self, day: date) -> bool:
        """True on a weekday that is not a bank holiday."""
        return day.weekday() < 5 and day not in self._holidays

    def bank_holiday_name(self, day: date) -> str | None:
        """The bank holiday on a day, if any."""
        return self._holidays.get(day)

    def add_working_days(self, start: date, count: int) -> date:
        """The `count`-th working day after `start` (`start` itself not counted)."""
        return self._step(start, count, timedelta(days=1))

    def subtract_working_days(self, end: date, count: int) -> date:
        """The `count`-th working day before `end` (`end` itself not counted)."""
        return self._step(end, count, timedelta(days=-1))

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days fall after `start`, up to and including `end`."""
        if end <= start:
            return 0
        return sum(
            1
            for offset in range(1, (end - start).days + 1)
            if self.is_working_day(start + timedelta(days=offset))
        )

    def add_days(self, start: date, count: int) -> date:
        """ "Within `count` days of `start`": `start` plus `count` calendar days, or the last
        working day before it."""
        return self.on_or_before(start + timedelta(days=count))

    def subtract_days(self, end: date, count: int) -> date:
        """ "`count` days before `end`": `end` less `count` calendar days, or the last working
        day before it."""
        return self.on_or_before(end - timedelta(days=count))

    def on_or_before(self, day: date) -> date:
        """`day`, or the last working day before it."""
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def at_on(self, day: date, moment: time) -> datetime:
        """A London time of day on a date."""
        return datetime.combine(day, moment, LONDON)

    def after(self, day: date, moment: time) -> datetime:
        """The first working day after `day`, at a London time of day: when people hear that
        a deadline ending with `day` has passed."""
        return self.at_on(self.add_working_days(day, 1), moment)

    def within_months(self, start: date, months: int) -> date:
        """`start` plus `months` calendar months, or the last working day before it."""
        month_index = start.month - 1 + months
        year, month = start.year + month_index // 12, month_index % 12 + 1
        day = min(start.day, monthdays.monthrange(year, month)[1])
        return self.on_or_before(date(year, month, day))

    def _step(self, origin: date, count: int, step: timedelta) -> date:
        if count < 0:
            raise ValueError("count working days with a non-negative number")
        day, found = origin, 0
        while found < count:
            day += step
            if self.is_working_day(day):
                found += 1
        return day


def local_date(moment: datetime) -> date:
    """The date of a moment as a council in England sees it."""
    return moment.astimezone(LONDON).date()
