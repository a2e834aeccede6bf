"""Configuration, from the environment only."""

import re
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rules.policy import load_policy
from shared.store import tls

SERVICES = ("invitations", "reports", "decisions")


class Settings(BaseSettings):
    """Everything a service reads from its environment; built once in `main`, passed in."""

    model_config = SettingsConfigDict(env_prefix="CONVENE_", extra="ignore", frozen=True)

    amqp_password_file: Path | None = Field(
        default=None,
        description="A file holding the broker password (a Docker or Kubernetes secret); it "
        "takes the place of any password in AMQP_URL.",
    )
    database_password_file: Path | None = Field(
        default=None,
        description="A file holding the database password; it takes the place of any "
        "password in the PostgreSQL URLs.",
    )
    amqp_url: str = Field(
        default="amqp://guest:guest@localhost:5672/",
        validation_alias="AMQP_URL",
        validate_default=True,
        description="The broker; its user is this service's broker user.",
    )
    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="PostgreSQL URL shared by the services, each in its own schema.",
    )
    invitations_database_url: str | None = Field(
        default=None, validation_alias="INVITATIONS_DATABASE_URL"
    )
    reports_database_url: str | None = Field(default=None, validation_alias="REPORTS_DATABASE_URL")
    decisions_database_url: str | None = Field(
        default=None, validation_alias="DECISIONS_DATABASE_URL"
    )

    @field_validator("amqp_url", mode="before")
    @classmethod
    def _an_amqp_url(cls, url: object) -> object:
        if isinstance(url, str):
            parts = urlsplit(url)
            if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
                raise ValueError(
                    f"{_shown(url)} is not an AMQP URL: amqp://user@host:5672/vhost, or "
                    "amqps:// for TLS"
                )
        return url

    @field_validator(
        "database_url",
        "invitations_database_url",
        "reports_database_url",
        "decisions_database_url",
        mode="before",
    )
    @classmethod
    def _a_database_url(cls, url: object) -> object:
        if isinstance(url, str):
            scheme = urlsplit(url).scheme.split("+", 1)[0]
            if scheme not in ("postgresql", "postgres", "sqlite"):
                raise ValueError(
                    f"{scheme or url!r} is not a database Convene runs on: postgresql://… "
                    "or sqlite:///path"
                )
        return url

    @field_validator("amqp_url")
    @classmethod
    def _broker_password_from_file(cls, url: str, info: ValidationInfo) -> str:
        return _with_password(
            url, info.data.get("amqp_password_file"), "CONVENE_AMQP_PASSWORD_FILE"
        )

    @field_validator(
        "database_url",
        "invitations_database_url",
        "reports_database_url",
        "decisions_database_url",
    )
    @classmethod
    def _database_password_from_file(cls, url: str | None, info: ValidationInfo) -> str | None:
        if url is None or url.startswith("sqlite"):
            return url
        return _with_password(
            url, info.data.get("database_password_file"), "CONVENE_DATABASE_PASSWORD_FILE"
        )

    data_dir: Path = Field(default=Path("var"), description="Where SQLite files live by default.")
    db_schema_prefix: str = Field(
        default="", pattern=r"^[a-z0-9_]*$", description="Prefix for PostgreSQL schema names."
    )
    policy: str = Field(default="default", description="Policy preset name or policy file path.")
    tenant_policies: str = Field(
        default="", description="Per-council policies: `886=kent,317=/etc/convene/317.toml`."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(default="INFO")

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_any_case(cls, level: object) -> object:
        return level.upper() if isinstance(level, str) else level

    @field_validator("policy")
    @classmethod
    def _a_known_policy(cls, name: str) -> str:
        load_policy(name)  # a preset or a file that parses, else the reason
        return name

    @field_validator("tenant_policies")
    @classmethod
    def _council_policies(cls, value: str) -> str:
        for pair in (p for p in value.split(",") if p.strip()):
            tenant, _, choice = pair.partition("=")
            if not re.fullmatch(r"[0-9]{3}", tenant.strip()) or not choice.strip():
                raise ValueError(
                    f"{pair!r} is not LA=POLICY (a council's three-digit DfE LA code, then a "
                    "preset or a file), as in 886=kent,317=/etc/convene/317.toml"
                )
            load_policy(choice.strip())
        return value

    log_format: Literal["json", "console"] = Field(default="json")
    health_host: str = Field(
        default="0.0.0.0",  # noqa: S104  # probes come from outside the container
        description="The address the health port binds (127.0.0.1: this machine only).",
    )
    health_port: int | None = Field(
        default=None, ge=0, le=65535, description="Serve GET /health on this port."
    )
    prefetch: int = Field(
        default=200,
        ge=1,
        description="Deliveries a replica holds at once: events of different conferences "
        "applied concurrently (one conference's events are always applied one at a time).",
    )
    max_attempts: int = Field(
        default=3,
        ge=1,
        description="Immediate tries of a failing event (a blip) before delayed retries.",
    )
    retry_base_seconds: float = Field(
        default=0.2, gt=0, description="First back-off delay between immediate tries."
    )
    retry_delays: str = Field(
        default="10,60,600",
        pattern=r"^([0-9]+(\.[0-9]+)?(,[0-9]+(\.[0-9]+)?)*)?$",
        description="Delayed retries through the broker, in seconds, after the immediate "
        "tries: each waits in a retry queue (no consumer slot held), then the dead letters.",
    )
    handback_key: SecretStr | None = Field(
        default=None,
        description="Secret that signs the messages a service hands back to its own queue "
        "(delayed retries, dead letters): a replay is trusted only with a valid signature. "
        "Required with CONVENE_VERIFY_PRODUCERS.",
    )
    park_retry_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How often events waiting for another (an outcome before its conference "
        "was held) are tried again, besides when an event of theirs is applied.",
    )
    park_expiry_seconds: float = Field(
        default=86_400.0,
        gt=0,
        description="An event still waiting after this long is refused, saying what it "
        "waited for (the event it depends on never came).",
    )
    timer_hold_seconds: float = Field(
        default=900.0,
        gt=0,
        description="A timer waits while an earlier event of its council waits (early, or "
        "out for a delayed retry), for at most this long.",
    )
    outage_probe_seconds: float = Field(
        default=1.0, gt=0, description="While the database is unreachable, how often to look."
    )
    consumers_lost_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A process whose consumers have been detached from the broker this long "
        "(a channel the client library could not restore) exits 1 to be started again.",
    )
    outbox_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        description="The outbox relay is woken by each commit that queues facts (on PostgreSQL "
        "across replicas too, by NOTIFY); it also looks this often, as a safety net.",
    )
    outbox_batch: int = Field(
        default=1000,
        gt=0,
        le=5000,
        description="Facts the relay publishes per round, in one write, confirms overlapping.",
    )
    group_commit: int = Field(
        default=100,
        ge=1,
        le=500,
        description="Deliveries of different conferences applied in one transaction at most, "
        "when they are ready together (under load); 1 applies each in its own.",
    )
    db_pool_size: int = Field(
        default=12,
        ge=1,
        le=200,
        description="PostgreSQL connections a replica keeps open, at most: deliveries "
        "beyond them wait for one (the server's max_connections must cover every replica's).",
    )
    tracing: Literal["none", "console", "otlp"] = Field(
        default="none",
        description="OpenTelemetry traces: none, printed (console), or sent to "
        "OTEL_EXPORTER_OTLP_ENDPOINT (otlp, with the otlp extra installed).",
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        default="FULL",
        description="SQLite (always in WAL mode) syncs every commit with FULL; NORMAL syncs at "
        "checkpoints only: faster, and an operating-system crash can lose the last commits.",
    )
    retention_days: float = Field(
        default=30.0,
        gt=0,
        description="Published facts, processed event ids and fired or cancelled timers are "
        "pruned after this many days (event ids kept at least 3 days past the longest delayed "
        "retry, so a redelivery is always recognised).",
    )
    prune_seconds: float = Field(
        default=600.0, gt=0, description="How often the pruner looks for rows past retention."
    )
    metrics_seconds: float = Field(
        default=5.0, gt=0, description="How often the backlog gauges of /metrics are refreshed."
    )
    prune_batch: int = Field(
        default=1000, gt=0, description="Rows the pruner deletes per transaction."
    )
    max_clock_skew_seconds: float = Field(
        default=300.0,
        ge=0,
        description="An event whose past-only time (when it happened, was submitted, decided, "
        "held or ended) is more than this far ahead of the service's clock is refused: a "
        "council's clock never runs ahead of the present.",
    )
    timer_poll_seconds: float = Field(default=1.0, gt=0)
    timer_quiet_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A timer whose conference has had no later event fires once the clock "
        "has passed it and the council's events have been quiet this long.",
    )
    declare_topology: bool = Field(
        default=True,
        description="Declare exchanges and queues; false when the broker is provisioned "
        "from deploy/rabbitmq/definitions.json and service users may not configure.",
    )
    verify_producers: bool = Field(
        default=False, description="Secure profile: check each event's AMQP user_id."
    )
    producer_users: str = Field(
        default="crm=crm,invitations=invitations,reports=reports,decisions=decisions",
        description="The broker user each producer connects as (secure profile).",
    )

    require_tls: bool = Field(
        default=False,
        description="Refuse to connect without encryption the server's certificate is "
        "checked for: AMQP_URL must be amqps:// (not no_verify_ssl) and every PostgreSQL URL "
        "must say sslmode=verify-full.",
    )

    @model_validator(mode="after")
    def _encrypted_when_required(self) -> "Settings":
        if not self.require_tls:
            return self
        plain = []
        broker = urlsplit(self.amqp_url)
        if broker.scheme != "amqps" or "no_verify_ssl=1" in broker.query:
            plain.append("AMQP_URL must be amqps:// with the broker's certificate verified")
        for variable, url in (
            ("DATABASE_URL", self.database_url),
            ("INVITATIONS_DATABASE_URL", self.invitations_database_url),
            ("REPORTS_DATABASE_URL", self.reports_database_url),
            ("DECISIONS_DATABASE_URL", self.decisions_database_url),
        ):
            if url is not None and not url.startswith("sqlite") and not tls.verified(url):
                plain.append(f"{variable} must say sslmode=verify-full")
        if plain:
            raise ValueError("CONVENE_REQUIRE_TLS is set: " + "; ".join(plain))
        return self

    @model_validator(mode="after")
    def _secure_profile_signs_handbacks(self) -> "Settings":
        if self.verify_producers and self.handback_key is None:
            raise ValueError(
                "CONVENE_HANDBACK_KEY must be set with CONVENE_VERIFY_PRODUCERS: without it a "
                "retried or replayed event cannot be told from a forged one"
            )
        return self

    def retry_delay_list(self) -> list[float]:
        """The delayed retries, in seconds, in order."""
        return [float(part) for part in self.retry_delays.split(",") if part]

    def database_url_for(self, service: str) -> str:
        """The SQLAlchemy async URL for one service's own database."""
        explicit = getattr(self, f"{service}_database_url")
        url = explicit or self.database_url
        if url is None:
            return f"sqlite+aiosqlite:///{self.data_dir / f'{service}.db'}"
        return async_url(url)

    def schema_for(self, service: str) -> str:
        """The PostgreSQL schema that holds one service's tables."""
        return f"{self.db_schema_prefix}{service}"

    def producer_user_map(self) -> dict[str, str]:
        """Producer name to the broker user that must have sent its events."""
        return dict(pair.split("=", 1) for pair in self.producer_users.split(",") if pair)

    def tenant_policy_map(self) -> dict[str, str]:
        """Council LA code to the policy preset or file it uses."""
        return {
            tenant.strip(): choice.strip()
            for tenant, _, choice in (
                pair.partition("=") for pair in self.tenant_policies.split(",") if pair.strip()
            )
        }


def read_secret(path: Path, what: str) -> str:
    """A secret file's content, surrounding white space removed; never empty."""
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ValueError(f"cannot read {what} {path}: {error.strerror}") from None
    if not secret:
        raise ValueError(f"{what} {path} is empty")
    return secret


def _with_password(url: str, path: Path | None, variable: str) -> str:
    """`url` with the password read from `path` (surrounding white space removed)."""
    if path is None:
        return url
    password = read_secret(path, f"the password file ({variable})")
    parts = urlsplit(url)
    if not parts.username:
        raise ValueError(f"names no user for the password in {path} ({variable})")
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    netloc = f"{quote(parts.username, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def async_url(url: str) -> str:
    """Give a database URL the async driver SQLAlchemy needs."""
    for plain, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def _shown(url: str) -> str:
    """A URL as it may be said back: without its password."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return repr(urlunsplit(parts._replace(netloc=netloc)))
    return repr(url)
