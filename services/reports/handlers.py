"""One function per message: contract in, domain call, persist, queue events."""

from contracts.crm_v1 import ConferenceRequested, ReportSubmitted
from contracts.reports_v1 import ReportReceived, ReportRequested
from services.reports import domain, repository
from shared.calendar import local_date
from shared.handling import HandlerContext, NotReadyYet, RuleViolation


async def on_conference_requested(ctx: HandlerContext, data: ConferenceRequested) -> None:
    """Ask every invited agency for its report, with both deadlines from the policy."""
    if await repository.conference_exists(ctx.connection, data.conference_id):
        raise RuleViolation([f"conference {data.conference_id} was already requested"])
    await repository.add_conference(
        ctx.connection,
        conference_id=data.conference_id,
        tenant=ctx.tenant,
        kind=data.kind,
        scheduled_start=data.scheduled_start,
        chair_person_id=data.chair.person_id,
        participants=[p.model_dump(mode="json") for p in data.participants],
    )
    due = domain.deadlines(
        data.kind,
        local_date(data.scheduled_start),
        ctx.policy,
        ctx.calendar,
    )
    professionals = [
        domain.Professional(p.person_id, p.role, p.agency)
        for p in data.participants
        if p.agency is not None
    ]
    for request in domain.requests_for(
        data.conference_id, professionals, local_date(ctx.event_time), due
    ):
        await repository.add_request(ctx.connection, data.conference_id, request)
        await ctx.emit(
            "reports.report.requested.v1",
            ReportRequested(
                conference_id=data.conference_id,
                request_id=request.request_id,
                agency=request.agency,
                author_person_id=request.author_person_id,
                due_to_chair=request.due_to_chair,
                share_with_family_by=request.share_with_family_by,
                short_notice=request.short_notice,
            ),
            data.conference_id,
        )


async def on_report_submitted(ctx: HandlerContext, data: ReportSubmitted) -> None:
    """Match the report to its request and record whether it came on time and complete."""
    if not await repository.conference_exists(ctx.connection, data.conference_id):
        raise NotReadyYet(f"conference {data.conference_id} is not known yet")
    if await repository.report_exists(ctx.connection, data.report_id):
        raise RuleViolation([f"report {data.report_id} was already submitted"])
    request = await repository.request_for_agency(ctx.connection, data.conference_id, data.agency)
    on_time = domain.on_time(
        local_date(data.submitted_at), request.due_to_chair if request else None
    )
    missing = domain.missing_sections(list(data.sections))
    await repository.add_report(
        ctx.connection,
        report_id=data.report_id,
        conference_id=data.conference_id,
        request_id=request.request_id if request else None,
        agency=data.agency,
        author_person_id=data.author_person_id,
        received_at=data.submitted_at,
        on_time=on_time,
        missing_sections=missing,
        shareable_with_family=data.shareable_with_family,
        document=data.document.model_dump(mode="json"),
        restricted_document=(
            data.restricted_document.model_dump(mode="json") if data.restricted_document else None
        ),
    )
    await ctx.emit(
        "reports.report.received.v1",
        ReportReceived(
            conference_id=data.conference_id,
            request_id=request.request_id if request else None,
            report_id=data.report_id,
            agency=data.agency,
            received_at=data.submitted_at,
            on_time=on_time,
            missing_sections=missing,
        ),
        data.conference_id,
    )
