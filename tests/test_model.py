"""fhir_family.model is the one mirror of docs/model.md: its tables are read from the page and compared."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from fhir_family import model
from fhir_family.guide import REPO_ROOT

MODEL_MD = (REPO_ROOT / "docs" / "model.md").read_text(encoding="utf-8")


def _section(heading: str) -> str:
    """The text under a markdown heading, up to the next heading of any level."""
    match = re.search(rf"^#+ {re.escape(heading)}.*?$(.*?)(?=^#)", MODEL_MD, re.M | re.S)
    assert match, f"docs/model.md has no heading {heading!r}"
    return match.group(1)


def _rows(text: str) -> list[list[str]]:
    """The body rows of the first markdown table in ``text``, cells stripped of backticks."""
    lines = text.strip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return [[cell.strip().strip("`") for cell in row.strip("|").split("|")] for row in rows[2:]]


def test_external_systems_match_the_model_page() -> None:
    systems = {alias: system for alias, system in _rows(MODEL_MD.split("External systems used:")[1])}
    assert systems["$nhs-number"] == model.NHS_NUMBER_SYSTEM
    assert systems["$ods"] == model.ODS_SYSTEM
    assert systems["$v3-RoleCode"] == model.V3_ROLE_CODE_SYSTEM
    assert systems["$v2-0063"] == model.V2_0063_SYSTEM
    assert systems["$ukcore-rel"] == model.UKCORE_REL_SYSTEM
    assert systems["submission ids"].split("`")[0] == model.SUBMISSION_SYSTEM
    assert systems["pseudonymised NHS numbers"].split("`")[0] == model.PSEUDONYM_SYSTEM


def test_profile_and_extension_urls_match_the_model_page() -> None:
    profile_ids = [row[1] for row in _rows(_section("Profiles"))]
    assert [model.profile_url(pid) for pid in profile_ids] == [
        model.PARENT_PATIENT,
        model.DEPENDENT_CHILD,
        model.REPORTING_PROVIDER,
        model.MENTAL_HEALTH_EPISODE,
        model.NATIONAL_RETURN_BUNDLE,
        model.PSEUDONYMISED_PARENT_PATIENT,
        model.PSEUDONYMISED_DEPENDENT_CHILD,
    ]
    extension_ids = [row[0] for row in _rows(_section("Extensions"))]
    assert [model.profile_url(eid) for eid in extension_ids] == [
        model.EXT_PARENTAL_STATUS,
        model.EXT_PARENTAL_RESPONSIBILITY,
        model.EXT_CHILD_RESIDENCE,
        model.EXT_YOUNG_CARER,
        model.EXT_HELP_AND_PROTECTION,
        model.EXT_REPORTING_PERIOD,
        model.EXT_LEGAL_BASIS,
        model.EXT_LOCAL_AUTHORITY,
        model.EXT_CHILD_NHS_NUMBER_VERIFICATION,
        model.EXT_THINK_FAMILY_REFERRAL,
    ]


def test_parental_status_and_prntstat_match_the_model_page() -> None:
    rows = _rows(_section("`parental-status`"))
    assert {code: display for code, display, _, _ in rows} == dict(model.PARENTAL_STATUS)
    mapped = [(code, prntstat) for code, _, prntstat, _ in rows if prntstat != "none"]
    assert dict(mapped) == dict(model.PARENTAL_STATUS_TO_PRNTSTAT)
    assert {prntstat: code for code, prntstat in mapped} == dict(model.PRNTSTAT_TO_PARENTAL_STATUS)
    assert {code: equivalence for code, _, _, equivalence in rows} == dict(model.PARENTAL_STATUS_EQUIVALENCE)
    # not-asked is the one code without a PRNTSTAT code, and the one unmatched
    assert [code for code, _, prntstat, _ in rows if prntstat == "none"] == [model.NOT_ASKED]
    parents = {prntstat for code, prntstat in mapped if code.endswith("-live-with-patient")}
    assert parents == set(model.PARENT_PRNTSTAT_CODES)


def test_code_tables_match_the_model_page() -> None:
    assert {c: d for c, d in _rows(_section("`parental-responsibility-basis`"))} == dict(model.PR_BASIS)
    assert {c: d for c, d in _rows(_section("`parental-responsibility-restriction`"))} == dict(
        model.PR_RESTRICTION
    )
    yes_no = re.findall(r"`(\w+)` (\w+)", _section("`yes-no-unknown`"))
    assert dict(yes_no) == dict(model.YES_NO_UNKNOWN)
    residence = re.findall(r"`([a-z-]+)` ([^;`]+?)[;.]?\s*(?=`|$)", _section("`child-residence`").strip())
    assert {code: display.strip() for code, display in residence} == dict(model.CHILD_RESIDENCE)
    assert set(model.CHILD_RESIDENCE) - {"unknown"} == model.LIVES_WITH_PATIENT | model.LIVES_ELSEWHERE
    assert not model.LIVES_WITH_PATIENT & model.LIVES_ELSEWHERE


@pytest.mark.parametrize(
    ("section", "table"),
    [
        ("asked-by-role", model.ASKED_BY_ROLE),
        ("parental-status-source", model.STATUS_SOURCE),
        ("support-offered", model.SUPPORT_OFFERED),
        ("think-family-action", model.THINK_FAMILY_ACTION),
        ("think-family-outcome", model.THINK_FAMILY_OUTCOME),
        ("legal-basis", model.LEGAL_BASIS),
        ("mhsds-team-type", model.MHSDS_TEAM_TYPE),
    ],
)
def test_new_code_tables_match_the_model_page(section: str, table) -> None:
    assert {c: d for c, d in _rows(_section(f"`{section}`"))} == dict(table)


def test_help_and_protection_value_sets_match_the_model_page() -> None:
    rows = _rows(_section("`help-and-protection`"))
    # The page writes CP-IS codes in backticks; the displays carry them plain.
    assert {code: display.replace("`", "") for code, display, _, _ in rows} == dict(model.HELP_AND_PROTECTION)
    assert {code for code, _, child, _ in rows if child == "yes"} == model.CHILD_HELP_CODES
    assert {code for code, _, _, unborn in rows if unborn == "yes"} == model.UNBORN_HELP_CODES


def test_relationships_and_concept_map_match_the_model_page() -> None:
    section = _section("`dependent-child-relationship`")
    v3_part, ukcore_part = section.split("From `$ukcore-rel`")
    assert re.findall(r"`([A-Z]+)`", v3_part.split("`$v3-RoleCode`")[1]) == list(model.V3_RELATIONSHIP)
    assert re.findall(r"`(\w+)`", ukcore_part.split(".")[0])[0] in model.UKCORE_RELATIONSHIP
    concept_map = MODEL_MD.split("`v2-0063-to-dependent-child-relationship`:")[1].split("Every other code")[0]
    pairs = re.findall(r"`([A-Z]+)`->`(\w+)`", concept_map)
    assert dict(pairs) == dict(model.V2_0063_TO_RELATIONSHIP)


@pytest.mark.parametrize(
    ("birth", "reporting", "dependent"),
    [
        (date(2008, 6, 30), date(2026, 6, 29), True),  # the day before the 18th birthday
        (date(2008, 6, 30), date(2026, 6, 30), False),  # the 18th birthday itself
        (date(2008, 2, 29), date(2026, 2, 28), True),  # leap-day baby: still 17 on 28 February
        (date(2008, 2, 29), date(2026, 3, 1), False),  # ... and 18 on 1 March
    ],
)
def test_under_18_on_the_reporting_date(birth: date, reporting: date, dependent: bool) -> None:
    assert model.is_dependent_child(birth, reporting) is dependent
    assert (model.age_on(birth, reporting) < model.ADULT_AGE) is dependent


def test_age_and_eighteenth_birthday_agree_every_day() -> None:
    """The age count (collector facts) and the 18th birthday (validator) are one rule, also on leap days."""
    for offset in range(0, 1500, 1):
        birth = date(2006, 1, 1) + timedelta(days=offset)
        birthday = model.eighteenth_birthday(birth)
        assert model.age_on(birth, birthday - timedelta(days=1)) == 17
        assert model.age_on(birth, birthday) == 18


def test_the_date_rule_has_one_home() -> None:
    """The validator, the parsers and the collector use the model's rule rather than a copy."""
    from fhir_family.collector import facts
    from fhir_family.conformance import bundle_rules
    from fhir_family.mapping import hl7v2, payload

    assert bundle_rules.eighteenth_birthday is model.eighteenth_birthday
    assert hl7v2.is_dependent_child is payload.is_dependent_child is model.is_dependent_child
    assert facts.age_on is model.age_on
