"""The guide's ViewDefinitions (profiles/views) over the example bundles: exact rows, and agreement with the
collector's own reading of each bundle (collector/facts.py, an independent implementation).

The examples are built from the guide's example records (``guide/examples/valid.py``) with the project's
bundle builder, which is what writes ``examples/bundles`` (the guide's tests hold the files equal to it), so
the views are tested on the Bundle shape the guide defines now. Keys are ids, so the expected rows name them
by example instead (``name#n`` for the n-th child). The exact rows are pinned for the examples named in
``EXPECTED``; every example (including ones added later) is checked against collector/facts.py.
"""

from __future__ import annotations

import pytest

from fhir_family.analytics.bundles import bundle_resources
from fhir_family.analytics.runner import run_view
from fhir_family.analytics.views import load_views
from fhir_family.collector.facts import extract
from fhir_family.guide.examples.valid import VALID_EXAMPLES
from fhir_family.mapping.bundle import build_bundle

EXAMPLES = {name: build_bundle(record) for name, (_text, record) in sorted(VALID_EXAMPLES.items())}

#: view name -> (columns, rows); rows in input order (examples sorted by file name)
EXPECTED = {
    "child_data_quality": (
        (
            "child_key",
            "return_key",
            "nhs_number_missing",
            "pr_unknown",
            "residence_unknown",
            "young_carer_unknown",
            "help_not_known",
        ),
        (
            "adoptive-parent-elder-child-with-relatives#1",
            "adoptive-parent-elder-child-with-relatives",
            True,
            False,
            False,
            False,
            False,
        ),
        (
            "adoptive-parent-elder-child-with-relatives#2",
            "adoptive-parent-elder-child-with-relatives",
            True,
            False,
            False,
            False,
            False,
        ),
        (
            "father-without-pr-children-live-with-mother#1",
            "father-without-pr-children-live-with-mother",
            True,
            False,
            False,
            False,
            True,
        ),
        (
            "father-without-pr-children-live-with-mother#2",
            "father-without-pr-children-live-with-mother",
            True,
            False,
            False,
            False,
            True,
        ),
        (
            "guardian-niece-child-protection-plan#1",
            "guardian-niece-child-protection-plan",
            False,
            False,
            False,
            True,
            False,
        ),
        (
            "guardian-niece-child-protection-plan#2",
            "guardian-niece-child-protection-plan",
            True,
            True,
            False,
            True,
            True,
        ),
        (
            "kinship-grandmother-special-guardianship#1",
            "kinship-grandmother-special-guardianship",
            False,
            False,
            False,
            False,
            False,
        ),
        (
            "mother-with-pr-three-children-living-with-her#1",
            "mother-with-pr-three-children-living-with-her",
            False,
            False,
            False,
            False,
            False,
        ),
        (
            "mother-with-pr-three-children-living-with-her#2",
            "mother-with-pr-three-children-living-with-her",
            True,
            False,
            False,
            False,
            False,
        ),
        (
            "mother-with-pr-three-children-living-with-her#3",
            "mother-with-pr-three-children-living-with-her",
            True,
            False,
            False,
            False,
            False,
        ),
        (
            "parent-child-looked-after-care-order#1",
            "parent-child-looked-after-care-order",
            False,
            False,
            False,
            False,
            False,
        ),
        (
            "shared-care-part-time-child-arrangements-order#1",
            "shared-care-part-time-child-arrangements-order",
            False,
            False,
            False,
            False,
            False,
        ),
        (
            "step-parent-agreement-some-children-live-with-patient#1",
            "step-parent-agreement-some-children-live-with-patient",
            False,
            False,
            False,
            False,
            False,
        ),
        (
            "step-parent-agreement-some-children-live-with-patient#2",
            "step-parent-agreement-some-children-live-with-patient",
            True,
            False,
            False,
            False,
            False,
        ),
        ("young-carer-daughter#1", "young-carer-daughter", True, False, False, False, False),
    ),
    "child_help": (
        ("child_key", "return_key", "help_code"),
        (
            "adoptive-parent-elder-child-with-relatives#1",
            "adoptive-parent-elder-child-with-relatives",
            "none",
        ),
        (
            "adoptive-parent-elder-child-with-relatives#2",
            "adoptive-parent-elder-child-with-relatives",
            "early-help",
        ),
        (
            "father-without-pr-children-live-with-mother#1",
            "father-without-pr-children-live-with-mother",
            "not-known",
        ),
        (
            "father-without-pr-children-live-with-mother#2",
            "father-without-pr-children-live-with-mother",
            "not-known",
        ),
        (
            "guardian-niece-child-protection-plan#1",
            "guardian-niece-child-protection-plan",
            "child-protection-plan",
        ),
        ("guardian-niece-child-protection-plan#2", "guardian-niece-child-protection-plan", "not-known"),
        (
            "kinship-grandmother-special-guardianship#1",
            "kinship-grandmother-special-guardianship",
            "child-in-need",
        ),
        (
            "mother-with-pr-three-children-living-with-her#1",
            "mother-with-pr-three-children-living-with-her",
            "none",
        ),
        (
            "mother-with-pr-three-children-living-with-her#2",
            "mother-with-pr-three-children-living-with-her",
            "early-help",
        ),
        (
            "mother-with-pr-three-children-living-with-her#3",
            "mother-with-pr-three-children-living-with-her",
            "none",
        ),
        ("parent-child-looked-after-care-order#1", "parent-child-looked-after-care-order", "looked-after"),
        (
            "shared-care-part-time-child-arrangements-order#1",
            "shared-care-part-time-child-arrangements-order",
            "none",
        ),
        (
            "step-parent-agreement-some-children-live-with-patient#1",
            "step-parent-agreement-some-children-live-with-patient",
            "none",
        ),
        (
            "step-parent-agreement-some-children-live-with-patient#2",
            "step-parent-agreement-some-children-live-with-patient",
            "none",
        ),
        ("young-carer-daughter#1", "young-carer-daughter", "early-help"),
        ("young-carer-daughter#1", "young-carer-daughter", "child-in-need"),
    ),
    "dependent_child": (
        (
            'child_key', 'return_key', 'relationship', 'birth_date', 'gender', 'has_nhs_number', 'pr_held',
            'pr_basis', 'pr_restriction', 'residence', 'young_carer', 'local_authority',
            'think_family_action', 'think_family_outcome', 'ended', 'help_none', 'help_early_help',
            'help_child_in_need', 'help_child_protection_plan', 'help_looked_after',
            'help_previous_child_protection_plan', 'help_previous_looked_after', 'help_not_known',
        ),
        (
            'adoptive-parent-elder-child-with-relatives#1', 'adoptive-parent-elder-child-with-relatives',
            'CHLDADOPT', '2016-03-12', None, False, 'Y', ['adoption-order'], [], 'full-time', 'N', None,
            None, None, None, True, False, False, False, False, False, False, False,
        ),
        (
            'adoptive-parent-elder-child-with-relatives#2', 'adoptive-parent-elder-child-with-relatives',
            'CHLDADOPT', '2009-12-31', None, False, 'Y', ['adoption-order'], [], 'relatives', 'N', None,
            None, None, None, False, True, False, False, False, False, False, False,
        ),
        (
            'father-without-pr-children-live-with-mother#1', 'father-without-pr-children-live-with-mother',
            'NCHILD', '2013-06-17', None, False, 'N', [], [], 'other-parent', 'N', None, None, None, None,
            False, False, False, False, False, False, False, True,
        ),
        (
            'father-without-pr-children-live-with-mother#2', 'father-without-pr-children-live-with-mother',
            'NCHILD', '2016-01-05', None, False, 'N', [], [], 'other-parent', 'N', None, None, None, None,
            False, False, False, False, False, False, False, True,
        ),
        (
            'guardian-niece-child-protection-plan#1', 'guardian-niece-child-protection-plan', 'NIECE',
            '2009-01-15', 'female', True, 'Y', ['appointed-guardian'], [], 'full-time', 'UNK', None, None,
            None, None, False, False, False, True, False, False, False, False,
        ),
        (
            'guardian-niece-child-protection-plan#2', 'guardian-niece-child-protection-plan', 'Dependant',
            '2012-06-06', None, False, 'UNK', [], [], 'full-time', 'UNK', None, None, None, None, False,
            False, False, False, False, False, False, True,
        ),
        (
            'kinship-grandmother-special-guardianship#1', 'kinship-grandmother-special-guardianship',
            'GRNDCHILD', '2017-04-08', 'female', True, 'Y', ['special-guardianship-order'], [], 'full-time',
            'N', None, None, None, None, False, False, True, False, False, False, False, False,
        ),
        (
            'mother-with-pr-three-children-living-with-her#1',
            'mother-with-pr-three-children-living-with-her', 'DAU', '2011-09-02', 'female', True, 'Y',
            ['birth-mother'], [], 'full-time', 'N', None, None, None, None, True, False, False, False,
            False, False, False, False,
        ),
        (
            'mother-with-pr-three-children-living-with-her#2',
            'mother-with-pr-three-children-living-with-her', 'SON', '2015-03-21', 'male', False, 'Y',
            ['birth-mother'], [], 'full-time', 'N', None, None, None, None, False, True, False, False,
            False, False, False, False,
        ),
        (
            'mother-with-pr-three-children-living-with-her#3',
            'mother-with-pr-three-children-living-with-her', 'DAU', '2020-11-30', 'female', False, 'Y',
            ['birth-mother'], [], 'full-time', 'N', None, None, None, None, True, False, False, False,
            False, False, False, False,
        ),
        (
            'parent-child-looked-after-care-order#1', 'parent-child-looked-after-care-order', 'SON',
            '2019-12-24', 'male', True, 'Y', ['birth-mother'], ['care-order'], 'looked-after', 'N', None,
            None, None, None, False, False, False, False, True, False, False, False,
        ),
        (
            'shared-care-part-time-child-arrangements-order#1',
            'shared-care-part-time-child-arrangements-order', 'SON', '2018-10-31', 'male', True, 'Y',
            ['married-father'], [], 'part-time', 'N', None, None, None, None, True, False, False, False,
            False, False, False, False,
        ),
        (
            'step-parent-agreement-some-children-live-with-patient#1',
            'step-parent-agreement-some-children-live-with-patient', 'STPSON', '2014-08-14', 'male', True,
            'Y', ['step-parent-agreement'], [], 'full-time', 'N', None, None, None, None, True, False,
            False, False, False, False, False, False,
        ),
        (
            'step-parent-agreement-some-children-live-with-patient#2',
            'step-parent-agreement-some-children-live-with-patient', 'DAU', '2010-02-27', 'female', False,
            'Y', ['registered-father'], [], 'other-parent', 'N', None, None, None, None, True, False, False,
            False, False, False, False, False,
        ),
        (
            'young-carer-daughter#1', 'young-carer-daughter', 'DAU', '2012-05-01', 'female', False, 'Y',
            ['registered-father'], [], 'full-time', 'Y', None, None, None, None, False, True, True, False,
            False, False, False, False,
        ),
    ),
    "mental_health_episode": (
        (
            'episode_key', 'return_key', 'team_type', 'status', 'period_start', 'period_end',
        ),
        (
            'adoptive-parent-elder-child-with-relatives', 'adoptive-parent-elder-child-with-relatives',
            'A03', 'active', '2026-11-16', None,
        ),
        (
            'expecting-parent-no-children-yet', 'expecting-parent-no-children-yet', 'A03', 'active',
            '2026-04-27', None,
        ),
        (
            'father-without-pr-children-live-with-mother', 'father-without-pr-children-live-with-mother',
            'A03', 'active', '2026-01-19', None,
        ),
        (
            'guardian-niece-child-protection-plan', 'guardian-niece-child-protection-plan', 'A03', 'active',
            '2026-08-03', None,
        ),
        (
            'kinship-grandmother-special-guardianship', 'kinship-grandmother-special-guardianship', 'A03',
            'active', '2025-12-01', None,
        ),
        (
            'mother-with-pr-three-children-living-with-her',
            'mother-with-pr-three-children-living-with-her', 'A03', 'active', '2025-10-06', None,
        ),
        (
            'not-a-parent-children-in-household', 'not-a-parent-children-in-household', 'A03', 'active',
            '2026-03-09', None,
        ),
        (
            'parent-child-looked-after-care-order', 'parent-child-looked-after-care-order', 'A03', 'active',
            '2025-06-02', None,
        ),
        (
            'parent-declined-to-answer', 'parent-declined-to-answer', 'A03', 'active', '2026-05-28', None,
        ),
        (
            'shared-care-part-time-child-arrangements-order',
            'shared-care-part-time-child-arrangements-order', 'A03', 'finished', '2026-09-14', '2026-10-23',
        ),
        (
            'step-parent-agreement-some-children-live-with-patient',
            'step-parent-agreement-some-children-live-with-patient', 'A03', 'active', '2026-02-02', None,
        ),
        (
            'young-carer-daughter', 'young-carer-daughter', 'A03', 'active', '2024-09-16', None,
        ),
    ),
    "national_return": (
        (
            'return_key', 'provider_key', 'parent_pseudonym', 'parent_birth_date', 'parent_gender',
            'parental_status', 'not_asked', 'date_asked', 'asked_by', 'status_source', 'local_authority',
            'children_in_household', 'expecting_child', 'expected_due_date', 'unborn_child_help',
        ),
        (
            'adoptive-parent-elder-child-with-relatives', 'adoptive-parent-elder-child-with-relatives',
            None, '1980-06-18', 'other', 'some-children-live-with-patient', False, '2026-12-01',
            'care-coordinator', 'self-report', 'E08000025', 1, None, None, None,
        ),
        (
            'expecting-parent-no-children-yet', 'expecting-parent-no-children-yet', None, '1999-01-08',
            'female', 'not-a-parent', False, '2026-08-18', 'care-coordinator', 'self-report', 'E08000025',
            0, True, '2026-11-20', 'unborn-child-protection-plan',
        ),
        (
            'father-without-pr-children-live-with-mother', 'father-without-pr-children-live-with-mother',
            None, '1984-08-03', 'male', 'no-children-live-with-patient', False, '2026-02-09',
            'care-coordinator', 'self-report', 'E08000025', 0, None, None, None,
        ),
        (
            'guardian-niece-child-protection-plan', 'guardian-niece-child-protection-plan', None,
            '1976-09-09', 'female', 'all-children-live-with-patient', False, '2026-11-03',
            'care-coordinator', 'self-report', 'E08000025', 2, None, None, None,
        ),
        (
            'kinship-grandmother-special-guardianship', 'kinship-grandmother-special-guardianship', None,
            '1966-02-25', 'female', 'all-children-live-with-patient', False, '2026-03-04',
            'care-coordinator', 'self-report', 'E08000025', 1, None, None, None,
        ),
        (
            'mother-with-pr-three-children-living-with-her',
            'mother-with-pr-three-children-living-with-her', None, '1987-05-14', 'female',
            'all-children-live-with-patient', False, '2026-01-12', 'care-coordinator', 'self-report',
            'E08000025', 3, False, None, None,
        ),
        (
            'not-a-parent-children-in-household', 'not-a-parent-children-in-household', None, '1995-11-19',
            'male', 'not-a-parent', False, '2026-07-02', 'care-coordinator', 'self-report', 'E08000025', 2,
            False, None, None,
        ),
        (
            'parent-child-looked-after-care-order', 'parent-child-looked-after-care-order', None,
            '1992-10-11', 'female', 'no-children-live-with-patient', False, '2026-04-15',
            'care-coordinator', 'self-report', 'E08000025', 0, None, None, None,
        ),
        (
            'parent-declined-to-answer', 'parent-declined-to-answer', None, '1990-03-03', 'unknown',
            'declined', False, '2026-06-10', 'care-coordinator', 'self-report', 'E08000025', None, None,
            None, None,
        ),
        (
            'shared-care-part-time-child-arrangements-order',
            'shared-care-part-time-child-arrangements-order', None, '1986-04-22', 'male',
            'all-children-live-with-patient', False, '2026-10-07', 'care-coordinator', 'self-report',
            'E08000025', 1, None, None, None,
        ),
        (
            'step-parent-agreement-some-children-live-with-patient',
            'step-parent-agreement-some-children-live-with-patient', None, '1982-12-02', 'male',
            'some-children-live-with-patient', False, '2026-09-21', 'care-coordinator', 'self-report',
            'E08000025', 1, None, None, None,
        ),
        (
            'young-carer-daughter', 'young-carer-daughter', None, '1979-07-30', 'male',
            'all-children-live-with-patient', False, '2026-05-06', 'care-coordinator', 'self-report',
            'E08000025', 1, None, None, None,
        ),
    ),
    "return_bundle": (
        (
            'return_key', 'reporting_period_start', 'reporting_period_end', 'legal_basis',
        ),
        (
            'adoptive-parent-elder-child-with-relatives', '2026-12-01', '2026-12-31', 'national-direction',
        ),
        (
            'expecting-parent-no-children-yet', '2026-08-01', '2026-08-31', 'national-direction',
        ),
        (
            'father-without-pr-children-live-with-mother', '2026-02-01', '2026-02-28', 'national-direction',
        ),
        (
            'guardian-niece-child-protection-plan', '2026-11-01', '2026-11-30', 'national-direction',
        ),
        (
            'kinship-grandmother-special-guardianship', '2026-03-01', '2026-03-31', 'national-direction',
        ),
        (
            'mother-with-pr-three-children-living-with-her', '2026-01-01', '2026-01-31',
            'national-direction',
        ),
        (
            'not-a-parent-children-in-household', '2026-07-01', '2026-07-31', 'national-direction',
        ),
        (
            'parent-child-looked-after-care-order', '2026-04-01', '2026-04-30', 'national-direction',
        ),
        (
            'parent-declined-to-answer', '2026-06-01', '2026-06-30', 'national-direction',
        ),
        (
            'shared-care-part-time-child-arrangements-order', '2026-10-01', '2026-10-31',
            'national-direction',
        ),
        (
            'step-parent-agreement-some-children-live-with-patient', '2026-09-01', '2026-09-30',
            'national-direction',
        ),
        (
            'young-carer-daughter', '2026-05-01', '2026-05-31', 'national-direction',
        ),
    ),
    "reporting_provider": (
        ("provider_key", "ods_code", "name"),
        ("adoptive-parent-elder-child-with-relatives", "XFF01", "Example Mental Health NHS Foundation Trust"),
        ("expecting-parent-no-children-yet", "XFF01", "Example Mental Health NHS Foundation Trust"),
        (
            "father-without-pr-children-live-with-mother",
            "XFF01",
            "Example Mental Health NHS Foundation Trust",
        ),
        ("guardian-niece-child-protection-plan", "XFF01", "Example Mental Health NHS Foundation Trust"),
        ("kinship-grandmother-special-guardianship", "XFF01", "Example Mental Health NHS Foundation Trust"),
        (
            "mother-with-pr-three-children-living-with-her",
            "XFF01",
            "Example Mental Health NHS Foundation Trust",
        ),
        ("not-a-parent-children-in-household", "XFF01", "Example Mental Health NHS Foundation Trust"),
        ("parent-child-looked-after-care-order", "XFF01", "Example Mental Health NHS Foundation Trust"),
        ("parent-declined-to-answer", "XFF01", "Example Mental Health NHS Foundation Trust"),
        (
            "shared-care-part-time-child-arrangements-order",
            "XFF01",
            "Example Mental Health NHS Foundation Trust",
        ),
        (
            "step-parent-agreement-some-children-live-with-patient",
            "XFF01",
            "Example Mental Health NHS Foundation Trust",
        ),
        ("young-carer-daughter", "XFF01", "Example Mental Health NHS Foundation Trust"),
    ),
}


def _example_resources() -> tuple[list[dict], dict[str, str]]:
    resources, names = [], {}
    for stem, bundle in EXAMPLES.items():
        child = 0
        for resource in bundle_resources(bundle):
            if resource["resourceType"] == "RelatedPerson":
                child += 1
                names[resource["id"]] = f"{stem}#{child}"
            else:
                names[resource["id"]] = stem
            resources.append(resource)
    return resources, names


@pytest.fixture(scope="module")
def views():
    return load_views()


@pytest.fixture(scope="module")
def example_rows(views):
    resources, names = _example_resources()
    out = {}
    for name, view in views.items():
        out[name] = [
            tuple(names.get(v, v) if k.endswith("_key") else v for k, v in row.items())
            for row in run_view(view, resources)
        ]
    return out


def test_every_view_is_expected(views):
    assert sorted(views) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_view_rows_over_the_examples(views, example_rows, name):
    """Exact rows for the pinned examples (a row belongs to the example its first key names); examples added
    to the guide later are checked by ``test_views_agree_with_the_collectors_facts``."""
    columns, *rows = EXPECTED[name]
    assert tuple(views[name].columns) == columns
    pinned = {_example_of(row) for view_rows in EXPECTED.values() for row in view_rows[1:]}
    assert pinned <= set(EXAMPLES)
    assert [row for row in example_rows[name] if _example_of(row) in pinned] == rows


def _example_of(row: tuple) -> str:
    return str(row[0]).split("#", 1)[0]


def _synthetic_bundles() -> dict[str, dict]:
    """Synthetic returns vary every guide 0.2 field (not asked, LAs, referrals, restrictions, ended)."""
    from fhir_family.collector.synthetic import synthetic_month

    return {r.submission_id: build_bundle(r) for r in synthetic_month("2026-10", 40)}


def test_views_agree_with_the_collectors_facts(views):
    """For every example and a synthetic month: the return, child and episode rows say what
    collector/facts.py reads from the same bundle."""
    seen = {"not_asked": False, "referral": False, "restriction": False, "ended": False, "child_la": False}
    for stem, bundle in {**EXAMPLES, **_synthetic_bundles()}.items():
        facts = extract(bundle)
        resources = bundle_resources(bundle)
        (ret,) = run_view(views["national_return"], resources)
        (provider,) = run_view(views["reporting_provider"], resources)
        assert provider["ods_code"] == facts.ods_code
        assert ret["provider_key"] == provider["provider_key"]
        assert ret["parental_status"] == facts.parental_status
        assert ret["children_in_household"] == facts.children_in_household
        (header,) = run_view(views["return_bundle"], resources)
        assert header["return_key"] == ret["return_key"]
        assert header["reporting_period_start"][:10] == facts.period_start.isoformat()
        assert header["reporting_period_end"][:10] == facts.period_end.isoformat()
        assert header["legal_basis"] == facts.legal_basis
        assert ret["not_asked"] == (facts.parental_status == "not-asked")
        assert ret["date_asked"] == (facts.date_asked.isoformat() if facts.date_asked else None)
        assert (ret["asked_by"], ret["status_source"]) == (facts.asked_by, facts.status_source)
        assert ret["local_authority"] == facts.local_authority
        (episode,) = run_view(views["mental_health_episode"], resources)
        assert episode["return_key"] == ret["return_key"] and episode["team_type"] == facts.team_type
        seen["not_asked"] |= ret["not_asked"]
        children = list(run_view(views["dependent_child"], resources))
        assert len(children) == len(facts.children), stem
        for row, child in zip(children, facts.children, strict=True):
            assert row["return_key"] == ret["return_key"]
            assert row["relationship"] == child.relationship
            assert row["residence"] == child.residence
            assert row["pr_held"] == child.pr_held
            assert row["young_carer"] == child.young_carer
            assert row["has_nhs_number"] == (child.nhs_number is not None)
            assert set(row["pr_restriction"]) == child.pr_restriction
            assert row["local_authority"] == child.local_authority
            assert (row["think_family_action"], row["think_family_outcome"]) == (
                child.think_family_action, child.think_family_outcome)
            assert row["ended"] == (child.ended.isoformat() if child.ended else None)
            seen["referral"] |= child.think_family_action == "referred"
            seen["restriction"] |= bool(child.pr_restriction)
            seen["ended"] |= child.ended is not None
            seen["child_la"] |= child.local_authority is not None
            helps = {c for c in child.help}
            assert {k for k, v in row.items() if k.startswith("help_") and v} == {
                "help_" + c.replace("-", "_") for c in helps
            }
        help_rows = list(run_view(views["child_help"], resources))
        assert sorted(r["help_code"] for r in help_rows) == sorted(
            c for ch in facts.children for c in ch.help
        )
    assert all(seen.values()), seen  # the new columns were exercised with values, not only nulls


def test_docs_describe_every_view_and_column(views, repo_root):
    text = (repo_root / "docs" / "analytics.md").read_text(encoding="utf-8")
    for name, view in views.items():
        assert f"### `{name}` ({view.resource}" in text
        for column in view.columns:
            assert f"| `{column}` |" in text, (name, column)
