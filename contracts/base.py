"""Base class for every contract model, and the limits every event is held to."""

import functools
from datetime import date, datetime
from typing import Annotated, Any, Self, get_args
from zoneinfo import ZoneInfo

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    FutureDate,
    FutureDatetime,
    NaiveDatetime,
    PastDate,
    PastDatetime,
    StringConstraints,
    model_validator,
)

MAX_TEXT = 4000
"""No free-text field is longer (a reason, an address, a name): a larger one is refused."""

MAX_ID = 100
"""Ids the CRM gives (conferences, people, children, reports) are at most this long."""

ID_PATTERN = r"^[!-~]+$"
"""Ids are printable ASCII with no spaces: letters, digits and punctuation."""

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID, pattern=ID_PATTERN)]
"""An id the CRM gives to a conference, person, child or report."""

EARLIEST, LATEST = date(1900, 1, 1), date(2100, 12, 31)
"""Every date and time in an event falls in these years."""

LONDON = ZoneInfo("Europe/London")
"""Dates in events are the council's own (England) dates."""


class _PastOnly:
    """Marks a date or time that says when something happened (was submitted, decided, held,
    ended, born): it cannot lie in the future. A scheduled start, an expected date of
    delivery or a deadline may."""

    def __repr__(self) -> str:
        return "PAST_ONLY"


PAST_ONLY = _PastOnly()

HappenedAt = Annotated[AwareDatetime, PAST_ONLY]
"""When something happened, RFC 3339 with an offset: never in the future."""

HappenedOn = Annotated[date, PAST_ONLY]
"""The day something happened: never in the future."""


@functools.cache
def _past_only(model: type[BaseModel]) -> tuple[tuple[str, bool], ...]:
    """The past-only fields of a model, and the fields holding nested models that have some
    (name, nested), found once."""
    found = []
    for name, field in model.model_fields.items():
        if PAST_ONLY in field.metadata or _marked(field.annotation):
            found.append((name, False))
        elif any(_past_only(nested) for nested in _models_in(field.annotation)):
            found.append((name, True))
    return tuple(found)


def _marked(annotation: Any) -> bool:
    """True when an annotation is past-only (an optional one keeps the mark inside)."""
    return any(arg is PAST_ONLY or _marked(arg) for arg in get_args(annotation))


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for argument in get_args(annotation) for model in _models_in(argument)]


def ahead_of(value: BaseModel, latest: datetime, prefix: str = "") -> list[str]:
    """The past-only fields of a model (nested ones included) that lie after `latest`, named
    by their path (never their values: a date of birth is personal data). A date is ahead
    when it is after `latest`'s date in England."""
    today = latest.astimezone(LONDON).date()
    ahead = []
    for name, nested in _past_only(type(value)):
        held: Any = getattr(value, name)
        path = f"{prefix}{name}"
        if nested:
            items = held if isinstance(held, list | tuple) else [held]
            for index, item in enumerate(items):
                if isinstance(item, BaseModel):
                    where = f"{path}[{index}]." if isinstance(held, list | tuple) else f"{path}."
                    ahead += ahead_of(item, latest, where)
        elif isinstance(held, datetime):
            if held > latest:
                ahead.append(path)
        elif isinstance(held, date) and held > today:
            ahead.append(path)
    return ahead


@functools.cache
def _date_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The fields of a model that can hold a date or a time, found once (checking every field
    of every model, nested ones included, on every event was a few per cent of a busy
    service)."""
    return tuple(
        name for name, field in model.model_fields.items() if _holds_dates(field.annotation)
    )


_DATES = (date, AwareDatetime, NaiveDatetime, PastDate, FutureDate, PastDatetime, FutureDatetime)
"""What a date or a time is annotated as (datetime is a date; pydantic's own are classes)."""


def _holds_dates(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, _DATES):
        return True
    return any(_holds_dates(argument) for argument in get_args(annotation))


class ContractModel(BaseModel):
    """A frozen contract model.

    Unknown fields are ignored rather than refused: a producer may add
    optional fields within a version, and consumers built against the older
    shape must keep working. Text is at most `MAX_TEXT` characters and every
    date falls between 1900 and 2100.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        use_enum_values=True,
        populate_by_name=True,
        str_max_length=MAX_TEXT,
    )

    @model_validator(mode="after")
    def _dates_in_range(self) -> Self:
        for name in _date_fields(type(self)):
            value: Any = getattr(self, name)
            day = value.date() if isinstance(value, datetime) else value
            if isinstance(day, date) and not EARLIEST <= day <= LATEST:
                raise ValueError(f"{name} must fall between 1900 and 2100")
        return self
