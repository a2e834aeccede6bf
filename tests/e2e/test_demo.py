"""The demo is exercised on the real broker and in memory, so it cannot rot."""

from services.demo import run_demo
from shared.settings import Settings


async def _demo(settings: Settings, in_memory: bool) -> tuple[int, str]:
    lines: list[str] = []
    code = await run_demo(settings, in_memory=in_memory, say=lines.append)
    return code, "\n".join(lines)


async def test_demo_on_the_real_broker(settings: Settings) -> None:
    code, output = await _demo(settings, in_memory=False)
    assert code == 0
    assert "Convene demo on RabbitMQ at" in output
    for expected in (
        "invitations  invitation.issued",
        "invitations  timescale.breached",
        "reports      report.requested",
        "reports      report.received",
        "decisions    outcome.recorded",
        "decisions    plan.started",
        "decisions    review.due",
        "decisions    core_group.due",
        "2 working days late",
        "review by 2027-02-25",
        "by 2026-12-09",
    ):
        assert expected in output
    assert "62 events from crm, decisions, invitations, reports." in output
    assert "Parent One" not in output  # the timeline shows ids and roles, never names
    assert "crm://documents/R-POL-restricted" not in output


async def test_demo_falls_back_to_memory_when_no_broker_answers(settings: Settings) -> None:
    unreachable = settings.model_copy(update={"amqp_url": "amqp://guest:guest@127.0.0.1:1/"})
    code, output = await _demo(unreachable, in_memory=False)
    assert code == 0
    assert "No RabbitMQ broker answered" in output
    assert "in-memory broker" in output
    assert "62 events from crm, decisions, invitations, reports." in output
