"""``fhir-family validate PATH...``: validate bundles or resources against the guide and FHIR R4.

Inputs are files or folders, or ``-`` for standard input. Folders are searched recursively for ``*.json``,
``*.ndjson`` and ``*.xml``; hidden entries and the ``*.expected.json`` outcome files that sit beside invalid
examples are skipped. A ``.json`` file holds one resource (a Bundle or a single resource); a ``.xml`` file
holds one resource in FHIR XML (converted by ``conformance/xml_format.py``); a ``.ndjson`` file holds one per
line, each validated on its own, and every issue from line N carries the standard
``operationoutcome-issue-line`` extension and starts its diagnostics with ``line N:``. Standard input is one
JSON or XML resource, or NDJSON when it holds several JSON values.

Exit status: 0 when nothing has an error, 1 when anything has an error, 2 when some input could not be used
at all (no such path, unreadable, not JSON, not a FHIR resource) or the definitions are missing; each such
problem is one line on stderr, never a stack trace.

``--format json`` prints OperationOutcomes: for a single input file, its OperationOutcome; otherwise one JSON
object mapping each file path to its OperationOutcome (an unusable file gets an OperationOutcome with a
``fatal`` issue, so nothing is silently missing).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import click

from fhir_family import messages as msg

from ..conformance.locations import add_locations
from ..conformance.report import render_report
from ..conformance.xml_format import looks_like_xml
from ..errors import FhirFamilyError, InputError
from ..jsontext import parse_json
from ..outcome import LINE_EXTENSION, Issue, IssueSeverity, IssueType, has_errors, operation_outcome
from ..validation import LazyValidator, Validator
from .exits import ExitCode, fail

INPUT_SUFFIXES = (".json", ".ndjson", ".xml")
SKIPPED_SUFFIX = ".expected.json"
#: more input files than this and a progress bar is drawn on stderr
PROGRESS_THRESHOLD = 5
#: the PATH that means standard input (a JSON resource, or NDJSON)
STDIN = Path("-")


@dataclass
class FileResult:
    """One input file's outcome, and the one-line reasons for anything in it that could not be used."""

    path: Path
    outcome: dict[str, Any]
    unusable: list[str] = field(default_factory=list)


def find_inputs(paths: tuple[Path, ...]) -> list[Path]:
    """The files to validate, in a stable order; a path that does not exist is an InputError."""
    found: list[Path] = []
    for path in paths:
        if path == STDIN:
            found.append(path)
        elif path.is_dir():
            found.extend(sorted(_walk(path)))
        elif path.exists():
            found.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    return list(dict.fromkeys(found))


def _walk(folder: Path) -> Iterator[Path]:
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix in INPUT_SUFFIXES and not path.name.endswith(SKIPPED_SUFFIX):
            yield path


def _input_issue(message: str, message_id: str, line: int | None, code: IssueType) -> Issue:
    """A fatal issue for input that could not be validated at all."""
    extra = {"extension": [{"url": LINE_EXTENSION, "valueInteger": line}]} if line is not None else {}
    return Issue(
        severity=IssueSeverity.FATAL, code=code, diagnostics=message, message_id=message_id, extra=extra
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def _as_resource(text: str, where: str) -> dict[str, Any]:
    try:
        value = parse_json(text, msg.INPUT_UNUSABLE)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from exc
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise InputError(f"{where}: not a FHIR resource (a JSON object with a resourceType)")
    return value


Item = tuple[int | None, dict[str, Any] | InputError, str | None]
"""(line, resource or why it is unusable, the document's text when the resource is a whole JSON document)."""

XmlReader = Callable[[str, str], dict[str, Any]]
"""(document text, where it came from) -> the resource as FHIR JSON; InputError when it is not FHIR XML."""


def _no_xml(text: str, where: str) -> dict[str, Any]:
    raise InputError(f"{where}: XML input is not supported by this validator")


def _read_resources(path: Path, xml: XmlReader = _no_xml) -> Iterator[Item]:
    """One item per resource in a file; line is None for a .json file, whose text comes along so issues can
    be given a line and column in it.

    NDJSON is streamed line by line, so a large extract is never held in memory whole. A ``.xml`` file (or
    any document that starts with ``<``) is FHIR XML, converted to JSON by ``xml``.
    """
    if path == STDIN:
        yield from _read_stdin(xml)
        return
    if path.suffix != ".ndjson":
        try:
            text = _read_text(path)
            if path.suffix == ".xml" or looks_like_xml(text):
                yield None, xml(text, str(path)), None
            else:
                yield None, _as_resource(text, str(path)), text
        except InputError as exc:
            yield None, exc, None
        return
    try:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                where = f"{path}:{number}"
                try:
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    problem = f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})"
                    yield number, InputError(problem), None
                    continue
                if line.strip():
                    try:
                        yield number, _as_resource(line, where), None
                    except InputError as exc:
                        yield number, exc, None
    except OSError as exc:
        yield None, InputError(f"{path}: cannot read ({exc.strerror or exc})"), None


def _read_stdin(xml: XmlReader) -> Iterator[Item]:
    """Standard input: one JSON or XML resource, or NDJSON when it is several JSON values one per line."""
    try:
        text = sys.stdin.buffer.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield None, InputError(f"<stdin>: not UTF-8 text ({exc.reason} at byte {exc.start})"), None
        return
    if looks_like_xml(text):
        try:
            yield None, xml(text, "<stdin>"), None
        except InputError as exc:
            yield None, exc, None
        return
    try:
        yield None, _as_resource(text, "<stdin>"), text
        return
    except InputError as exc:
        if not str(exc).endswith("): Extra data"):  # several JSON values: NDJSON on standard input
            yield None, exc, None
            return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield number, _as_resource(line, f"<stdin>:{number}"), None
            except InputError as exc:
                yield number, exc, None


def _with_line(issue: dict[str, Any], line: int) -> dict[str, Any]:
    issue = dict(issue)
    issue["extension"] = [*issue.get("extension", []), {"url": LINE_EXTENSION, "valueInteger": line}]
    if issue.get("diagnostics") is not None:
        issue["diagnostics"] = f"line {line}: {issue['diagnostics']}"
    return issue


def _all_ok(issues: list[Issue]) -> bool:
    """A clean validation: nothing but information issues."""
    return all(issue.severity == IssueSeverity.INFORMATION for issue in issues)


def validate_file(
    validator: Validator, path: Path, profile: str | None, xml: XmlReader = _no_xml
) -> FileResult:
    """Validate every resource in one file into a single OperationOutcome for the file.

    The validator's typed issues are rendered here, at the edge, where lines and columns of the input are
    added to them.
    """
    ndjson = path.suffix == ".ndjson" or path == STDIN
    issues: list[dict[str, Any]] = []
    unusable: list[str] = []
    for line, item, text in _read_resources(path, xml):
        if isinstance(item, InputError):
            unusable.append(str(item))
            issues.append(_input_issue(str(item), msg.INPUT_UNUSABLE, line, IssueType.STRUCTURE).to_fhir())
            continue
        try:
            found = validator.issues(item, profile)
        except FhirFamilyError:
            raise
        except (RecursionError, MemoryError, ValueError, TypeError, KeyError, LookupError) as exc:
            # A validator defect must not cost the user the rest of the run or print a stack trace.
            where = f"{path}:{line}" if line is not None else str(path)
            problem = f"{where}: the validator could not process this input ({type(exc).__name__}: {exc})"
            unusable.append(" ".join(problem.split()))
            issues.append(
                _input_issue(unusable[-1], msg.VALIDATOR_FAILURE, line, IssueType.EXCEPTION).to_fhir()
            )
            continue
        if ndjson and _all_ok(found):
            continue  # one "No issues found." per line of an NDJSON file would drown the real issues
        outcome = operation_outcome(found)
        if text is not None:
            outcome = add_locations(outcome, text)
        issues.extend(_with_line(issue, line) if line is not None else issue for issue in outcome["issue"])
    if not issues:
        issues = operation_outcome([])["issue"]
    return FileResult(path, {"resourceType": "OperationOutcome", "issue": issues}, unusable)


@dataclass(frozen=True)
class Definitions:
    """What to validate against, from the options --guide, --no-builtin-guide, --no-guide."""

    guides: tuple[str, ...] = ()
    builtin_guide: bool = True
    role_profiles: bool = True
    unknown_profiles: str = "error"
    #: "error", "warning", or URL prefixes whose extensions are allowed (conformance/extension_policy.py)
    unknown_extensions: str | tuple[str, ...] = "error"

    @property
    def is_default(self) -> bool:
        return self == Definitions()


class _XmlReader:
    """FHIR XML as FHIR JSON by the loaded core definitions; loads them on the first XML document only."""

    def __init__(self, validator: LazyValidator) -> None:
        self._validator = validator
        self._converter: Any = None

    def __call__(self, text: str, where: str) -> dict[str, Any]:
        if self._converter is None:
            from ..conformance.xml_format import XmlConverter

            store = self._validator.get().store  # type: ignore[attr-defined] - the real Validator has one
            self._converter = XmlConverter(store.structure_definition)
        return self._converter.parse(text, where)


def _load_validator(definitions: Definitions) -> Validator:
    from ..conformance import Validator, default_validator

    if definitions.is_default:
        return default_validator()
    if definitions.guides or not definitions.builtin_guide:
        return Validator.from_packages(
            *definitions.guides,
            builtin_guide=definitions.builtin_guide,
            role_profiles=definitions.role_profiles,
            unknown_profiles=definitions.unknown_profiles,
            unknown_extensions=definitions.unknown_extensions,
        )
    # Only the policies differ from the default: share its definitions (and their compiled cache).
    return Validator(
        default_validator().store,
        unknown_profiles=definitions.unknown_profiles,
        unknown_extensions=definitions.unknown_extensions,
    )


def _extension_policy(values: tuple[str, ...]) -> str | tuple[str, ...]:
    """--unknown-extensions values as the Validator takes them: one keyword, or allowed URL prefixes."""
    if not values:
        return "error"
    keywords = [v for v in values if v in ("error", "warning")]
    if keywords and len(values) > 1:
        _fail("--unknown-extensions: give 'error' or 'warning' alone, or one or more URL prefixes")
    return keywords[0] if keywords else values


def _fail(message: str) -> NoReturn:
    fail("validate", " ".join(message.split()))


@click.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: a readable report; json: OperationOutcome(s) (see below).",
)
@click.option(
    "--profile",
    default=None,
    metavar="URL",
    help="Validate every resource against this profile instead of the one it claims or its role.",
)
@click.option(
    "--guide",
    "guides",
    multiple=True,
    metavar="PACKAGE",
    help="Also load this guide: a package .tgz or folder, a folder of JSON resources, or NAME#VERSION from "
    "the FHIR package cache; its package.json dependencies come from the cache. Repeatable.",
)
@click.option(
    "--no-builtin-guide",
    is_flag=True,
    help="Do not load this project's guide; only R4 core and the --guide packages.",
)
@click.option(
    "--no-guide",
    is_flag=True,
    help="Plain R4: no built-in guide, no national-return role profiles or rules; each resource is checked "
    "against R4 core, the profiles it declares, or --profile.",
)
@click.option(
    "--allow-unknown-profiles",
    is_flag=True,
    help="Report a profile that the input names but no loaded package defines as a warning, not an error.",
)
@click.option(
    "--unknown-extensions",
    "unknown_extensions",
    multiple=True,
    metavar="POLICY",
    help="An extension no loaded package defines is an error (the default, as HL7's validator); 'warning' "
    "reports it as a warning; a URL prefix (repeatable) allows extensions under it. The guide's own profiles "
    "report unknown extensions as warnings whatever the policy.",
)
def command(
    paths: tuple[Path, ...],
    output_format: str,
    profile: str | None,
    guides: tuple[str, ...],
    no_builtin_guide: bool,
    no_guide: bool,
    allow_unknown_profiles: bool,
    unknown_extensions: tuple[str, ...],
) -> None:
    """Validate bundles or resources (JSON, NDJSON or XML files, or folders of them) against the guide and R4.

    PATH "-" reads standard input: one JSON or XML resource, or NDJSON (one resource per line).

    Exit status 0: no errors; 1: some input has errors; 2: some input could not be used (no such path,
    unreadable, not JSON, not a FHIR resource) or the FHIR definitions are missing.

    A profile that the input names (meta.profile, a national return's role profiles, a guide's global
    profiles) but no loaded package defines is an error unless --allow-unknown-profiles.

    With --format json a single input file prints its OperationOutcome; several files print one JSON object
    mapping each path to its OperationOutcome. NDJSON issues carry the input line number (extension
    operationoutcome-issue-line, and "line N:" in diagnostics).
    """
    try:
        files = find_inputs(paths)
    except InputError as exc:
        _fail(str(exc))
    if not files:
        _fail("no .json, .ndjson or .xml files found in " + ", ".join(str(p) for p in paths))
    definitions = Definitions(
        guides=guides,
        builtin_guide=not (no_builtin_guide or no_guide),
        role_profiles=not no_guide,
        unknown_profiles="warning" if allow_unknown_profiles else "error",
        unknown_extensions=_extension_policy(unknown_extensions),
    )
    # Loaded on the first resource, so unusable input fails fast without loading the definitions.
    validator = LazyValidator(lambda: _load_validator(definitions))
    xml = _XmlReader(validator)
    if profile is not None:
        try:
            known = validator.get().resolve_profile(profile)  # type: ignore[attr-defined]
        except FhirFamilyError as exc:
            _fail(str(exc))
        if known is None:
            _fail(f"--profile {profile}: no such profile in the guide or FHIR R4 core")

    results: list[FileResult] = []
    try:
        if len(files) > PROGRESS_THRESHOLD:
            with click.progressbar(files, label="Validating", file=sys.stderr, show_pos=True) as progress:
                results = [validate_file(validator, path, profile, xml) for path in progress]
        else:
            results = [validate_file(validator, path, profile, xml) for path in files]
    except FhirFamilyError as exc:  # the definitions (core package or --guide) are missing or unreadable
        _fail(str(exc))

    for result in results:
        for problem in result.unusable:
            click.echo(f"fhir-family validate: {problem}", err=True)
    outcomes = {"<stdin>" if r.path == STDIN else str(r.path): r.outcome for r in results}
    if output_format == "json":
        single = len(paths) == 1 and len(files) == 1 and not paths[0].is_dir()
        document: Any = results[0].outcome if single else outcomes
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        click.echo(render_report(outcomes), nl=False)

    if any(result.unusable for result in results):
        sys.exit(ExitCode.UNUSABLE)
    rejected = any(has_errors(outcome) for outcome in outcomes.values())
    sys.exit(ExitCode.REJECTED if rejected else ExitCode.OK)
