"""Rules about a Bundle as a whole, in Python: references, fullUrls, and the national return's own rules.

These need cross-entry look-ups and date arithmetic that FHIRPath invariants express badly (a child's 18th
birthday on the reporting date, a 29 February birthday), so they are plain code over the JSON. They run after
the structural walk and skip what the walk already reported (a child whose birthDate is missing or malformed
has no age issue).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from .. import messages as msg
from ..model import (
    CHILD_RESIDENCE,
    EXT_CHILD_RESIDENCE,
    EXT_PARENTAL_STATUS,
    EXT_REPORTING_PERIOD,
    LIVES_WITH_PATIENT,
    STATUS_WITH_CHILDREN,
)
from ..model import eighteenth_birthday as eighteenth_birthday
from ..outcome import IssueSeverity, IssueType
from .engine import Context

ERROR, WARNING = IssueSeverity.ERROR, IssueSeverity.WARNING
PARENTAL_STATUS_URL = EXT_PARENTAL_STATUS
CHILD_RESIDENCE_URL = EXT_CHILD_RESIDENCE
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_RELATIVE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/.*)?$")
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")
_UUID_URN = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_OID_URN = re.compile(r"^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$")
#: a RESTful resource URL: [base]/Type/id (bundle.html#references)
_RESTFUL = re.compile(r"^(https?://.+/|)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$")
_HISTORY = re.compile(r"^(.*)/_history/([^/]+)$")
Conforms = Callable[[dict[str, Any], str], bool]


@dataclass(slots=True)
class Entry:
    index: int
    full_url: str | None
    resource: dict[str, Any] | None
    expr: str


def _entries(bundle: dict[str, Any], expr: str) -> list[Entry]:
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return []
    found = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        resource = entry.get("resource")
        full_url = entry.get("fullUrl")
        found.append(
            Entry(
                index,
                full_url if isinstance(full_url, str) else None,
                resource if isinstance(resource, dict) else None,
                f"{expr}.entry[{index}]",
            )
        )
    return found


def check_bundle(
    bundle: dict[str, Any],
    expr: str,
    ctx: Context,
    national: bool,
    has_parent_invariant: bool,
    conforms: Conforms | None = None,
) -> None:
    """Every Bundle: fullUrls and references. A national return also: one parent, ages, status counts.
    ``conforms(resource, profile_url)`` checks a reference's target against a constraining targetProfile."""
    entries = _entries(bundle, expr)
    bundle_type = bundle.get("type")
    by_url = _check_full_urls(entries, ctx, bundle_type == "history")
    _check_references(entries, by_url, ctx, national, bundle_type, conforms)
    _check_links(bundle, expr, ctx, bundle_type)
    if bundle_type == "searchset":
        _check_search_entries(bundle, entries, ctx)
    if bundle_type in ("transaction", "batch"):
        _check_requests(bundle, entries, ctx)
    if not national:
        return
    patients = [e for e in entries if e.resource and e.resource.get("resourceType") == "Patient"]
    if len(patients) != 1:
        if not has_parent_invariant:
            ctx.add(
                ERROR,
                IssueType.BUSINESS_RULE,
                msg.PARENT_COUNT,
                f"a national return holds exactly one Patient (the parent or carer); found {len(patients)}",
                expr,
            )
        return
    children = [e for e in entries if e.resource and e.resource.get("resourceType") == "RelatedPerson"]
    parent = patients[0]
    status = _parental_status(parent)
    reporting_date = reporting_date_of(bundle)
    if reporting_date is not None:
        for child in children:
            _check_child_age(child, reporting_date, ctx)
    if status:
        current = [child for child in children if not _ended_by(child, reporting_date)]
        _check_status_counts(parent, status, current, ctx)


def _ended_by(child: Entry, reporting_date: date | None) -> bool:
    """An ended child (``period.end`` on or before the reporting date) is listed for the last time and no
    longer counts for the parental status (guide.md 0.2, 0.3); without a reporting date any end counts."""
    period = child.resource.get("period") if child.resource else None
    end = period.get("end") if isinstance(period, dict) else None
    if end is None:
        return False
    ended = _parse_date(end, latest=True)
    return ended is not None and (reporting_date is None or ended <= reporting_date)


# -- fullUrls and references ----------------------------------------------------------------------


def _check_full_urls(entries: list[Entry], ctx: Context, history: bool) -> dict[str, Entry]:
    """fullUrls: absolute, agreeing with the resource, unique with their versionId (bdl-7; not in a
    history, where one resource's versions, deletions included, repeat a fullUrl)."""
    by_url: dict[str, Entry] = {}
    for entry in entries:
        if entry.full_url is None:
            continue
        problem = _full_url_problem(entry.full_url)
        if problem is not None:
            ctx.add(ERROR, IssueType.VALUE, msg.FULLURL_ABSOLUTE, problem, f"{entry.expr}.fullUrl")
        resource = entry.resource or {}
        version = (
            (resource.get("meta") or {}).get("versionId") if isinstance(resource.get("meta"), dict) else None
        )
        key = f"{entry.full_url}|{version}" if version else entry.full_url
        if key in by_url and not history:
            first = by_url[key]
            ctx.add(
                ERROR,
                IssueType.INVARIANT,
                msg.FULLURL_DUPLICATE,
                f"bdl-7: fullUrl {entry.full_url!r} is already used by entry[{first.index}]; FullUrl must be "
                "unique in a bundle",
                f"{entry.expr}.fullUrl",
            )
            continue
        by_url[key] = entry
        by_url.setdefault(entry.full_url, entry)
        resource_type, resource_id = resource.get("resourceType"), resource.get("id")
        if entry.full_url.startswith("urn:") or not isinstance(resource_id, str):
            continue
        match = re.search(r"/([A-Z][A-Za-z]+)/([^/]+)(?:/_history/[^/]+)?$", entry.full_url)
        if match and (match.group(1) != resource_type or match.group(2) != resource_id):
            ctx.add(
                ERROR,
                IssueType.VALUE,
                msg.FULLURL_ID,
                f"fullUrl {entry.full_url!r} does not agree with the resource's type and id "
                f"({resource_type}/{resource_id})",
                f"{entry.expr}.fullUrl",
            )
    return by_url


def _full_url_problem(full_url: str) -> str | None:
    """Why a fullUrl is not an absolute identity (bundle.html: an absolute URL, or urn:uuid / urn:oid)."""
    if full_url.startswith("urn:uuid:"):
        if _UUID_URN.match(full_url) is None:
            return f"fullUrl {full_url!r} must be 'urn:uuid:' followed by a UUID in lower case"
        return None
    if full_url.startswith("urn:oid:"):
        if _OID_URN.match(full_url) is None:
            return f"fullUrl {full_url!r} must be 'urn:oid:' followed by an OID (digits and dots)"
        return None
    if _ABSOLUTE.match(full_url) is None:
        return (
            f"fullUrl {full_url!r} must be absolute: a URL such as https://example.org/fhir/Patient/1, "
            "or urn:uuid:... / urn:oid:...; relative URLs are not allowed"
        )
    return None


def _version(entry: Entry) -> str | None:
    meta = (entry.resource or {}).get("meta")
    version = meta.get("versionId") if isinstance(meta, dict) else None
    return version if isinstance(version, str) else None


def _resolve(
    reference: str, source: Entry | None, entries: list[Entry], by_url: dict[str, Entry]
) -> Entry | None:
    """The entry a reference points at, by bundle.html#references: an absolute or urn reference matches a
    fullUrl; a relative one resolves against the base of the referring entry's RESTful fullUrl, or (when that
    fullUrl is a urn or absent) matches any entry by type and id. ``/_history/v`` must match the versionId."""
    target, version = reference, None
    history = _HISTORY.match(reference)
    if history is not None and not reference.startswith("urn:"):
        target, version = history.groups()
    entry = by_url.get(f"{target}|{version}") if version else None
    entry = entry or by_url.get(target)
    if entry is None and _RELATIVE.match(target):
        base = _RESTFUL.match(source.full_url) if source and source.full_url else None
        if base is not None and base.group(1):
            entry = by_url.get(base.group(1) + target)
        else:
            resource_type, resource_id = target.split("/")
            for candidate in entries:
                resource = candidate.resource or {}
                if candidate.full_url and candidate.full_url.endswith(f"/{target}"):
                    entry = candidate
                    break
                if resource.get("resourceType") == resource_type and resource.get("id") == resource_id:
                    entry = candidate
                    break
    if entry is not None and version is not None:
        found = _version(entry)
        if found is not None and found != version:
            return None
    return entry


def _check_references(
    entries: list[Entry],
    by_url: dict[str, Entry],
    ctx: Context,
    national: bool,
    bundle_type: Any,
    conforms: Conforms | None,
) -> None:
    by_resource = {id(e.resource): e for e in entries if e.resource is not None}
    # entries whose fullUrl is missing or malformed (already reported): a reference that may have meant one
    # of them is not reported again as dangling
    anonymous = {
        e.resource.get("resourceType")
        for e in entries
        if e.resource is not None and e.full_url is None and isinstance(e.resource.get("resourceType"), str)
    }
    for ref in ctx.references:
        source = by_resource.get(id(ref.root))
        if source is None:
            continue  # a reference inside a nested bundle: not this bundle's business
        value = ref.value
        if value.startswith("#"):
            continue  # contained resources: dom-3 covers them
        if "?" in value and not value.startswith("urn:"):
            continue  # a conditional reference, resolved by the receiving server in a transaction
        must_resolve = value.startswith("urn:") or national
        target = _resolve(value, source, entries, by_url)
        if target is None:
            if anonymous and (not ref.target_types or anonymous & set(ref.target_types)):
                continue
            if must_resolve:
                # a collection is a loose set of resources: an unresolved urn is suspicious, not invalid
                severity = WARNING if bundle_type == "collection" and not national else ERROR
                ctx.add(
                    severity,
                    IssueType.NOT_FOUND,
                    msg.REF_NOT_FOUND,
                    f"reference {value!r} does not resolve to any entry's fullUrl in this Bundle",
                    ref.expression,
                )
            continue
        actual = (target.resource or {}).get("resourceType")
        if ref.target_types and actual and actual not in ref.target_types:
            ctx.add(
                ERROR,
                IssueType.STRUCTURE,
                msg.REF_TARGET,
                f"reference {value!r} must point at {' or '.join(ref.target_types)}, "
                f"but points at a {actual}",
                ref.expression,
            )
            continue
        if ref.profiles and conforms is not None and target.resource is not None:
            if _has_error_at(ctx, f"{target.expr}.resource"):
                continue  # the target's own issues say what is wrong with it: one fault, one issue
            applied = ctx.profiles_applied.get(id(target.resource), set())
            if any(url in applied for url in ref.profiles):
                continue  # already walked against that profile in this call, without errors
            if not any(conforms(target.resource, url) for url in ref.profiles):
                ctx.add(
                    ERROR,
                    IssueType.STRUCTURE,
                    msg.REF_TARGET,
                    f"reference {value!r} must point at a resource conforming to "
                    f"{' or '.join(ref.profiles)} (targetProfile), but {target.expr} does not",
                    ref.expression,
                )


# -- links, search results and requests -----------------------------------------------------------


def _check_links(bundle: dict[str, Any], expr: str, ctx: Context, bundle_type: Any) -> None:
    """Each link relation once (a page has one self, one next ...); a searchset says what was searched."""
    seen: dict[str, int] = {}
    for index, link in enumerate(_list(bundle.get("link"))):
        relation = link.get("relation") if isinstance(link, dict) else None
        if not isinstance(relation, str):
            continue
        if relation in seen:
            ctx.add(
                ERROR,
                IssueType.STRUCTURE,
                msg.BUNDLE_LINK,
                f"link relation {relation!r} is already given by link[{seen[relation]}]; each relation may "
                "appear once, so a reader knows which link to follow",
                f"{expr}.link[{index}].relation",
            )
        else:
            seen[relation] = index
    if bundle_type == "searchset" and "self" not in seen:
        ctx.add(
            WARNING,
            IssueType.STRUCTURE,
            msg.BUNDLE_LINK,
            "a searchset Bundle should have a link with relation 'self' giving the search that produced it",
            expr,
        )


def _check_search_entries(bundle: dict[str, Any], entries: list[Entry], ctx: Context) -> None:
    """search.html: results (mode match/include) are identified resources; 'outcome' entries are
    OperationOutcomes about the search."""
    raw = _list(bundle.get("entry"))
    for entry in entries:
        search = raw[entry.index].get("search")
        mode = search.get("mode") if isinstance(search, dict) else None
        resource = entry.resource
        if resource is None:
            continue
        resource_type = resource.get("resourceType")
        if mode == "outcome":
            if resource_type != "OperationOutcome":
                ctx.add(
                    ERROR,
                    IssueType.STRUCTURE,
                    msg.SEARCH_ENTRY,
                    "an entry with search.mode 'outcome' must hold an OperationOutcome, "
                    f"found {resource_type}",
                    f"{entry.expr}.resource",
                )
            continue
        if resource_type == "OperationOutcome" and mode is None:
            continue  # an OperationOutcome about the search, only missing its mode
        if not isinstance(resource.get("id"), str):
            ctx.add(
                ERROR,
                IssueType.REQUIRED,
                msg.SEARCH_ENTRY,
                "a search result must have an id: it is a resource on the server that was searched",
                f"{entry.expr}.resource",
            )
        if entry.full_url is None and "fullUrl" not in raw[entry.index]:
            ctx.add(
                ERROR,
                IssueType.REQUIRED,
                msg.SEARCH_ENTRY,
                "a search result must have a fullUrl: its absolute URL on the server that was searched",
                entry.expr,
            )


def _check_requests(bundle: dict[str, Any], entries: list[Entry], ctx: Context) -> None:
    """http.html#transaction: a PUT's url names the resource's type and id, a POST's its type; both carry
    the resource they create or update."""
    raw = _list(bundle.get("entry"))
    for entry in entries:
        request = raw[entry.index].get("request")
        if not isinstance(request, dict):
            continue
        method, url = request.get("method"), request.get("url")
        if method not in ("POST", "PUT") or not isinstance(url, str):
            continue
        where = f"{entry.expr}.request.url"
        if entry.resource is None:
            if "resource" not in raw[entry.index]:
                ctx.add(
                    ERROR,
                    IssueType.REQUIRED,
                    msg.BUNDLE_REQUEST,
                    f"a {method} entry must carry the resource it sends",
                    entry.expr,
                )
            continue
        resource_expr = f"{entry.expr}.resource"
        if any(i.message_id == msg.RESOURCE_TYPE and i.expression == resource_expr for i in ctx.issues):
            continue  # not a resource type at all: reported once, as that
        resource_type, resource_id = entry.resource.get("resourceType"), entry.resource.get("id")
        path = url.split("?", 1)[0].rstrip("/")
        parts = path.split("/")
        if method == "POST":
            if parts[-1] != resource_type:
                ctx.add(
                    ERROR,
                    IssueType.VALUE,
                    msg.BUNDLE_REQUEST,
                    f"a POST creates a {resource_type}, so request.url must be {resource_type!r}, "
                    f"found {url!r}",
                    where,
                )
            continue
        if "?" in url:  # conditional update: the server finds the resource
            if parts[-1] != resource_type:
                ctx.add(
                    ERROR,
                    IssueType.VALUE,
                    msg.BUNDLE_REQUEST,
                    f"a conditional PUT of a {resource_type} must search {resource_type}, found {url!r}",
                    where,
                )
            continue
        expected_id = parts[-1] if len(parts) >= 2 else None
        if len(parts) < 2 or parts[-2] != resource_type or expected_id != resource_id:
            ctx.add(
                ERROR,
                IssueType.VALUE,
                msg.BUNDLE_REQUEST,
                f"a PUT's request.url must be '{resource_type}/{resource_id}' (the resource's type and id), "
                f"found {url!r}",
                where,
            )


# -- the national return --------------------------------------------------------------------------


def _parse_date(value: Any, latest: bool) -> date | None:
    """A FHIR date (or dateTime's date part); partial dates give their earliest or latest possible day."""
    if not isinstance(value, str):
        return None
    match = _DATE.match(value)
    if not match:
        return None
    year = int(match.group(1))
    month = int(match.group(2)) if match.group(2) else (12 if latest else 1)
    last_day = calendar.monthrange(year, month)[1] if latest else 1
    day = int(match.group(3)) if match.group(3) else last_day
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _ext_value(extension: dict[str, Any], prefix: str = "value") -> tuple[str | None, Any]:
    for key, value in extension.items():
        if key.startswith(prefix) and key[len(prefix) :][:1].isupper():
            return key, value
    return None, None


def _code(concept: Any) -> str | None:
    if not isinstance(concept, dict):
        return None
    for coding in _list(concept.get("coding")):
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            return coding["code"]
    return None


def _parental_status(parent: Entry) -> dict[str, Any] | None:
    resource = parent.resource or {}
    extensions = resource.get("extension")
    if not isinstance(extensions, list):
        return None
    for index, extension in enumerate(extensions):
        if not isinstance(extension, dict) or extension.get("url") != PARENTAL_STATUS_URL:
            continue
        parts: dict[str, Any] = {"expr": f"{parent.expr}.resource.extension[{index}]"}
        for part in _list(extension.get("extension")):
            if not isinstance(part, dict) or not isinstance(part.get("url"), str):
                continue
            _key, value = _ext_value(part)
            parts[part.get("url")] = value
        return parts
    return None


def reporting_date_of(bundle: dict[str, Any]) -> date | None:
    """The reporting date: the end of the ``reporting-period`` extension on ``Bundle.meta`` (the return's
    fact, not the person's), when it is a full date; None when absent or malformed (the walk reports that)."""
    meta = bundle.get("meta")
    for extension in _list(meta.get("extension") if isinstance(meta, dict) else None):
        if not isinstance(extension, dict) or extension.get("url") != EXT_REPORTING_PERIOD:
            continue
        period = extension.get("valuePeriod")
        end = period.get("end") if isinstance(period, dict) else None
        if isinstance(end, str) and len(end) >= 10:
            return _parse_date(end, latest=False)
    return None


def _list(value: Any) -> list[Any]:
    """A JSON array, or nothing when the walk has already reported that it is not one."""
    return value if isinstance(value, list) else []


def _has_error_at(ctx: Context, expression: str) -> bool:
    if not ctx.errors:
        return False  # no error anywhere (the usual case): no need to read the issues
    return any(
        issue.severity is ERROR and issue.expression and issue.expression.startswith(expression)
        for issue in ctx.issues
    )


def _has_issue_at(ctx: Context, expression: str) -> bool:
    return any(issue.expression and issue.expression.startswith(expression) for issue in ctx.issues)


def _check_child_age(child: Entry, reporting_date: date, ctx: Context) -> None:
    resource = child.resource or {}
    expression = f"{child.expr}.resource.birthDate"
    birth_text = resource.get("birthDate")
    if not isinstance(birth_text, str) or _has_issue_at(ctx, expression):
        return
    latest_birth = _parse_date(birth_text, latest=True)
    if latest_birth is None:
        return
    birthday = eighteenth_birthday(latest_birth)
    if reporting_date >= birthday:
        ctx.add(
            ERROR,
            IssueType.BUSINESS_RULE,
            msg.CHILD_AGE,
            f"a dependent child must be under 18 on the reporting date {reporting_date.isoformat()}; "
            f"born {birth_text}, the child turned 18 on {birthday.isoformat()}",
            expression,
        )


def _residence(child: Entry) -> str | None:
    for extension in _list((child.resource or {}).get("extension")):
        if isinstance(extension, dict) and extension.get("url") == CHILD_RESIDENCE_URL:
            return _code(extension.get("valueCodeableConcept"))
    return None


def _check_status_counts(parent: Entry, status: dict[str, Any], children: list[Entry], ctx: Context) -> None:
    expr = status["expr"]
    if any(
        issue.severity is ERROR and issue.expression and issue.expression.startswith(expr)
        for issue in ctx.issues
    ):
        return
    code = _code(status.get("status"))
    residences = [_residence(child) for child in children]
    living_with = sum(1 for r in residences if r in LIVES_WITH_PATIENT)
    listed = len(children)
    problems = []
    # not-a-parent (or declined, not-asked) with children listed is the guide's error ff-bun-9 (ff-bun-8)
    if code in STATUS_WITH_CHILDREN and not listed:
        problems.append(f"status is {code} but no dependent children are listed")
    # an `unknown` residence counts as not living with the patient (guide.md 0.3); a code outside the
    # CodeSystem is reported by its binding and counts neither way
    known = [r for r in residences if r in CHILD_RESIDENCE]
    not_with = len(known) - living_with
    all_known = len(known) == listed
    if code == "all-children-live-with-patient" and not_with:
        problems.append(
            f"status is all-children-live-with-patient but {not_with} listed child(ren) do not live with the "
            "patient (elsewhere or not known)"
        )
    if code == "no-children-live-with-patient" and living_with:
        problems.append(
            f"status is no-children-live-with-patient but {living_with} listed child(ren) "
            "live with the patient"
        )
    mixed = living_with and not_with
    if code == "some-children-live-with-patient" and listed and all_known and not mixed:
        where = "with the patient" if not not_with else "elsewhere (or where is not known)"
        problems.append(f"status is some-children-live-with-patient but every listed child lives {where}")
    in_household = status.get("childrenInHousehold")
    full_time = sum(1 for r in residences if r == "full-time")
    if isinstance(in_household, int) and not isinstance(in_household, bool) and in_household < full_time:
        problems.append(
            f"childrenInHousehold is {in_household} but {full_time} listed child(ren) "
            "live with the patient full-time"
        )
    for problem in problems:
        ctx.add(
            WARNING,
            IssueType.BUSINESS_RULE,
            msg.STATUS_COUNTS,
            f"parental status disagrees with the children listed: {problem}",
            expr,
        )
