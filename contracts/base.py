"""Base class for every contract model."""

from pydantic import BaseModel, ConfigDict


class ContractModel(BaseModel):
    """A frozen contract model.

    Unknown fields are ignored rather than refused: a producer may add
    optional fields within a version, and consumers built against the older
    shape must keep working.
    """

    model_config = ConfigDict(
        frozen=True, extra="ignore", use_enum_values=True, populate_by_name=True
    )
