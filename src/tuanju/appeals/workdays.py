"""Working days for appeal deadlines (N个工作日内办结).

Source of truth, in order:

1. ``CalendarDay`` rows: overrides kept by operators (e.g. next year's holidays as soon as the
   State Council publishes them, before a new package release).
2. The ``chinesecalendar`` package (PyPI ``chinesecalendar``, import ``chinese_calendar``),
   maintained from the State Council's annual notices: public holidays and the adjusted
   working days (调休, weekend days that are working days). Version 1.11 covers 2004–2026.
3. Outside the package's years: Monday–Friday, minus the fixed-date statutory holidays of the
   《全国年节及纪念日放假办法》 (元旦 1 Jan, 劳动节 1–2 May, 国庆节 1–3 Oct). Lunar holidays and
   调休 of such a year are unknown until published: add them as overrides. ``coverage_warning``
   says when today's deadlines already run into such a year.

A deadline of N working days counts from the day after the assignment: assigned on any day,
the deadline is the N-th working day after it (the assignment day itself never counts).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
from chinese_calendar import constants as cc_constants

FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}
MAX_DAYS = 366


@lru_cache(maxsize=1)
def package_years() -> tuple[int, int]:
    """The first and last year the installed chinesecalendar knows."""
    days = list(cc_constants.holidays) + list(cc_constants.workdays)
    return min(days).year, max(days).year


def _package_knows(day: date) -> bool:
    first, last = package_years()
    return first <= day.year <= last


@lru_cache(maxsize=8192)
def default_is_workday(day: date) -> bool:
    """Without overrides: the package within its years, the statutory fallback outside them."""
    if _package_knows(day):
        return chinese_calendar.is_workday(day)
    return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS


class WorkCalendar:
    """Working-day arithmetic with the overrides loaded once per year (reuse one for many deadlines)."""

    def __init__(self, overrides: dict[date, bool] | None = None):
        self._given = overrides
        self._years: dict[int, dict[date, bool]] = {}

    def _overrides(self, year: int) -> dict[date, bool]:
        if self._given is not None:
            return self._given
        if year not in self._years:
            from tuanju.appeals.models import CalendarDay

            self._years[year] = dict(
                CalendarDay.objects.filter(day__year=year).values_list("day", "is_workday")
            )
        return self._years[year]

    def is_workday(self, day: date) -> bool:
        override = self._overrides(day.year).get(day)
        if override is not None:
            return override
        return default_is_workday(day)

    def add(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``days`` ≥ 1); ``start`` itself is not counted."""
        if days < 1:
            raise ValueError("a time limit is at least one working day")
        if days > MAX_DAYS:
            raise ValueError(f"a time limit is at most {MAX_DAYS} working days")
        day, left = start, days
        while left:
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return day

    def between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when ``end`` ≤ ``start``)."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count

    def next_workday(self, day: date) -> date:
        return self.add(day, 1)


def add_workdays(start: date, days: int) -> date:
    return WorkCalendar().add(start, days)


def is_workday(day: date) -> bool:
    return WorkCalendar().is_workday(day)


def coverage_warning(today: date, horizon_days: int = 45) -> str | None:
    """A message when deadlines from ``today`` may reach a year the calendar does not know in full."""
    from tuanju.appeals.models import CalendarDay

    _first, last = package_years()
    reach = today + timedelta(days=horizon_days)
    if reach.year <= last:
        return None
    if CalendarDay.objects.filter(day__year=reach.year).exists():
        return None
    return (
        f"节假日数据只到{last}年：{reach.year}年的春节等农历假日和调休尚未录入，"
        f"期限按周一至周五及元旦、劳动节、国庆节计算。请升级 chinesecalendar 或在“节假日调整”中录入。"
    )
