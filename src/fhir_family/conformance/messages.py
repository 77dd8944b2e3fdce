"""Stable message ids of the validator's issues (``issue.details.coding``); documented in README.md.

Integration engineers match on these, so an id is never renamed or reused for another meaning.
"""

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

ALL = {name: value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, str)}
