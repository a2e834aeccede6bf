"""The census rules checker catches what the DfE would reject."""

import pytest

from services.decisions.census_rules import check

HEADER = """<?xml version='1.0' encoding='utf-8'?>
<Message><Header><CollectionDetails><Collection>CIN</Collection><Year>2027</Year>
<ReferenceDate>2027-03-31</ReferenceDate></CollectionDetails>
<Source><SourceLevel>L</SourceLevel><LEA>201</LEA></Source></Header><Children>{children}
</Children></Message>"""

GOOD_CHILD = """<Child><ChildIdentifiers><LAchildID>C1</LAchildID>
<PersonBirthDate>2016-02-01</PersonBirthDate></ChildIdentifiers><CINdetails>
<CINreferralDate>2026-03-20</CINreferralDate>
<CINPlanDates><CINPlanStartDate>2026-07-08</CINPlanStartDate></CINPlanDates>
<Section47><S47ActualStartDate>2026-03-25</S47ActualStartDate>
<InitialCPCtarget>2026-04-17</InitialCPCtarget><DateOfInitialCPC>2026-04-15</DateOfInitialCPC>
<ICPCnotRequired>false</ICPCnotRequired></Section47>
<ChildProtectionPlans><CPPstartDate>2026-04-15</CPPstartDate><CPPendDate>2026-07-08</CPPendDate>
<InitialCategoryOfAbuse>NEG</InitialCategoryOfAbuse><LatestCategoryOfAbuse>MUL</LatestCategoryOfAbuse>
<NumberOfPreviousCPP>0</NumberOfPreviousCPP>
<Reviews><CPPreviewDate>2026-07-08</CPPreviewDate></Reviews></ChildProtectionPlans>
</CINdetails></Child>"""


def codes(child: str) -> list[str]:
    return sorted({v.code for v in check(HEADER.format(children=child).encode())})


def test_a_good_return_passes() -> None:
    assert codes(GOOD_CHILD) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "<DateOfInitialCPC>2026-04-15</DateOfInitialCPC>",
            "<DateOfInitialCPC>2026-04-16</DateOfInitialCPC>",
            ["2885"],
        ),  # plan starts another day
        ("<S47ActualStartDate>2026-03-25", "<S47ActualStartDate>2026-04-20", ["8615"]),
        ("<InitialCPCtarget>2026-04-17", "<InitialCPCtarget>2026-04-18", ["8870Q"]),  # Saturday
        ("<CPPendDate>2026-07-08", "<CPPendDate>2026-04-10", ["8925"]),
        ("<CPPendDate>2026-07-08", "<CPPendDate>2026-04-15", ["8840"]),
        (
            "<CPPendDate>2026-07-08",
            "<CPPendDate>2027-05-01",
            ["4016", "8930"],
        ),  # and now it runs alongside the CIN plan
        ("<CPPreviewDate>2026-07-08", "<CPPreviewDate>2026-04-15", ["8841"]),
        ("<LatestCategoryOfAbuse>MUL", "<LatestCategoryOfAbuse>XXX", ["8910"]),
        ("<InitialCategoryOfAbuse>NEG", "<InitialCategoryOfAbuse>", ["8905"]),
        ("<NumberOfPreviousCPP>0</NumberOfPreviousCPP>", "", ["8730"]),
        (
            "<CINPlanStartDate>2026-07-08",
            "<CINPlanStartDate>2026-06-01",
            ["4003", "4016"],
        ),  # the CIN plan overlaps the protection plan and its review
        ("<CINreferralDate>2026-03-20", "<CINreferralDate>2026-05-01", ["1105"]),
        ("<PersonBirthDate>2016-02-01</PersonBirthDate>", "", ["8525"]),
        (
            "<CINreferralDate>2026-03-20</CINreferralDate>",
            "<CINreferralDate>2026-03-20</CINreferralDate><DateOfInitialCPC>2026-04-15"
            "</DateOfInitialCPC>",
            ["2884"],
        ),
    ],
)
def test_each_rule_catches_its_fault(old: str, new: str, expected: list[str]) -> None:
    assert old in GOOD_CHILD
    assert codes(GOOD_CHILD.replace(old, new)) == expected


def test_overlapping_plans_and_more_plans_than_conferences() -> None:
    second = (
        "<ChildProtectionPlans><CPPstartDate>2026-05-01</CPPstartDate>"
        "<InitialCategoryOfAbuse>PHY</InitialCategoryOfAbuse><LatestCategoryOfAbuse>PHY"
        "</LatestCategoryOfAbuse><NumberOfPreviousCPP>1</NumberOfPreviousCPP>"
        "</ChildProtectionPlans></CINdetails>"
    )
    child = GOOD_CHILD.replace("</CINdetails>", second)
    assert codes(child) == ["2883", "2885", "4016", "8940"]
    two_cin = GOOD_CHILD.replace(
        "</CINPlanDates>",
        "</CINPlanDates><CINPlanDates><CINPlanStartDate>2026-09-01"
        "</CINPlanStartDate></CINPlanDates>",
    )
    assert codes(two_cin) == ["4004", "4014"]
