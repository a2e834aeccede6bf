"""Sharing reports: restricted content reaches only the chair, and every entitled family
member gets every shareable report exactly once, whatever order things happen in."""

from collections import Counter
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from services.reports import domain

CHAIR = domain.Recipient("CHAIR", "chair")


def report(
    rid: str = "R1", restricted: bool = True, shareable: bool = True, family: bool = False
) -> domain.ReportFacts:
    return domain.ReportFacts(
        rid, f"crm://{rid}", f"crm://{rid}-restricted" if restricted else None, shareable, family
    )


def test_the_chair_gets_everything_the_family_only_the_shareable_document() -> None:
    outcomes = domain.distribute(report(), [CHAIR, domain.Recipient("MUM", "parent")], set())
    assert outcomes == [
        domain.Share("R1", "CHAIR", "chair", "crm://R1", True, "crm://R1-restricted"),
        domain.Share("R1", "MUM", "parent", "crm://R1", False, None),
    ]


def test_withheld_before_the_conference_or_by_the_chairs_order() -> None:
    family = [domain.Recipient("MUM", "parent"), domain.Recipient("DAD", "parent", True)]
    outcomes = domain.distribute(report(shareable=False), [CHAIR, *family], set())
    assert outcomes[1:] == [
        domain.Withhold("R1", "MUM", "not_shareable_before_conference"),
        domain.Withhold("R1", "DAD", "chair_ordered"),
    ]


def test_a_family_members_own_report_goes_to_the_chair_only() -> None:
    outcomes = domain.distribute(
        report(restricted=False, family=True), [CHAIR, domain.Recipient("MUM", "parent")], set()
    )
    assert [o.person_id for o in outcomes] == ["CHAIR"]


def test_nobody_is_dealt_with_twice() -> None:
    assert domain.distribute(report(), [CHAIR], {("R1", "CHAIR")}) == []


def test_entitled_family_roles() -> None:
    assert [
        r
        for r in (
            "parent",
            "carer",
            "family_member",
            "child",
            "supporter",
            "advocate",
            "interpreter",
            "police",
        )
        if domain.entitled_family_role(r)
    ] == ["parent", "carer", "family_member"]


def test_readiness() -> None:
    summary = domain.readiness(["CSC", "Police", "Health"], ["csc", "Police"], [True, False])
    assert (summary.received, summary.missing, summary.family_shared_on_time) == (
        ["Police", "csc"],
        ["Health"],
        False,
    )
    assert domain.readiness(["CSC"], ["CSC"], [True]).family_shared_on_time


# --- the property -----------------------------------------------------------------------


@dataclass
class Conference:
    """The bookkeeping the reports handlers keep, driven the way the handlers drive it."""

    recipients: list[domain.Recipient] = field(default_factory=lambda: [CHAIR])
    reports: list[domain.ReportFacts] = field(default_factory=list)
    delivered: set[tuple[str, str]] = field(default_factory=set)
    outcomes: list[domain.Share | domain.Withhold] = field(default_factory=list)
    entitled_when_dealt: dict[tuple[str, str], bool] = field(default_factory=dict)

    def apply(self, outcomes: list[domain.Share | domain.Withhold]) -> None:
        withheld_by_order = {r.person_id for r in self.recipients if r.withhold_ordered}
        for outcome in outcomes:
            key = (outcome.report_id, outcome.person_id)
            self.delivered.add(key)
            self.entitled_when_dealt[key] = outcome.person_id not in withheld_by_order
        self.outcomes += outcomes

    def receive(self, facts: domain.ReportFacts) -> None:
        self.reports.append(facts)
        self.apply(domain.distribute(facts, self.recipients, self.delivered))

    def add_family(self, person_id: str, role: str) -> None:
        if person_id in {r.person_id for r in self.recipients}:
            return
        recipient = domain.Recipient(person_id, role)
        self.recipients.append(recipient)
        for facts in self.reports:
            self.apply(domain.distribute(facts, [recipient], self.delivered))

    def order_withheld(self, person_id: str) -> None:
        self.recipients = [
            domain.Recipient(r.person_id, r.role, True) if r.person_id == person_id else r
            for r in self.recipients
        ]


reports = st.builds(
    report,
    rid=st.sampled_from([f"R{n}" for n in range(6)]),
    restricted=st.booleans(),
    shareable=st.booleans(),
    family=st.booleans(),
)
actions = st.lists(
    st.one_of(
        st.tuples(st.just("receive"), reports),
        st.tuples(
            st.just("add"),
            st.sampled_from(["MUM", "DAD", "GRAN", "AUNT"]),
            st.sampled_from(["parent", "carer", "family_member"]),
        ),
        st.tuples(st.just("withhold"), st.sampled_from(["MUM", "DAD", "GRAN", "AUNT"])),
    ),
    max_size=30,
)


@settings(max_examples=400, deadline=None)
@given(actions)
def test_no_restricted_content_reaches_the_family_and_everyone_entitled_gets_everything_once(
    steps: list[tuple[object, ...]],
) -> None:
    conference = Conference()
    received_ids: set[str] = set()
    for step in steps:
        if step[0] == "receive":
            facts = step[1]
            assert isinstance(facts, domain.ReportFacts)
            if facts.report_id in received_ids:  # the CRM cannot submit a report twice
                continue
            received_ids.add(facts.report_id)
            conference.receive(facts)
        elif step[0] == "add":
            conference.add_family(str(step[1]), str(step[2]))
        else:
            conference.order_withheld(str(step[1]))

    restricted_uris = {r.restricted_document_uri for r in conference.reports} - {None}
    for outcome in conference.outcomes:
        if isinstance(outcome, domain.Share) and outcome.person_id != "CHAIR":
            assert not outcome.includes_restricted
            assert outcome.restricted_document_uri is None
            assert outcome.document_uri not in restricted_uris
    dealt = Counter((o.report_id, o.person_id) for o in conference.outcomes)
    assert all(count == 1 for count in dealt.values())
    shares = {
        (o.report_id, o.person_id) for o in conference.outcomes if isinstance(o, domain.Share)
    }
    for facts in conference.reports:
        assert (facts.report_id, "CHAIR") in shares
        for recipient in conference.recipients[1:]:
            key = (facts.report_id, recipient.person_id)
            # every family recipient is dealt with once: shared or withheld, never forgotten
            assert (key in dealt) == (not facts.family_authored)
            entitled = (
                facts.shareable_with_family
                and not facts.family_authored
                and conference.entitled_when_dealt.get(key, False)
            )
            assert (key in shares) == entitled


def test_each_share_is_judged_against_its_own_deadline() -> None:
    from datetime import date

    due = domain.Deadlines(date(2026, 11, 20), date(2026, 11, 23))
    assert domain.share_on_time("chair", date(2026, 11, 20), due)
    assert not domain.share_on_time("chair", date(2026, 11, 23), due)
    assert domain.share_on_time("parent", date(2026, 11, 23), due)
    assert not domain.share_on_time("parent", date(2026, 11, 24), due)
