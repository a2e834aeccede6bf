"""The CloudEvents 1.0 envelope (structured JSON mode) every message uses."""

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from contracts.base import ID_PATTERN, ContractModel, HappenedAt

Producer = Literal["crm", "invitations", "reports", "decisions"]

CONTENT_TYPE = "application/cloudevents+json"


class CloudEvent(ContractModel):
    """One message: who produced which fact, about what, for which council."""

    specversion: Literal["1.0"] = Field(description="CloudEvents specification version.")
    id: str = Field(
        min_length=1,
        max_length=200,
        pattern=ID_PATTERN,
        description="Unique per event; consumers de-duplicate on it.",
    )
    source: Producer = Field(description="The producer of the event.")
    type: str = Field(
        pattern=r"^[a-z]+\.[a-z_]+\.[a-z_]+\.v[0-9]+$",
        description="`<producer>.<entity>.<fact>.v<N>`; also the routing key.",
    )
    time: HappenedAt = Field(
        description="When the fact happened, RFC 3339 with an offset. Past-only: an event "
        "whose `time` is ahead of the receiving service's clock by more than its tolerance "
        "is refused."
    )
    subject: str = Field(
        min_length=1,
        max_length=200,
        pattern=ID_PATTERN,
        description="The conference id (or the plan id for plan events).",
    )
    tenant: str = Field(pattern=r"^[0-9]{3}$", description="The council's three-digit DfE LA code.")
    correlationid: str = Field(
        min_length=1,
        max_length=200,
        pattern=ID_PATTERN,
        description="Carried unchanged through every event a flow causes.",
    )
    causationid: str | None = Field(
        default=None,
        max_length=200,
        pattern=ID_PATTERN,
        description="The `id` of the event that caused this one.",
    )
    datacontenttype: Literal["application/json"] = Field(
        default="application/json", description="Always JSON."
    )
    data: dict[str, Any] = Field(description="The event's payload; its schema depends on `type`.")
    traceparent: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
        description="Optional (CloudEvents distributed tracing extension): the W3C trace "
        "context of the span that produced the event. The services carry it into every fact "
        "an event causes, so one conference's flow is one trace.",
    )
    tracestate: str | None = Field(
        default=None,
        max_length=512,
        description="Optional (distributed tracing extension): W3C `tracestate`.",
    )

    @property
    def producer(self) -> str:
        """The producer named by the type (the part before the first dot)."""
        return self.type.split(".", 1)[0]

    def occurred_at(self) -> datetime:
        """The time the fact happened, as carried by the event."""
        return self.time
