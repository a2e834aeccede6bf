"""The demo is exercised on the real broker and in memory, so it cannot rot."""

import re
from datetime import datetime

from services.demo import run_demo
from shared.runtime.settings import Settings


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
        "review conference by Thu 25 Feb 2027",
        "to meet by Wed 09 Dec 2026",
        "council 886 (Kent)",
        # Kent's family copy is due "5 days" before: calendar days, the chair's day too
        "to the chair by Fri 20 Nov 2026, to the family by Fri 20 Nov 2026",
        # after the conference: the decision told, minutes shared and corrected, the core
        # group twice, a plan action past its date
        "decision to be sent to P-MUM (family) by Thu 26 Nov 2026, with how to complain",
        "decision to be sent to P-SW (lead social worker) by Thu 26 Nov 2026",
        "minutes v1 to P-POL (police), restricted part included",
        "minutes v1 to P-MUM (parent), corrections by Tue 22 Dec 2026",
        "chair to answer P-MUM's correction by Wed 23 Dec 2026",
        "minutes v2 to P-MUM (parent)",
        "core group meeting on time; done: A-1",
        "plan action A-3 (P-SCH) not done by Fri 18 Dec 2026; told P-SW, P-CHAIR",
        "core group of 5 to meet by Thu 28 Jan 2027 (after meeting on Wed 30 Dec 2026)",
    ):
        assert expected in output
    assert "94 events from crm, decisions, invitations, reports." in output
    assert "Parent One" not in output  # the timeline shows ids and roles, never names
    assert "crm://documents/R-POL-restricted" not in output
    assert "restricted part included" not in "".join(
        line for line in output.splitlines() if "(parent)" in line
    )


async def test_demo_falls_back_to_memory_when_no_broker_answers(settings: Settings) -> None:
    unreachable = settings.model_copy(update={"amqp_url": "amqp://guest:guest@127.0.0.1:1/"})
    code, output = await _demo(unreachable, in_memory=False)
    assert code == 0
    assert "No RabbitMQ broker answered" in output
    assert "in-memory broker" in output
    assert "94 events from crm, decisions, invitations, reports." in output


async def test_the_timeline_reads_as_a_council_user_reads_it(settings: Settings) -> None:
    """In time order, the same every run, one date format, plain words: no Python values,
    no codes, no ISO timestamps."""
    runs = []
    for _ in range(2):
        code, output = await _demo(settings, in_memory=True)
        assert code == 0
        runs.append(output.split("\n", 2)[2])  # after the lines naming the run's conference
    assert runs[0] == runs[1]
    rows = [
        line for line in runs[0].splitlines() if re.match(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ", line)
    ]
    assert len(rows) == 94
    moments = [datetime.strptime(row[:21], "%a %d %b %Y %H:%M") for row in rows]
    assert moments == sorted(moments)
    said = "\n".join(row[60:] for row in rows)  # what happened, past the event names
    assert not re.search(r"\b(True|False|None)\b", said)
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", said), re.findall(r"\b[a-z]+_[a-z_]+\b", said)
    assert not re.search(r"\b(MUL|NEG|PHY|EMO|SAB)\b", said)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", said)  # every date in the one format
