"""Every stable message id the project puts in ``issue.details.coding``, once; the table is docs/messages.md.

Integration engineers match on these ids, not on prose, so an id is never renamed or reused for another
meaning. Code names an id by its constant here (``from fhir_family import messages as msg``, or
``from .. import messages as msg`` inside a package). ``tests/test_messages.py`` checks that every id used
in ``src/`` is listed here, that every id listed here is used, and that docs/messages.md lists exactly these.
No Flask, no SQLAlchemy, no imports: anything may import it.
"""

from __future__ import annotations

# -- the validator (conformance/; severities and issue types in conformance/README.md) ----------------------
CARDINALITY_MIN = "FF-CARDINALITY-MIN"  # required element or slice missing
CARDINALITY_MAX = "FF-CARDINALITY-MAX"  # too many, or a prohibited (max 0) element present
UNKNOWN_ELEMENT = "FF-UNKNOWN-ELEMENT"  # a JSON property the type does not define
TYPE = "FF-TYPE"  # wrong JSON type (string vs number, array vs object, null)
EMPTY = "FF-EMPTY"  # an empty array or object where FHIR JSON requires content to be left out
FORMAT = "FF-FORMAT"  # a primitive string that does not match its type's lexical rule
CHOICE_MULTIPLE = "FF-CHOICE-MULTIPLE"  # more than one type given for a choice element value[x]
FIXED = "FF-FIXED"  # value differs from the profile's fixed value
PATTERN = "FF-PATTERN"  # value does not contain the profile's pattern
TOO_LONG = "FF-TOO-LONG"  # a string longer than the profile's maxLength
VALUE_RANGE = "FF-VALUE-RANGE"  # a value below minValue[x] or above maxValue[x]
VALUE_UNCHECKED = "FF-VALUE-UNCHECKED"  # a Quantity that cannot be compared with minValue/maxValue (warning)
SLICE_CLOSED = "FF-SLICE-CLOSED"  # item matches no slice of a closed slicing
CODE_NOT_IN_VS = "FF-CODE-NOT-IN-VS"  # code not in a required (error) or extensible (warning) ValueSet
CODE_UNCHECKED = "FF-CODE-UNCHECKED"  # ValueSet or code system not available locally (warning)
INVARIANT = "FF-INVARIANT"  # a constraint failed; its key starts the diagnostics
INVARIANT_UNCHECKED = "FF-INVARIANT-UNCHECKED"  # FHIRPath engine failed on a constraint here (information)
EXT_UNKNOWN = "FF-EXT-UNKNOWN"  # extension not defined by the guide or core (warning)
EXT_CONTEXT = "FF-EXT-CONTEXT"  # extension used where its definition does not allow it
RESOURCE_TYPE = "FF-RESOURCE-TYPE"  # resourceType missing, not a string, or not an R4 resource type
PROFILE_UNKNOWN = "FF-PROFILE-UNKNOWN"  # a requested or declared profile is not known
PROFILE_NONE_MATCH = "FF-PROFILE-NONE"  # a resource conforms to none of the alternative profiles required
PROFILE_TYPE = "FF-PROFILE-TYPE"  # a profile for another resource type was requested
NOT_JSON_OBJECT = "FF-NOT-OBJECT"  # what was given is not a JSON object at all
REF_NOT_FOUND = "FF-REF-NOT-FOUND"  # a reference does not resolve inside the Bundle
REF_TARGET = "FF-REF-TARGET"  # a reference resolves to a resource of a type the element does not allow
FULLURL_ID = "FF-FULLURL-ID"  # an entry's fullUrl disagrees with its resource's type/id
FULLURL_DUPLICATE = "FF-FULLURL-DUPLICATE"  # two entries share a fullUrl
FULLURL_ABSOLUTE = "FF-FULLURL-ABSOLUTE"  # an entry's fullUrl is not an absolute URL, urn:uuid or urn:oid
BUNDLE_LINK = "FF-BUNDLE-LINK"  # a Bundle link relation given twice (or a searchset without a self link)
SEARCH_ENTRY = "FF-SEARCH-ENTRY"  # a searchset entry breaks the search rules (ids, search.mode outcome)
BUNDLE_REQUEST = "FF-BUNDLE-REQUEST"  # a transaction/batch entry's request disagrees with its resource
PARENT_COUNT = "FF-PARENT-COUNT"  # a national return without exactly one Patient (when no ff-bun-1 applies)
CHILD_AGE = "FF-CHILD-AGE"  # a dependent child 18 or over on the reporting date
STATUS_COUNTS = "FF-STATUS-COUNTS"  # parental-status disagrees with the children listed (warning)
CODING_SYSTEM = "FF-CODING-SYSTEM"  # Coding.system relative, or a ValueSet url instead of a code system
ATTACHMENT = "FF-ATTACHMENT"  # Attachment.size/hash disagree with the decoded data
NARRATIVE_LINK = "FF-NARRATIVE-LINK"  # a narrative href="#x" that names no element or contained resource
SD_INVALID = "FF-SD-INVALID"  # a StructureDefinition's differential/slicing/context its base or R4 disallows
INTERNAL = "FF-INTERNAL"  # the validator failed on this input (a defect, or a broken definition): error
TOO_MANY_ENTRIES = "FF-TOO-MANY-ENTRIES"  # a Bundle with more entries than fhir_family.limits allows

# -- the project's errors: the default id of each FhirFamilyError subclass (errors.py and beside it) --------
ERROR = "FF-ERROR"  # FhirFamilyError raised with only a message
INPUT = "FF-INPUT"  # InputError: the input could not be read at all
MAPPING = "FF-MAPPING"  # MappingError: readable, but not mappable to a national return
NONCONFORMANT = "FF-NONCONFORMANT"  # NonConformantError: the bundle or resource failed profile validation
AUTH = "FF-AUTH"  # AuthError: missing or bad credentials (401)
FORBIDDEN = "FF-FORBIDDEN"  # ForbiddenError: credentials valid, action not allowed (403)
DEFINITION = "FF-DEFINITION"  # DefinitionError: a profile cannot be compiled (the definitions are broken)
SNAPSHOT = "FF-SNAPSHOT"  # SnapshotError: a differential cannot be applied to its base
IG_BUILD = "FF-IG-BUILD"  # IgBuildError: SUSHI failed or the generated guide is stale
PACKAGE_BUILD = "FF-PACKAGE-BUILD"  # the guide's FHIR package cannot be built
SITE_BUILD = "FF-SITE-BUILD"  # the static pages cannot be built
NOT_A_BUNDLE = "FF-NOT-A-BUNDLE"  # a document that should hold a Bundle is not JSON (jsontext)

# -- reading input: CLI and facade --------------------------------------------------------------------------
INPUT_UNUSABLE = "FF-INPUT-UNUSABLE"  # validate: a file or line could not be used at all (fatal)
VALIDATOR_FAILURE = "FF-VALIDATOR-FAILURE"  # validate: the validator crashed on this input (fatal)
SUBMIT_NOT_BUNDLE = "FF-SUBMIT-NOT-BUNDLE"  # submit: a JSON document that is not a Bundle
VALIDATE_REQUEST = "FF-VALIDATE-REQUEST"  # $validate: the request is not a resource or a usable Parameters
BATCH_SUMMARY = "FF-BATCH-SUMMARY"  # /ehr/batch: the closing counts of a batch (information)
HTTP_PREFIX = "FF-HTTP-"  # + the HTTP status: a request the facade refused (404, 405, 413, 415 ...) or 500

# -- mapping EHR input (docs/payload.md) ---------------------------------------------------------------------
MAP_JSON = "FF-MAP-JSON"  # not valid JSON (line and column given)
MAP_ENCODING = "FF-MAP-ENCODING"  # a batch that is not UTF-8 text
MAP_SCHEMA = "FF-MAP-SCHEMA"  # the payload breaks the JSON Schema
MAP_NHS_NUMBER = "FF-MAP-NHS-NUMBER"  # an NHS number fails the modulus-11 check digit
MAP_DATE_ORDER = "FF-MAP-DATE-ORDER"  # a period ends before it starts
MAP_CHILD_AGE = "FF-MAP-CHILD-AGE"  # a listed child is 18 or over on the reporting date, or born after it
MAP_CSV = "FF-MAP-CSV"  # CSV layout problems (header, ragged rows, parent fields that change within a return)
HL7_PARSE = "FF-HL7-PARSE"  # not an HL7 v2 message the parser can read
HL7_UNSUPPORTED = "FF-HL7-UNSUPPORTED"  # message type other than ADT A04/A08/A28/A31
HL7_FIELD = "FF-HL7-FIELD"  # a required field is empty or a field's value or code is not allowed
HL7_CHILD_ADULT = "FF-HL7-CHILD-ADULT"  # a child NK1 is 18 or over on the reporting date, or born after it
HL7_CHILD_NO_DOB = "FF-HL7-CHILD-NO-DOB"  # a child NK1 has no NK1-16 birth date (left out; warning)
HL7_CHILD_NHS_NUMBER = "FF-HL7-CHILD-NHS-NUMBER"  # a child's NHS number fails the check digit (warning)
HL7_RELATIONSHIP = "FF-HL7-RELATIONSHIP"  # NK1-3 empty or not in HL7 table 0063 (warning)
HL7_ZFC_UNLINKED = "FF-HL7-ZFC-UNLINKED"  # a ZFC whose set id matches no child NK1 (warning)
HL7_DEFAULTED = "FF-HL7-DEFAULTED"  # a documented default was applied (information)
HL7_TOO_MANY_SEGMENTS = "FF-HL7-TOO-MANY-SEGMENTS"  # more segments or repetitions than a return has
LINE_TOO_LONG = "FF-LINE-TOO-LONG"  # a batch line over fhir_family.limits.LINE_BYTES: that line not read

# -- forwarding to the collector (collector/client.py, facade /submit) ------------------------------------
FORWARD_NO_COLLECTOR = "FF-FORWARD-NO-COLLECTOR"  # /submit on a facade with no collector configured
FORWARD_REFUSED = "FF-FORWARD-REFUSED"  # the collector refused the return
FORWARD_UNREACHABLE = "FF-FORWARD-UNREACHABLE"  # the collector cannot be reached
FORWARD_TIMEOUT = "FF-FORWARD-TIMEOUT"  # the collector did not answer in time
FORWARD_TLS = "FF-FORWARD-TLS"  # the collector's certificate cannot be verified
FORWARD_FAILED = "FF-FORWARD-FAILED"  # the request to the collector failed otherwise
FORWARD_BAD_ANSWER = "FF-FORWARD-BAD-ANSWER"  # the collector answered with something that is not FHIR JSON

# -- the facade's write endpoints (facade/auth.py; README "Security") ----------------------------------------
FACADE_NO_TOKEN = "FF-FACADE-NO-TOKEN"  # a write without Authorization: Bearer (401)
FACADE_BAD_TOKEN = "FF-FACADE-BAD-TOKEN"  # unknown, expired or revoked feed token, or no token file (401)
FACADE_ODS_FORBIDDEN = "FF-FACADE-ODS-FORBIDDEN"  # the return's provider is not one of the feed's (403)

# -- the collector -------------------------------------------------------------------------------------------
COLLECTOR_NO_TOKEN = "FF-COLLECTOR-NO-TOKEN"  # no bearer token (401)
COLLECTOR_BAD_TOKEN = "FF-COLLECTOR-BAD-TOKEN"  # unknown, expired or revoked token (401)
COLLECTOR_FORBIDDEN = "FF-COLLECTOR-FORBIDDEN"  # the token's role does not allow this (403)
COLLECTOR_NOT_FOUND = "FF-COLLECTOR-NOT-FOUND"  # no such route, return or import job (404)
COLLECTOR_NOT_JSON = "FF-COLLECTOR-NOT-JSON"  # a request body that is not JSON
COLLECTOR_NOT_UTF8 = "FF-COLLECTOR-NOT-UTF8"  # an $import file that is not UTF-8 text
COLLECTOR_NOT_BUNDLE = "FF-COLLECTOR-NOT-BUNDLE"  # a submission that is not a Bundle
COLLECTOR_ID_LENGTH = "FF-COLLECTOR-ID-LENGTH"  # an identifier longer than the store keeps
COLLECTOR_FACTS = "FF-COLLECTOR-FACTS"  # a conformant return whose facts cannot be read for the reports
COLLECTOR_CONFLICT = "FF-COLLECTOR-CONFLICT"  # the same submission id with different content (409)
COLLECTOR_STORAGE = "FF-COLLECTOR-STORAGE"  # the database failed
COLLECTOR_CONFIG = "FF-COLLECTOR-CONFIG"  # the collector's settings are unusable (key, database URL)
COLLECTOR_INTERNAL = "FF-COLLECTOR-INTERNAL"  # an unexpected error while serving a request (500)
COLLECTOR_FHIR_TRANSACTION = "FF-COLLECTOR-FHIR-TRANSACTION"  # a transaction the FHIR API refuses (400)
COLLECTOR_FHIR_PRECONDITION = "FF-COLLECTOR-FHIR-PRECONDITION"  # a condition matching 2+ resources (412)
COLLECTOR_FHIR_OWNER = "FF-COLLECTOR-FHIR-OWNER"  # an entry changing another provider's resource (403)
COLLECTOR_FHIR_SEARCH = "FF-COLLECTOR-FHIR-SEARCH"  # a search or condition the FHIR API cannot evaluate (400)

# -- MESH transport (mesh/, docs/mesh.md) ------------------------------------------------------------------
MESH_SENT = "FF-MESH-SENT"  # the facade handed a return to MESH (202; names the message and local id)
MESH_STORED = "FF-MESH-STORED"  # a line of a MESH message was stored (the outcome sent back)
MESH_UNCHANGED = "FF-MESH-UNCHANGED"  # a line of a MESH message was already stored: no change
MESH_LINE_REFUSED = "FF-MESH-LINE-REFUSED"  # a line of a MESH message was refused (its issues follow)
MESH_REFUSED = "FF-MESH-REFUSED"  # a whole MESH message was refused: its mailbox is not bound to a provider


#: constant name -> id, for every fixed id above (``HTTP_PREFIX`` starts a family, see ``http_status``)
ALL: dict[str, str] = {
    name: value
    for name, value in dict(globals()).items()
    if name.isupper() and isinstance(value, str) and value.startswith("FF-") and name != "HTTP_PREFIX"
}
#: the names of the validator's ids (documented with severities and issue types in conformance/README.md)
VALIDATOR_NAMES = (
    "CARDINALITY_MIN",
    "CARDINALITY_MAX",
    "UNKNOWN_ELEMENT",
    "TYPE",
    "EMPTY",
    "FORMAT",
    "CHOICE_MULTIPLE",
    "FIXED",
    "PATTERN",
    "TOO_LONG",
    "VALUE_RANGE",
    "VALUE_UNCHECKED",
    "SLICE_CLOSED",
    "CODE_NOT_IN_VS",
    "CODE_UNCHECKED",
    "INVARIANT",
    "INVARIANT_UNCHECKED",
    "EXT_UNKNOWN",
    "EXT_CONTEXT",
    "RESOURCE_TYPE",
    "PROFILE_UNKNOWN",
    "PROFILE_NONE_MATCH",
    "PROFILE_TYPE",
    "NOT_JSON_OBJECT",
    "REF_NOT_FOUND",
    "REF_TARGET",
    "FULLURL_ID",
    "FULLURL_DUPLICATE",
    "FULLURL_ABSOLUTE",
    "BUNDLE_LINK",
    "SEARCH_ENTRY",
    "BUNDLE_REQUEST",
    "PARENT_COUNT",
    "CHILD_AGE",
    "STATUS_COUNTS",
    "CODING_SYSTEM",
    "ATTACHMENT",
    "NARRATIVE_LINK",
    "SD_INVALID",
    "INTERNAL",
    "TOO_MANY_ENTRIES",
)


def http_status(status: int) -> str:
    """The id of a request refused with this HTTP status (``FF-HTTP-404``)."""
    return f"{HTTP_PREFIX}{status}"
