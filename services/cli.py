"""The `convene` command."""

import asyncio
import os
import re
import sys
from collections.abc import Coroutine
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import aiormq
import sqlalchemy as sa
import structlog
import typer
from pydantic import ValidationError

from contracts.export import export
from services.app import DEFINITIONS, serve
from services.show import database_exists
from shared.observability.logging import configure_logging
from shared.runtime.problems import Problem, broker_problem, say, settings_problem, where
from shared.runtime.settings import Settings
from shared.runtime.variables import unknown_variables
from shared.version import VERSION

T = TypeVar("T")

app = typer.Typer(help="Convene: child protection conference services.", no_args_is_help=True)


def _version(asked: bool) -> None:
    if asked:
        typer.echo(f"convene {VERSION}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the release and exit."
        ),
    ] = False,
) -> None:
    """Convene: child protection conference services."""


contracts_app = typer.Typer(help="The message contract.", no_args_is_help=True)
app.add_typer(contracts_app, name="contracts")
broker_app = typer.Typer(help="Broker provisioning.", no_args_is_help=True)
app.add_typer(broker_app, name="broker")


def _settings(*, serving: bool = False) -> Settings:
    """The settings from the environment, and logging configured from them; a value that
    does not parse is a Problem.

    A command that serves logs at `CONVENE_LOG_LEVEL`; a one-shot command (the demo, a
    report, an export, a replay) logs warnings and errors only when the level is the
    default INFO, so what it prints stands alone on standard output (the migrations it
    runs say what they do at INFO)."""
    try:
        settings = Settings()
    except ValidationError as error:
        raise settings_problem(error, dict(Settings.model_fields)) from None
    quiet = not serving and settings.log_level.upper() == "INFO"
    configure_logging("WARNING" if quiet else settings.log_level, settings.log_format)
    unknown = unknown_variables(dict(os.environ))
    if unknown:  # a misspelt setting changes nothing: say so, by name
        structlog.get_logger().warning("settings_not_read", unknown_settings=unknown)
    return settings


def _existing_database(settings: Settings, service: str) -> None:
    """A command that reads a service's records refuses to make an empty database to read."""
    url = settings.database_url_for(service)
    if not database_exists(settings, service):
        raise Problem(
            f"no {service} database at {Path(url.split('///', 1)[-1])}: set DATABASE_URL or "
            f"{service.upper()}_DATABASE_URL (or CONVENE_DATA_DIR) to the one the "
            f"{service} service writes"
        )


def _broker(settings: Settings, work: Coroutine[Any, Any, T]) -> T:
    """Run a command's work on the broker; a broker that does not answer is a Problem."""
    try:
        return asyncio.run(work)
    except (OSError, TimeoutError, aiormq.exceptions.AMQPError) as error:
        raise broker_problem(settings.amqp_url, error) from error


def _database(settings: Settings, work: Coroutine[Any, Any, T], service: str = "decisions") -> T:
    """Run a command's work on a service's database (the decisions service's unless said);
    one that does not answer is a Problem."""
    try:
        return asyncio.run(work)
    except (OSError, TimeoutError, sa.exc.OperationalError, sa.exc.InterfaceError) as error:
        raise Problem(
            f"cannot reach the {service} database at "
            f"{where(settings.database_url_for(service))} "
            f"(DATABASE_URL or {service.upper()}_DATABASE_URL): {type(error).__name__}"
        ) from error


def _tenant(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[0-9]{3}", value):
        raise typer.BadParameter(f"{value!r} is not a council's three-digit DfE LA code")
    return value


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from None


@app.command()
def run(
    service: Annotated[str, typer.Argument(help="invitations, reports, decisions or all")],
) -> None:
    """Run one service (or all three in one process) until stopped."""
    names = list(DEFINITIONS) if service == "all" else [service]
    if any(name not in DEFINITIONS for name in names):
        raise typer.BadParameter(f"choose one of {', '.join(DEFINITIONS)} or all")
    settings = _settings(serving=True)
    asyncio.run(serve(names, settings))


@app.command()
def demo(
    in_memory: Annotated[
        bool, typer.Option("--in-memory", help="Use FastStream's in-memory broker.")
    ] = False,
) -> None:
    """Play one family's initial conference through the services and print the timeline."""
    from services.demo import run_demo

    settings = _settings()
    raise typer.Exit(asyncio.run(run_demo(settings, in_memory=in_memory, say=typer.echo)))


@app.command()
def backfill(
    history: Annotated[
        Path,
        typer.Argument(
            help="JSON lines, one CloudEvent each, in the order the CRM published them.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    window: Annotated[
        int, typer.Option(min=1, max=10_000, help="Publishes awaiting the broker's confirm.")
    ] = 500,
) -> None:
    """Play a CRM's history through the running services as fast as they take it, with a
    progress bar, and say how long it took."""
    from services.backfill import backfill as play

    settings = _settings()
    summary = _broker(settings, play(settings.amqp_url, history, window=window))
    for line in summary.lines_of_text():
        typer.echo(line)


@contracts_app.command("export")
def contracts_export(
    folder: Annotated[Path, typer.Argument(help="Where to write the schemas and AsyncAPI.")],
) -> None:
    """Write one JSON Schema per event type and the AsyncAPI 3 document."""
    written = export(folder, {name: d.event_types for name, d in DEFINITIONS.items()})
    typer.echo(f"wrote {len(written)} files under {folder}")


@broker_app.command("definitions")
def broker_definitions_command(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write.")] = None,
    passwords: Annotated[
        Path | None,
        typer.Option(
            "--passwords",
            help="Folder with one password file per broker user (crm, invitations, reports, "
            "decisions), e.g. /run/secrets; without it the users have no password.",
        ),
    ] = None,
) -> None:
    """Print (or write) the RabbitMQ definitions: users, permissions, topology."""
    from contracts.export import render
    from services.provision import broker_definitions, read_passwords

    try:
        known = read_passwords(passwords) if passwords is not None else None
    except ValueError as error:
        raise Problem(f"--passwords: {error}") from None
    text = render(broker_definitions(known))
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")


@broker_app.command("secrets")
def broker_secrets_command(
    folder: Annotated[Path, typer.Argument(help="Folder for one password file per broker user.")],
    also: Annotated[
        list[str] | None,
        typer.Option(
            "--also", help="Another secret to generate beside them, e.g. `database` (compose)."
        ),
    ] = None,
) -> None:
    """Generate a random password for each broker user that has none yet (files mode 0600)."""
    from services.provision import generate_passwords

    for name in also or []:
        if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
            raise Problem(f"--also: {name!r} is not a plain secret name (a-z, 0-9, - and _)")
    try:
        made = generate_passwords(folder, tuple(also or []))
    except (OSError, ValueError) as error:
        raise Problem(f"{folder}: {error}") from None
    for user, new in made.items():
        typer.echo(f"{folder / user}: {'generated' if new else 'kept'}")


@broker_app.command("setup")
def broker_setup_command() -> None:
    """Declare every exchange and queue at AMQP_URL, the CRM's `crm.facts` included, so a CRM
    can bind and publish before any service has run."""
    from services.app import DEFINITIONS
    from shared.broker.topology import declare_all

    services = {name: d.event_types for name, d in DEFINITIONS.items()}
    settings = _settings()
    _broker(settings, declare_all(settings.amqp_url, services))
    typer.echo("declared crm.events, the services' exchanges and queues, and crm.facts")


deadletters_app = typer.Typer(help="A service's dead letters.", no_args_is_help=True)
app.add_typer(deadletters_app, name="deadletters")


@deadletters_app.command("list")
def deadletters_list(
    service: Annotated[str, typer.Argument(help="invitations, reports or decisions")],
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    tenant: Annotated[
        str | None, typer.Option(help="Only this council's (LA code).", callback=_tenant)
    ] = None,
) -> None:
    """List dead letters with why they failed (they stay in the queue)."""
    from shared.broker.deadletters import list_dead_letters

    _check_service(service)
    settings = _settings()
    letters = _broker(settings, list_dead_letters(settings.amqp_url, service, limit, tenant))
    for letter in letters:
        typer.echo(
            f"{letter.dead_lettered_at}  {letter.message_id}  {letter.event_type or '-'}"
            f"  attempts={letter.attempts}  {letter.error_type}: {letter.error}"
        )
    typer.echo(f"{len(letters)} dead letter(s) in {service}.incoming.dlq")


@deadletters_app.command("replay")
def deadletters_replay(
    service: Annotated[str, typer.Argument(help="invitations, reports or decisions")],
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    tenant: Annotated[
        str | None, typer.Option(help="Only this council's (LA code).", callback=_tenant)
    ] = None,
) -> None:
    """Put the dead letters present now back on the service's queue (after the cause is
    fixed); one that fails again waits for the next replay."""
    from shared.broker.deadletters import replay_dead_letters

    _check_service(service)
    settings = _settings()
    key = settings.handback_key.get_secret_value().encode() if settings.handback_key else None
    count = _broker(settings, replay_dead_letters(settings.amqp_url, service, limit, tenant, key))
    typer.echo(f"replayed {count} dead letter(s) to {service}.incoming")


def _check_service(service: str) -> None:
    if service not in DEFINITIONS:
        raise typer.BadParameter(f"choose one of {', '.join(DEFINITIONS)}")


census_app = typer.Typer(help="The DfE Children in Need census.", no_args_is_help=True)
app.add_typer(census_app, name="census")


@census_app.command("export")
def census_export(
    tenant: Annotated[str, typer.Option(help="The council's DfE LA code.", callback=_tenant)],
    year: Annotated[
        int,
        typer.Option(
            help="The census year, named by the year it ends in (e.g. 2027).", min=2000, max=2100
        ),
    ],
    output: Annotated[Path | None, typer.Option(help="File to write (default: stdout).")] = None,
) -> None:
    """Write the Section 47, child protection plan and CIN plan modules of the census return,
    checked against the DfE's rules for them (violations are listed; exit code 2)."""
    from services.decisions.census_rules import check
    from services.decisions.reporting import census_return

    settings = _settings()
    _existing_database(settings, "decisions")
    document = _database(settings, census_return(settings, tenant, year))
    if output is None:
        sys.stdout.buffer.write(document)
    else:
        output.write_bytes(document)
        typer.echo(f"wrote {output}", err=True)
    violations = check(document)
    for violation in violations:
        typer.echo(f"rule {violation.code} ({violation.child}): {violation.message}", err=True)
    if violations:
        raise typer.Exit(2)


@app.command()
def stats(
    tenant: Annotated[str, typer.Option(help="The council's DfE LA code.", callback=_tenant)],
    from_: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    to: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Timeliness: initial and transfer-in conferences within 15 working days, reviews on
    time, plans (reviewed, repeated, long), core groups and minutes on time."""
    import dataclasses
    import json

    from services.decisions.measures import Share
    from services.decisions.reporting import timeliness
    from services.reports.reporting import minutes_on_time

    first, last = _day(from_, "--from"), _day(to, "--to")
    if last < first:
        raise typer.BadParameter(f"--to {to} is before --from {from_}")
    settings = _settings()
    _existing_database(settings, "decisions")
    figures = _database(settings, timeliness(settings, tenant, first, last))
    if database_exists(settings, "reports"):  # else the minutes' figure is "not read"
        minutes = _database(settings, minutes_on_time(settings, tenant, first, last), "reports")
        figures = dataclasses.replace(figures, minutes_on_time=Share(*minutes))
    if as_json:
        typer.echo(json.dumps(figures.as_dict(), indent=2))
    else:
        typer.echo(figures.table())


@app.command()
def show(
    conference: Annotated[str, typer.Argument(help="The CRM's conference id.")],
    tenant: Annotated[str, typer.Option(help="The council's DfE LA code.", callback=_tenant)],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of lines.")] = False,
    personal: Annotated[
        bool, typer.Option("--personal", help="Show names and other personal data too.")
    ] = False,
) -> None:
    """What each service holds about one conference: who is invited and their answers,
    exclusions, reports in and missing, every share and withholding with its reason, minutes,
    decisions and plans, timers pending, events waiting and dead letters."""
    import json

    from services.show import as_text, story

    settings = _settings()
    told = _database(settings, story(settings, tenant, conference, personal=personal))
    typer.echo(json.dumps(told, indent=2, default=str) if as_json else as_text(told))


def main(argv: list[str] | None = None) -> None:
    """The commands (the console script goes through `services.entry`). A problem the
    operator can fix is one line (one JSON line with CONVENE_LOG_FORMAT=json), exit 2."""
    as_json = os.environ.get("CONVENE_LOG_FORMAT", "json") == "json"
    try:
        code = app(sys.argv[1:] if argv is None else argv, standalone_mode=False)
    except typer.TyperException as error:  # a usage error: a bad option or value
        formatted = getattr(error, "format_message", None)
        say(Problem(formatted() if formatted else str(error)), as_json=as_json)
        sys.exit(2)
    except Problem as problem:
        say(problem, as_json=as_json)
        sys.exit(2)
    except typer.Abort:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
