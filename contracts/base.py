"""Base class for every contract model, and the limits every event is held to."""

import functools
from datetime import date, datetime
from typing import Annotated, Any, Self, get_args

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
