"""Council policies: the default, each seed preset where it differs, a council's own file."""

from pathlib import Path

import pytest

from rules.policy import Policy, PolicyBook, load_policy, preset_names

FAMILY_DAYS = ["reports_to_family_before_initial", "reports_to_family_before_review"]
EXPECTED_DIFFERENCES = {
    "redbridge": {
        "counts_days": ([], ["supporter_notice_before"]),
        "how_to_complain": (Policy().how_to_complain, load_policy("redbridge").how_to_complain),
    },
    "kent": {
        "reports_to_family_before_initial": (2, 5),
        "family_reports_shared_with_members": (False, True),
        "counts_days": ([], FAMILY_DAYS),
        "how_to_complain": (Policy().how_to_complain, load_policy("kent").how_to_complain),
    },
    "warwickshire": {"core_group_interval_months": (None, 1)},
    "redcar-cleveland": {
        "reports_to_family_before_initial": (2, 3),
        "chair_contacts_family_before": (None, 1),
        "counts_days": ([], FAMILY_DAYS),
    },
    "devon": {
        "chair_contacts_family_before": (None, 1),
        "counts_days": ([], ["reports_to_family_before_initial"]),
    },
}


def test_a_deadline_counts_working_days_unless_the_council_says_days() -> None:
    from datetime import date

    from rules.calendar import WorkingDayCalendar

    calendar = WorkingDayCalendar()
    kent = load_policy("kent")
    assert (kent.counts("reports_to_family_before_initial"), kent.counts("respond_by_before")) == (
        "days",
        "working days",
    )
    # Christmas 2026: within 1 working day of the 24th is the 29th; within 2 days, the 24th
    notice = Policy(decision_notice_within_working_days=2)
    assert notice.after("decision_notice_within_working_days", date(2026, 12, 24), calendar) == (
        date(2026, 12, 30)
    )
    in_days = Policy(
        decision_notice_within_working_days=2, counts_days=["decision_notice_within_working_days"]
    )
    assert in_days.after("decision_notice_within_working_days", date(2026, 12, 24), calendar) == (
        date(2026, 12, 24)
    )
    with pytest.raises(ValueError, match="not a deadline"):
        Policy(counts_days=["initial_within_working_days"])
    assert "redbridge" in load_policy("redbridge").how_to_complain.casefold()


def test_presets_are_the_five_seed_councils() -> None:
    assert preset_names() == [
        "default",
        "devon",
        "kent",
        "redbridge",
        "redcar-cleveland",
        "warwickshire",
    ]


@pytest.mark.parametrize(("name", "differences"), EXPECTED_DIFFERENCES.items())
def test_each_preset_differs_from_the_default_exactly_where_its_leaflet_says(
    name: str, differences: dict[str, tuple[int, int]]
) -> None:
    assert load_policy(name).differences_from_default() == differences


def test_a_council_chooses_its_policy_by_la_code() -> None:
    book = PolicyBook.build("default", {"201": "devon"})
    assert book.for_tenant("886").name == "kent"
    assert book.for_tenant("807").name == "redcar-cleveland"
    assert book.for_tenant("201").name == "devon"
    assert book.for_tenant("999") == Policy()


def test_a_council_can_load_its_own_file(tmp_path: Path) -> None:
    path = tmp_path / "camden.toml"
    path.write_text('la_code = "202"\nreports_to_chair_before_initial = 4\n')
    policy = load_policy(str(path))
    assert policy.name == "camden"
    assert policy.differences_from_default() == {"reports_to_chair_before_initial": (3, 4)}


def test_an_unknown_setting_or_preset_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text("reports_to_chair_befor_initial = 4\n")
    with pytest.raises(ValueError, match="Extra inputs"):
        load_policy(str(path))
    with pytest.raises(ValueError, match="no policy preset"):
        load_policy("atlantis")
