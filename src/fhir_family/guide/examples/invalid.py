"""The invalid national returns shipped in examples/invalid, each with the issues a correct validator reports.

Every invalid example is the valid example ``mother-with-pr-three-children-living-with-her`` with ONE fault
put in by code: either a change to its ReturnRecord (when the fault is one a parser could pass on, such as a
bad code) or an edit of the built Bundle (when no record can express it, such as a name or a wrong JSON type).
The submission id is kept, so ``diff`` against the valid file shows exactly the fault.

Entry positions in the base Bundle: [0] Organization, [1] Patient, [2] EpisodeOfCare, [3] daughter (with an
NHS number), [4] son, [5] younger daughter. On the Patient, ``extension[0]`` is ``parental-status``; on each
child ``extension[0]`` is ``parental-responsibility``, ``[1]`` ``child-residence``, ``[2]`` ``young-carer``,
``[3..]`` ``help-and-protection``.

The expected issues follow docs/model.md "Validation issue conventions": one fault gives one issue,
expressions from the Bundle root with an index on every element whose base max is more than 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from fhir_family.mapping.bundle import (
    build_bundle,
    identifier_query,
    nhs_number_identifier,
    provider_record_value,
    to_fhir_patient,
)
from fhir_family.mapping.ids import entry_full_url
from fhir_family.mapping.nhs_number import synthetic_nhs_number
from fhir_family.mapping.record import ChildRecord, ReturnRecord
from fhir_family.model import (
    EXT_YOUNG_CARER,
    NHS_NUMBER_SYSTEM,
    PROVIDER_RECORD_SYSTEM,
    YES_NO_UNKNOWN_SYSTEM,
)

from .valid import MOTHER_THREE_CHILDREN

BASE = MOTHER_THREE_CHILDREN
BASE_NAME = "mother-with-pr-three-children-living-with-her"

Bundle = dict[str, Any]


@dataclass(frozen=True)
class ExpectedIssue:
    """One issue the validator must report: what ``*.expected.json`` lists."""

    severity: str
    code: str
    expression: str

    def to_json(self) -> dict[str, str]:
        return {"severity": self.severity, "code": self.code, "expression": self.expression}


@dataclass(frozen=True)
class InvalidExample:
    """A named invalid Bundle, how it is made, and what must be reported for it."""

    name: str
    description: str
    build: Callable[[], Bundle]
    issues: tuple[ExpectedIssue, ...]

    def expected_json(self) -> dict[str, Any]:
        return {"description": self.description, "issues": [issue.to_json() for issue in self.issues]}


def error(code: str, expression: str) -> ExpectedIssue:
    return ExpectedIssue("error", code, expression)


def warning(code: str, expression: str) -> ExpectedIssue:
    return ExpectedIssue("warning", code, expression)


def from_record(change: Callable[[ReturnRecord], ReturnRecord]) -> Callable[[], Bundle]:
    """A builder for the base record with one change made before the Bundle is built."""
    return lambda: build_bundle(change(BASE))


def from_child(position: int, **changes: Any) -> Callable[[], Bundle]:
    """A builder for the base record with fields of one child changed."""

    def change(record: ReturnRecord) -> ReturnRecord:
        children: list[ChildRecord] = list(record.children)
        children[position] = replace(children[position], **changes)
        return replace(record, children=tuple(children))

    return from_record(change)


def from_bundle(edit: Callable[[Bundle], None]) -> Callable[[], Bundle]:
    """A builder for the base Bundle with one edit made in place (for faults no ReturnRecord can express)."""

    def build() -> Bundle:
        bundle = build_bundle(BASE)
        edit(bundle)
        return bundle

    return build


def _resource(bundle: Bundle, index: int) -> dict[str, Any]:
    return bundle["entry"][index]["resource"]


def _set(index: int, key: str, value: Any) -> Callable[[Bundle], None]:
    def edit(bundle: Bundle) -> None:
        _resource(bundle, index)[key] = value

    return edit


def _delete(index: int, key: str) -> Callable[[Bundle], None]:
    def edit(bundle: Bundle) -> None:
        del _resource(bundle, index)[key]

    return edit


def _dangle(index: int, element: str) -> Callable[[Bundle], None]:
    """Point a reference at a urn:uuid that no entry has."""

    def edit(bundle: Bundle) -> None:
        _resource(bundle, index)[element]["reference"] = entry_full_url(BASE.submission_id, "missing")

    return edit


def _add_unknown_extension(bundle: Bundle) -> None:
    _resource(bundle, 1)["extension"].append(
        {"url": "https://ehr.example.org/fhir/StructureDefinition/consent-to-share", "valueBoolean": True}
    )


def _add_young_carer_to_patient(bundle: Bundle) -> None:
    """A known extension in the wrong place: young-carer describes a child (context RelatedPerson)."""
    _resource(bundle, 1)["extension"].append(
        {
            "url": EXT_YOUNG_CARER,
            "valueCodeableConcept": {
                "coding": [{"system": YES_NO_UNKNOWN_SYSTEM, "code": "N", "display": "No"}]
            },
        }
    )


def _add_second_patient(bundle: Bundle) -> None:
    """Append a second, individually valid Patient that no child refers to and whose counts are consistent."""
    other = replace(
        BASE,
        nhs_number=synthetic_nhs_number(99),
        local_patient_id="P999999",
        parental_status="not-a-parent",
        children_in_household=0,
        children=(),
    )
    other_key = provider_record_value(other.ods_code, other.local_patient_id)
    other_query = identifier_query(PROVIDER_RECORD_SYSTEM, other_key)
    bundle["entry"].append(
        {
            "fullUrl": entry_full_url(BASE.submission_id, "patient", 1),
            "resource": to_fhir_patient(other, bundle["entry"][0]["fullUrl"]),
            "request": {"method": "PUT", "url": f"Patient?{other_query}"},
        }
    )


def _wrong_check_digit(nhs_number: str) -> str:
    """The same NHS number with its check digit changed: with modulus 11 only one check digit is right."""
    return nhs_number[:9] + str((int(nhs_number[9]) + 1) % 10)


def _eighteenth_birthday(reporting_date: date) -> date:
    """The birth date of a child who turns 18 on the reporting date (born on 29 February: use 1 March)."""
    try:
        return reporting_date.replace(year=reporting_date.year - 18)
    except ValueError:
        return date(reporting_date.year - 18, 3, 1)


def _not_asked(record: ReturnRecord) -> ReturnRecord:
    """The base record as a not-asked return: no date asked, no role, no source, no children."""
    return replace(record, parental_status="not-asked", date_asked=None, asked_by=None, status_source=None,
                   children=(), children_in_household=None, expecting_child=None)


def _set_request(index: int, request: dict[str, Any]) -> Callable[[Bundle], None]:
    def edit(bundle: Bundle) -> None:
        bundle["entry"][index]["request"] = request

    return edit


def _delete_identifier(index: int, position: int) -> Callable[[Bundle], None]:
    def edit(bundle: Bundle) -> None:
        del _resource(bundle, index)["identifier"][position]

    return edit


def _delete_meta_extension(position: int) -> Callable[[Bundle], None]:
    def edit(bundle: Bundle) -> None:
        del bundle["meta"]["extension"][position]

    return edit


def _child_nhs_verification(bundle: Bundle) -> None:
    """UK Core's NHS number verification status on a child: that extension is for Patient.identifier only."""
    _resource(bundle, 3)["identifier"][0] = nhs_number_identifier(BASE.children[0].nhs_number or "", "01")


INVALID_EXAMPLES: tuple[InvalidExample, ...] = (
    InvalidExample(
        "child-missing-birthdate",
        "The first child has no birthDate (DependentChild.birthDate is 1..1). Only the missing element is "
        "reported, not also an age check that cannot be made.",
        from_bundle(_delete(3, "birthDate")),
        (error("required", "Bundle.entry[3].resource.birthDate"),),
    ),
    InvalidExample(
        "episode-missing-period",
        "The EpisodeOfCare has no period (MentalHealthEpisode.period is 1..1).",
        from_bundle(_delete(2, "period")),
        (error("required", "Bundle.entry[2].resource.period"),),
    ),
    InvalidExample(
        "patient-missing-parental-status",
        "The Patient has no extensions at all, so the parental-status extension ParentPatient requires "
        "(1..1) is missing: reported on the Patient's extension list.",
        from_bundle(_delete(1, "extension")),
        (error("required", "Bundle.entry[1].resource.extension"),),
    ),
    InvalidExample(
        "patient-has-name",
        "The Patient carries a name, which ParentPatient prohibits (name 0..0, data minimisation). The "
        "element as a whole is reported, once.",
        from_bundle(_set(1, "name", [{"use": "official", "family": "Example"}])),
        (error("structure", "Bundle.entry[1].resource.name"),),
    ),
    InvalidExample(
        "child-has-telecom",
        "The second child carries a phone number (a fictional Ofcom drama number), which DependentChild "
        "prohibits (telecom 0..0).",
        from_bundle(_set(4, "telecom", [{"system": "phone", "value": "07700900123", "use": "mobile"}])),
        (error("structure", "Bundle.entry[4].resource.telecom"),),
    ),
    InvalidExample(
        "patient-unknown-element",
        "The Patient has a property that FHIR R4 Patient does not define ('favouriteColour').",
        from_bundle(_set(1, "favouriteColour", "green")),
        (error("structure", "Bundle.entry[1].resource.favouriteColour"),),
    ),
    InvalidExample(
        "child-birthdate-is-a-number",
        "The first child's birthDate is the JSON number 20110902 instead of the string '2011-09-02'. Only "
        "the wrong type is reported, not also a missing birthDate or an age check.",
        from_bundle(_set(3, "birthDate", 20110902)),
        (error("value", "Bundle.entry[3].resource.birthDate"),),
    ),
    InvalidExample(
        "patient-gender-is-an-object",
        "The Patient's gender is a JSON object ({'code': 'female'}) instead of the code string 'female'.",
        from_bundle(_set(1, "gender", {"code": "female"})),
        (error("value", "Bundle.entry[1].resource.gender"),),
    ),
    InvalidExample(
        "patient-birthdate-bad-format",
        "The Patient's birthDate '1987-13-45' is a string but not a valid FHIR date (month 13, day 45).",
        from_bundle(_set(1, "birthDate", "1987-13-45")),
        (error("value", "Bundle.entry[1].resource.birthDate"),),
    ),
    InvalidExample(
        "patient-gender-code-invalid",
        "The Patient's gender is 'F', which is not in the required administrative-gender ValueSet "
        "(male | female | other | unknown).",
        from_bundle(_set(1, "gender", "F")),
        (error("code-invalid", "Bundle.entry[1].resource.gender"),),
    ),
    InvalidExample(
        "child-relationship-mother",
        "The first child's relationship is v3-RoleCode MTH (mother): a real code, but not in the required "
        "dependent-child-relationship ValueSet (the relationship is the role the child plays towards the "
        "patient).",
        from_child(0, relationship="MTH"),
        (error("code-invalid", "Bundle.entry[3].resource.relationship[0]"),),
    ),
    InvalidExample(
        "child-residence-code-unknown",
        "The second child's residence code 'sofa' is not in the child-residence CodeSystem or its required "
        "ValueSet.",
        from_child(1, residence="sofa"),
        (error("code-invalid", "Bundle.entry[4].resource.extension[1].value.ofType(CodeableConcept)"),),
    ),
    InvalidExample(
        "child-help-unborn-code",
        "The third child's help is 'unborn-child-protection-plan': a code of the help-and-protection "
        "CodeSystem, but not in the required child-help-and-protection ValueSet (it is for an expected "
        "child).",
        from_child(2, help=("unborn-child-protection-plan",)),
        (error("code-invalid", "Bundle.entry[5].resource.extension[3].value.ofType(CodeableConcept)"),),
    ),
    InvalidExample(
        "child-patient-reference-dangling",
        "The third child's patient reference is a urn:uuid that no entry in the Bundle has. Reported once, "
        "as the unresolved reference; ff-bun-3 (children reference the Bundle's Patient) fails only because "
        "of it, so it is not reported again.",
        from_bundle(_dangle(5, "patient")),
        (error("not-found", "Bundle.entry[5].resource.patient.reference"),),
    ),
    InvalidExample(
        "episode-organization-reference-dangling",
        "The EpisodeOfCare's managingOrganization reference is a urn:uuid that no entry in the Bundle has.",
        from_bundle(_dangle(2, "managingOrganization")),
        (error("not-found", "Bundle.entry[2].resource.managingOrganization.reference"),),
    ),
    InvalidExample(
        "patient-nhs-number-bad-check-digit",
        "The Patient's NHS number has a wrong modulus-11 check digit (ff-nhs-1, on the nhsNumber "
        "identifier). The conditional-update URL carries the same number; that is a plain uri and is "
        "not checked.",
        from_record(lambda record: replace(record, nhs_number=_wrong_check_digit(record.nhs_number))),
        (error("invariant", "Bundle.entry[1].resource.identifier[0]"),),
    ),
    InvalidExample(
        "child-nhs-number-bad-check-digit",
        "The first child's NHS number has a wrong modulus-11 check digit (ff-nhs-1 on the child's optional "
        "nhsNumber identifier).",
        from_child(0, nhs_number=_wrong_check_digit(BASE.children[0].nhs_number or "")),
        (error("invariant", "Bundle.entry[3].resource.identifier[0]"),),
    ),
    InvalidExample(
        "episode-period-ends-before-start",
        "The EpisodeOfCare ends (2025-01-01) before it starts (2025-10-06): core invariant per-1 on the "
        "Period.",
        from_record(lambda record: replace(record, episode_end=date(2025, 1, 1))),
        (error("invariant", "Bundle.entry[2].resource.period"),),
    ),
    InvalidExample(
        "organization-ods-code-lower-case",
        "The provider's ODS code 'xff01' is in lower case (ff-ods-1: 3 to 6 upper-case letters or digits).",
        from_record(lambda record: replace(record, ods_code=record.ods_code.lower())),
        (error("invariant", "Bundle.entry[0].resource.identifier[0]"),),
    ),
    InvalidExample(
        "child-aged-18-on-reporting-date",
        "The first child turns 18 on the reporting date (the period's end, 2026-01-31), so is not a "
        "dependent child on it. Only the age is reported: the counts are not re-checked because of it.",
        from_child(0, birth_date=_eighteenth_birthday(BASE.reporting_period_end)),
        (error("business-rule", "Bundle.entry[3].resource.birthDate"),),
    ),
    InvalidExample(
        "pr-basis-when-not-held",
        "The second child's parental-responsibility says held = N but still gives a basis (birth-mother): "
        "ff-pr-1, on the extension.",
        from_child(1, pr_held="N"),
        (error("invariant", "Bundle.entry[4].resource.extension[0]"),),
    ),
    InvalidExample(
        "due-date-without-expecting-child",
        "The parental-status gives an expectedDueDate while expectingChild is false: ff-ps-1, on the "
        "extension.",
        from_record(lambda record: replace(record, expected_due_date=date(2026, 6, 1))),
        (error("invariant", "Bundle.entry[1].resource.extension[0]"),),
    ),
    InvalidExample(
        "status-disagrees-with-children",
        "The parental status says none of the children live with the patient, but all three listed children "
        "live with her full-time: a data-quality warning on the parental-status extension, not an error.",
        from_record(lambda record: replace(record, parental_status="no-children-live-with-patient")),
        (warning("business-rule", "Bundle.entry[1].resource.extension[0]"),),
    ),
    InvalidExample(
        "extension-outside-its-context",
        "The Patient carries the young-carer extension, which the guide defines for a RelatedPerson (a child "
        "who cares) only: a known extension used outside its context.",
        from_bundle(_add_young_carer_to_patient),
        (error("structure", "Bundle.entry[1].resource.extension[2]"),),
    ),
    InvalidExample(
        "unknown-extension-warning",
        "The Patient carries a vendor extension that neither the guide nor FHIR core defines: a warning "
        "only, so the Bundle is still acceptable.",
        from_bundle(_add_unknown_extension),
        (warning("extension", "Bundle.entry[1].resource.extension[2]"),),
    ),
    InvalidExample(
        "bundle-type-batch",
        "Bundle.type is 'batch' (a valid bundle-type code) where NationalReturnBundle fixes 'transaction'. "
        "'batch' rather than 'collection' keeps the fault single: a collection may not carry entry.request "
        "(core bdl-3), which would be a second fault.",
        from_bundle(lambda bundle: bundle.__setitem__("type", "batch")),
        (error("value", "Bundle.type"),),
    ),
    InvalidExample(
        "two-patients",
        "A second Patient (another synthetic NHS number and local id, not a parent, no children, its own "
        "conditional update) is appended as entry[6]. It is valid on its own and no child refers to it, so "
        "the "
        "only fault is the second Patient: reported once, by the entry slicing (entry:patient is 1..1, as a "
        "generic validator reports it), which makes ff-bun-1 (exactly one Patient) say nothing more.",
        from_bundle(_add_second_patient),
        (error("structure", "Bundle.entry"),),
    ),
    InvalidExample(
        "child-help-none-with-other-help",
        "The first child has help-and-protection 'none' and also 'early-help': 'none' and 'not-known' stand "
        "alone (ff-hp-1).",
        from_child(0, help=("none", "early-help")),
        (error("invariant", "Bundle.entry[3].resource"),),
    ),
    InvalidExample(
        "child-help-recorded-twice",
        "The first child has 'early-help' recorded twice: each kind of help is recorded once (ff-hp-2).",
        from_child(0, help=("early-help", "early-help")),
        (error("invariant", "Bundle.entry[3].resource"),),
    ),
    InvalidExample(
        "adopted-child-without-pr",
        "The first child is the patient's adopted child (CHLDADOPT) but parental responsibility is held = N: "
        "an adoption order always gives the adopter parental responsibility, ACA 2002 s.46(1) (ff-pr-2).",
        from_child(0, relationship="CHLDADOPT", pr_held="N", pr_basis=()),
        (error("invariant", "Bundle.entry[3].resource"),),
    ),
    InvalidExample(
        "niece-with-birth-mother-basis",
        "The first child is the patient's niece, yet the basis of parental responsibility is 'birth-mother': "
        "a birth-parent basis contradicts the relationship (ff-pr-3).",
        from_child(0, relationship="NIECE"),
        (error("invariant", "Bundle.entry[3].resource"),),
    ),
    InvalidExample(
        "child-born-after-reporting-date",
        "The first child's birthDate (2026-02-10) is after the reporting date (the reporting period's end, "
        "2026-01-31) (ff-bun-5). The child is under 18, so no age issue.",
        from_child(0, birth_date=date(2026, 2, 10)),
        (error("invariant", "Bundle"),),
    ),
    InvalidExample(
        "episode-starts-after-reporting-date",
        "The episode starts on 2026-02-03, after the reporting date 2026-01-31: the patient was not in the "
        "population of that month (ff-bun-6).",
        from_record(lambda record: replace(record, episode_start=date(2026, 2, 3))),
        (error("invariant", "Bundle"),),
    ),
    InvalidExample(
        "date-asked-after-reporting-date",
        "The patient was asked (dateAsked) on 2026-02-10, after the reporting date 2026-01-31 (ff-ps-3, on "
        "the "
        "Bundle: the reporting period is the return's, on Bundle.meta).",
        from_record(lambda record: replace(record, date_asked=date(2026, 2, 10))),
        (error("invariant", "Bundle"),),
    ),
    InvalidExample(
        "declined-with-children-listed",
        "The patient declined to answer, yet three children are listed: a 'declined' return lists no "
        "children (ff-bun-8).",
        from_record(lambda record: replace(record, parental_status="declined")),
        (error("invariant", "Bundle"),),
    ),
    InvalidExample(
        "not-a-parent-with-children-listed",
        "The parental status is 'not-a-parent', yet three children are listed (ff-bun-9; an error, so the "
        "count check does not also warn).",
        from_record(lambda record: replace(record, parental_status="not-a-parent")),
        (error("invariant", "Bundle"),),
    ),
    InvalidExample(
        "not-asked-with-date-asked",
        "The status is not-asked (no children listed), yet a dateAsked, an askedBy role and a source are "
        "given: "
        "nobody asked, so there is nothing to date or attribute (ff-ps-2, on the parental-status extension).",
        from_record(lambda record: replace(_not_asked(record), date_asked=date(2026, 1, 12),
                                           asked_by="nurse", status_source="self-report")),
        (error("invariant", "Bundle.entry[1].resource.extension[0]"),),
    ),
    InvalidExample(
        "date-asked-missing",
        "The patient has a parental status (all the children live with her) but no dateAsked: it is required "
        "unless the status is not-asked (ff-ps-2).",
        from_record(lambda record: replace(record, date_asked=None)),
        (error("invariant", "Bundle.entry[1].resource.extension[0]"),),
    ),
    InvalidExample(
        "not-asked-with-children-listed",
        "Nobody asked the patient (not-asked, no date, role or source), yet three children are listed: a "
        "not-asked return lists no children (ff-bun-8).",
        from_record(lambda record: replace(_not_asked(record), children=record.children)),
        (error("invariant", "Bundle"),),
    ),
    InvalidExample(
        "support-none-with-other-support",
        "supportOffered says 'none' and also 'parenting-support': 'none' stands alone (ff-ps-4).",
        from_record(lambda record: replace(record, support_offered=("none", "parenting-support"))),
        (error("invariant", "Bundle.entry[1].resource.extension[0]"),),
    ),
    InvalidExample(
        "think-family-outcome-without-referral",
        "The first child's think-family action is 'not-needed', yet an outcome ('no-further-action') is "
        "given: "
        "an outcome follows only a referral or a notification (ff-tf-1, on the think-family-referral "
        "extension).",
        from_child(0, think_family_action="not-needed", think_family_outcome="no-further-action"),
        (error("invariant", "Bundle.entry[3].resource.extension[4]"),),
    ),
    InvalidExample(
        "local-authority-not-english-gss",
        "The patient's local authority is W06000015 (a Welsh GSS code): the return's local authorities are "
        "English, E06/E07/E08/E09/E10 and six digits (ff-la-1).",
        from_record(lambda record: replace(record, local_authority="W06000015")),
        (error("invariant", "Bundle.entry[1].resource.extension[1]"),),
    ),
    InvalidExample(
        "reporting-period-missing",
        "Bundle.meta has the legal basis but no reporting-period extension, which NationalReturnBundle "
        "requires (1..1). The date rules that read it then have nothing to compare and say nothing more.",
        from_bundle(_delete_meta_extension(0)),
        (error("required", "Bundle.meta.extension"),),
    ),
    InvalidExample(
        "patient-put-on-nhs-number",
        "The Patient entry is a conditional update on the NHS number (guide 0.1's form), so two providers "
        "reporting one parent would overwrite each other: the key must be the provider-record identifier "
        "(ff-bun-11, on the entry).",
        from_bundle(_set_request(1, {"method": "PUT",
                                     "url": f"Patient?identifier={NHS_NUMBER_SYSTEM}|{BASE.nhs_number}"})),
        (error("invariant", "Bundle.entry[1]"),),
    ),
    InvalidExample(
        "child-unconditional-post",
        "The first child's entry is an unconditional POST RelatedPerson, which creates a new copy on every "
        "resend: it must be a conditional update on its provider-record identifier (ff-bun-13).",
        from_bundle(_set_request(3, {"method": "POST", "url": "RelatedPerson"})),
        (error("invariant", "Bundle.entry[3]"),),
    ),
    InvalidExample(
        "episode-post-with-if-none-exist",
        "The EpisodeOfCare entry is a POST with ifNoneExist (guide 0.1's form): a conditional create never "
        "updates, so next month's return could not change the episode's status or end; it must be a "
        "conditional update on its provider-record identifier (ff-bun-12).",
        from_bundle(_set_request(2, {"method": "POST", "url": "EpisodeOfCare",
                                     "ifNoneExist": f"identifier={PROVIDER_RECORD_SYSTEM}|XFF01/SR000001"})),
        (error("invariant", "Bundle.entry[2]"),),
    ),
    InvalidExample(
        "organization-unconditional-post",
        "The Organization entry is a POST without ifNoneExist, which creates the provider again with every "
        "return: it must be a conditional create on its ODS code (ff-bun-14).",
        from_bundle(_set_request(0, {"method": "POST", "url": "Organization"})),
        (error("invariant", "Bundle.entry[0]"),),
    ),
    InvalidExample(
        "episode-missing-service-request-id",
        "The EpisodeOfCare has its provider-record identifier but not its MHSDS service request id "
        "(identifier:mhsdsServiceRequest 1..1), so the return cannot be joined to MHSDS.",
        from_bundle(_delete_identifier(2, 1)),
        (error("required", "Bundle.entry[2].resource.identifier"),),
    ),
    InvalidExample(
        "episode-missing-team-type",
        "The EpisodeOfCare has no type (MentalHealthEpisode.type 1..1: the MHSDS team type that puts the "
        "patient in scope).",
        from_bundle(_delete(2, "type")),
        (error("required", "Bundle.entry[2].resource.type"),),
    ),
    InvalidExample(
        "patient-missing-provider-record",
        "The Patient has its NHS number but not the provider-record identifier (identifier:providerRecord "
        "1..1), the key of its conditional update.",
        from_bundle(_delete_identifier(1, 1)),
        (error("required", "Bundle.entry[1].resource.identifier"),),
    ),
    InvalidExample(
        "child-nhs-number-verification-status",
        "The first child's NHS number carries UK Core's NHS number verification status extension, which UK "
        "Core defines for Patient.identifier only: a known extension outside its context.",
        from_bundle(_child_nhs_verification),
        (error("structure", "Bundle.entry[3].resource.identifier[0].extension[0]"),),
    ),
)
