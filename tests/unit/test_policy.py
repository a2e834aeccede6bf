"""Council policies: the default, each seed preset where it differs, a council's own file."""

from pathlib import Path

import pytest

from rules.policy import Policy, PolicyBook, load_policy, preset_names

EXPECTED_DIFFERENCES = {
    "redbridge": {},
    "kent": {
        "reports_to_family_before_initial": (2, 5),
        "family_reports_shared_with_members": (False, True),
    },
    "warwickshire": {},
    "redcar-cleveland": {
        "reports_to_family_before_initial": (2, 3),
        "chair_contacts_family_before": (None, 1),
    },
    "devon": {"chair_contacts_family_before": (None, 1)},
}


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
