"""The public validator: which profile applies to what, then the walk, then the Bundle rules.

Profiles are chosen the way a receiving system would: a resource's ``meta.profile`` plus the loaded guides'
``ImplementationGuide.global`` profiles for its type; otherwise, inside a national return (or for a single
resource), the profile for its role (Patient -> ParentPatient, RelatedPerson -> DependentChild, Organization
-> ReportingProvider, EpisodeOfCare -> MentalHealthEpisode); otherwise the core definition of its type.

A profile the input names (or a national return's role profile) that is not loaded is an error by default
(``unknown_profiles="warning"`` relaxes it), so "not checked" never passes as "valid".
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import messages as msg
from ..guide import (
    CANONICAL,
    PACKAGE_ID,
    core_package_dir,
    examples_dir,
    guide_sources,
    require_guide_resources_dir,
)
from ..limits import MAX_BUNDLE_ENTRIES, MAX_CHILDREN, MAX_RETURN_ENTRIES
from ..model import NATIONAL_RETURN_BUNDLE, SUBMISSION_SYSTEM
from ..outcome import Issue, IssueSeverity, IssueType, operation_outcome
from .bundle_rules import check_bundle
from .compiler import Compiler
from .engine import Context, Walker
from .extension_policy import ExtensionPolicy
from .implied_profiles import check_required_profiles, implied_profiles, vital_signs_codes
from .package_cache import resolve_sources
from .packages import STRUCTURE_DEFINITION_BASE, DefinitionStore
from .rules import Structure
from .sd_rules import check_structure_definition
from .terminology import Terminology
from .walker_plans import SpecialisedWalker

__all__ = ["ROLE_PROFILES", "Validator", "default_validator"]

ERROR, WARNING = IssueSeverity.ERROR, IssueSeverity.WARNING
PROFILE_BASE = f"{CANONICAL}/StructureDefinition/"
ROLE_PROFILES = {
    "Patient": PROFILE_BASE + "parent-patient",
    "RelatedPerson": PROFILE_BASE + "dependent-child",
    "Organization": PROFILE_BASE + "reporting-provider",
    "EpisodeOfCare": PROFILE_BASE + "mental-health-episode",
    "Bundle": NATIONAL_RETURN_BUNDLE,
}


#: the resource types of a national return's entries and the Bundle itself
ROLE_TYPES = ("Bundle", "Patient", "RelatedPerson", "Organization", "EpisodeOfCare")


class _Run(Context):
    """A validate() call's state plus whether the Bundle being walked is a national return."""

    __slots__ = ("national",)

    def __init__(self, root: Any) -> None:
        super().__init__(root=root)
        self.national = False


class Validator:
    """Validates resources and Bundles against FHIR R4 core and a guide's profiles; thread-safe."""

    def __init__(
        self,
        store: DefinitionStore,
        native_fast_paths: bool = True,
        *,
        role_profiles: bool = True,
        unknown_profiles: str = "error",
        unknown_extensions: str | Iterable[str] = "error",
        specialised_walker: bool = True,
    ) -> None:
        """``native_fast_paths=False``: every invariant but ele-1/ext-1 through fhirpathpy (slower).
        ``specialised_walker=False``: the generic walker (``engine.Walker``) instead of the one specialised
        per structure (``walker_plans.py``); same outcomes, slower (the equivalence tests compare them).

        ``role_profiles=False`` is plain-R4 mode: no national-return role profiles or rules, only what a
        resource declares (or a given profile) and R4 core. ``unknown_profiles="warning"`` reports a named but
        unloaded profile as a warning instead of an error. ``unknown_extensions``: "error" (the reference
        validator's default; the guide's profiles keep their documented warning), "warning", or URL prefixes
        whose extensions are allowed (extension_policy.py).
        """
        if unknown_profiles not in ("error", "warning"):
            raise ValueError(f"unknown_profiles must be 'error' or 'warning', not {unknown_profiles!r}")
        self.store = store
        self.role_profiles = role_profiles
        self.unknown_profile_severity = ERROR if unknown_profiles == "error" else WARNING
        self.compiler = Compiler(store, native_fast_paths)
        self.terminology = Terminology(store)
        policy = ExtensionPolicy.of(unknown_extensions)
        rules = {"StructureDefinition": self._check_structure_definition}
        walker = SpecialisedWalker if specialised_walker else Walker
        self.walker = walker(self.compiler, self.terminology, self._dispatch, policy, rules)
        self._vital_signs = vital_signs_codes(store)
        self._profiles_by_alias: dict[str, str] = {}
        for sd in store.by_type("StructureDefinition"):
            url = sd.get("url")
            if isinstance(url, str):
                for alias in (url, sd.get("id"), sd.get("name")):
                    if isinstance(alias, str):
                        self._profiles_by_alias.setdefault(alias, url)
        #: resource type -> the profiles every loaded guide's ImplementationGuide.global puts on it
        self._global_profiles: dict[str, list[str]] = {}
        for guide in store.by_type("ImplementationGuide"):
            for entry in guide.get("global") or []:
                if isinstance(entry, dict) and isinstance(entry.get("type"), str):
                    profiles = self._global_profiles.setdefault(entry["type"], [])
                    profile = entry.get("profile")
                    if isinstance(profile, str) and profile not in profiles:
                        profiles.append(profile)

    @classmethod
    def from_package(cls, path: str | Path) -> Validator:
        """A validator for the guide in a FHIR NPM package (``.tgz`` or unpacked folder) over R4 core."""
        return cls(DefinitionStore(core_package_dir(), resolve_sources([Path(path)])))

    @classmethod
    def from_packages(
        cls,
        *sources: str | Path,
        builtin_guide: bool = True,
        role_profiles: bool = True,
        unknown_profiles: str = "error",
        unknown_extensions: str | Iterable[str] = "error",
    ) -> Validator:
        """R4 core, this project's guide (unless ``builtin_guide=False``) and each source, with dependencies.

        A source is a package folder, a ``.tgz``, a folder of JSON resources or ``name#version`` from the
        FHIR package cache; the dependencies in its ``package.json`` are read from the cache (``fhir-family
        packages install`` puts them there). Later sources win over earlier ones for the same url.
        """
        core = core_package_dir()
        builtin = guide_sources() if builtin_guide and (core / ".index.json").is_file() else []
        provided = frozenset({PACKAGE_ID} if builtin_guide else ())  # a derived guide depends on the built-in
        if builtin_guide and not builtin:
            builtin = [require_guide_resources_dir()]  # R4 core is missing: the store's error names it first
        store = DefinitionStore(core, [*builtin, *resolve_sources(sources, provided)])
        return cls(
            store,
            role_profiles=role_profiles,
            unknown_profiles=unknown_profiles,
            unknown_extensions=unknown_extensions,
        )

    def warm_up(self, samples: Iterable[Any] = ()) -> None:
        """Compile every guide profile now and build the walker's plans for this guide's own profiles and the
        role types, then validate each sample (what only an input reaches: data-type structures, object
        shapes, value-set expansions), so the first request does not pay 4-10 ms for them. A sample's outcome
        is not kept. Plans for the other loaded profiles (UK Core's 139) are built on first use: ~700 objects
        each that every full garbage collection would walk."""
        urls = sorted(set(self._profiles_by_alias.values()))
        for url in urls:
            self.compiler.structure(url)
        prepare = getattr(self.walker, "prepare", None)  # the generic walker has nothing to build
        if prepare is not None:
            own = [url for url in urls if url.startswith(CANONICAL + "/")]
            for name in [*own, *ROLE_TYPES]:
                structure = self.compiler.structure(name)
                if structure is not None:
                    prepare(structure)
        for sample in samples:
            self.issues(sample)

    # -- public API --------------------------------------------------------------------------------

    def validate(self, resource: dict[str, Any], profile: str | None = None) -> dict[str, Any]:
        """The OperationOutcome for ``resource`` (a Bundle or one resource), optionally for ``profile``."""
        return operation_outcome(self.issues(resource, profile))

    def issues(self, resource: Any, profile: str | None = None) -> list[Issue]:
        """The issues as ``Issue`` objects (what ``validate`` renders).

        A defect in the validator must not become an HTTP 500 or let the input pass: an unexpected exception
        is reported as an error issue ``FF-INTERNAL`` (a fuzz test asserts it never happens on damaged
        examples).
        """
        try:
            return self._issues(resource, profile)
        except Exception as exc:  # noqa: BLE001 - the boundary that keeps a defect (or a broken definition,
            detail = f"{type(exc).__name__}: {exc}"  # DefinitionError) from becoming a 500
        return [
            Issue(
                severity=ERROR,
                code=IssueType.EXCEPTION,
                diagnostics=f"the validator could not complete on this input ({detail})",
                expression=None,
                message_id=msg.INTERNAL,
            )
        ]

    def _issues(self, resource: Any, profile: str | None) -> list[Issue]:
        if not isinstance(resource, dict):
            return [
                Issue(
                    severity=ERROR,
                    code=IssueType.STRUCTURE,
                    diagnostics=f"a FHIR resource must be a JSON object, found {type(resource).__name__}",
                    expression=None,
                    message_id=msg.NOT_JSON_OBJECT,
                )
            ]
        resource_type = resource.get("resourceType")
        if not self._known_type(resource_type):
            return [self._resource_type_issue(resource_type, None)]
        run = _Run(resource)
        expr = str(resource_type)
        if profile is not None:
            url = self.resolve_profile(profile)
            if url is None:
                return [
                    Issue(
                        severity=ERROR,
                        code=IssueType.NOT_FOUND,
                        diagnostics=f"profile {profile!r} is not known to this validator",
                        expression=None,
                        message_id=msg.PROFILE_UNKNOWN,
                    )
                ]
            profile_type = self.compiler.profile_type(url)
            if profile_type not in (resource_type, "Resource", "DomainResource"):
                return [
                    Issue(
                        severity=ERROR,
                        code=IssueType.STRUCTURE,
                        diagnostics=(
                            f"profile {profile} constrains {profile_type}, but a {resource_type} was given"
                        ),
                        expression=None,
                        message_id=msg.PROFILE_TYPE,
                    )
                ]
            structures = [self._structure(url)]
        else:
            structures = self._structures_for(resource, expr, run, top_level=True)
        structures = self._with_implied(resource, structures)
        if resource_type == "Bundle":
            run.national = self._is_national(resource, structures)
            too_many = _too_many_entries(resource, run.national)
            if too_many is not None:
                return [too_many]
        bundle_done = resource_type != "Bundle"

        def bundle_rules() -> None:
            nonlocal bundle_done
            if not bundle_done:
                bundle_done = True
                has_invariant = any(inv.key == "ff-bun-1" for s in structures for inv in s.invariants)
                conforms = lambda target, url: self.walker.conforms(target, url, run)  # noqa: E731
                check_bundle(resource, expr, run, run.national, has_invariant, conforms)

        for structure in structures:
            self.walker.validate_resource(resource, structure, expr, run, bundle_rules)
        bundle_rules()
        return _dedupe(run.issues)

    def resolve_profile(self, profile: str) -> str | None:
        """A profile's canonical url from its url, id or name (guide) or a core type/profile url."""
        url = self._profiles_by_alias.get(profile)
        if url is not None:
            return url
        sd = self.store.structure_definition(profile)
        return sd.get("url") if sd is not None else None

    # -- profile choice ----------------------------------------------------------------------------

    def _known_type(self, resource_type: Any) -> bool:
        return isinstance(resource_type, str) and self.compiler.is_resource_type(resource_type)

    @staticmethod
    def _resource_type_issue(resource_type: Any, expr: str | None) -> Issue:
        if resource_type is None:
            found = "it has no resourceType"
        elif not isinstance(resource_type, str):
            found = f"its resourceType is not a string ({resource_type!r})"
        else:
            found = f"{resource_type!r} is not an R4 resource type"
        return Issue(
            severity=ERROR,
            code=IssueType.STRUCTURE,
            diagnostics=f"not a FHIR R4 resource: {found}",
            expression=expr,
            message_id=msg.RESOURCE_TYPE,
        )

    def _structure(self, url: str) -> Structure:
        structure = self.compiler.structure(url)
        if structure is None:  # resolve_profile/is_resource_type checked the definition exists
            raise LookupError(f"no StructureDefinition {url}")
        return structure

    def _structures_for(
        self, resource: dict[str, Any], expr: str, run: _Run, top_level: bool
    ) -> list[Structure]:
        resource_type = resource["resourceType"]
        structures: list[Structure] = []
        meta = resource.get("meta")
        declared = meta.get("profile") if isinstance(meta, dict) else None
        if isinstance(declared, list):
            for index, url in enumerate(declared):
                if not isinstance(url, str):
                    continue  # the walk reports the type error
                sd = self.store.structure_definition(url) if ("/" in url or ":" in url) else None
                if sd is None:
                    run.add(
                        self.unknown_profile_severity,
                        IssueType.NOT_FOUND,
                        msg.PROFILE_UNKNOWN,
                        f"profile {url} is not loaded (load the package that defines it), so this resource "
                        "was not checked against it",
                        f"{expr}.meta.profile[{index}]",
                    )
                    continue
                if sd.get("type") != resource_type:
                    run.add(
                        ERROR,
                        IssueType.STRUCTURE,
                        msg.PROFILE_TYPE,
                        f"profile {url} constrains {sd.get('type')}, but this is a {resource_type}",
                        f"{expr}.meta.profile[{index}]",
                    )
                    continue
                structures.append(self._structure(sd["url"]))
        for url in self._global_profiles.get(resource_type, []):
            sd = self.store.structure_definition(url)
            if sd is None or sd.get("type") != resource_type:
                problem = "is not loaded" if sd is None else f"constrains {sd.get('type')}"
                run.add(
                    self.unknown_profile_severity,
                    IssueType.NOT_FOUND,
                    msg.PROFILE_UNKNOWN,
                    f"profile {url}, which a loaded ImplementationGuide puts on every {resource_type} "
                    f"(global), {problem}, so this resource was not checked against it",
                    expr,
                )
            elif all(s.profile_url != sd["url"] for s in structures):
                structures.append(self._structure(sd["url"]))
        if structures:
            return structures
        role = ROLE_PROFILES.get(resource_type) if self.role_profiles else None
        in_return = top_level or run.national
        if role and in_return and (resource_type != "Bundle" or self._looks_national(resource)):
            if self.store.structure_definition(role) is not None:
                return [self._structure(role)]
            if run.national or resource_type == "Bundle":
                run.add(
                    self.unknown_profile_severity,
                    IssueType.NOT_FOUND,
                    msg.PROFILE_UNKNOWN,
                    f"this {resource_type} is part of a national return, so it must conform to {role}, but "
                    "that profile is not loaded, so it was not checked against it",
                    expr,
                )
        return [self._structure(STRUCTURE_DEFINITION_BASE + resource_type)]

    def _check_structure_definition(self, sd: dict[str, Any], expr: str, ctx: Context) -> None:
        check_structure_definition(sd, expr, ctx, self.compiler)

    def _with_implied(self, resource: dict[str, Any], structures: list[Structure]) -> list[Structure]:
        """Add the profiles R4 itself requires by content (vital signs by LOINC code; implied_profiles.py)."""
        implied = implied_profiles(resource, self._vital_signs)
        chosen = {s.profile_url for s in structures}
        return structures + [self._structure(url) for url in implied if url not in chosen]

    @staticmethod
    def _looks_national(bundle: dict[str, Any]) -> bool:
        identifier = bundle.get("identifier")
        return (
            bundle.get("type") == "transaction"
            and isinstance(identifier, dict)
            and identifier.get("system") == SUBMISSION_SYSTEM
        )

    def _is_national(self, bundle: dict[str, Any], structures: list[Structure]) -> bool:
        if not self.role_profiles:
            return False  # plain-R4 mode: no national-return rules either
        return any(s.profile_url == NATIONAL_RETURN_BUNDLE for s in structures) or self._looks_national(
            bundle
        )

    def _dispatch(self, resource: Any, expr: str, ctx: Context, profiles: tuple[str, ...] = ()) -> None:
        """A resource met inside another (Bundle.entry.resource, contained): pick its profile and walk it,
        plus the profiles the containing element's type names (``Bundle.entry:x.resource`` of a profile)."""
        assert isinstance(ctx, _Run)
        resource_type = resource.get("resourceType")
        if not self._known_type(resource_type):
            issue = self._resource_type_issue(resource_type, expr)
            ctx.add(issue.severity, issue.code, msg.RESOURCE_TYPE, issue.diagnostics, expr)
            return
        outer = ctx.national
        if resource_type == "Bundle":
            ctx.national = False  # a nested Bundle is not the national return itself
        chosen = self._structures_for(resource, expr, ctx, top_level=False)
        for structure in self._with_implied(resource, chosen):
            self.walker.validate_resource(resource, structure, expr, ctx)
        if profiles:
            already = {s.profile_url for s in chosen}
            check_required_profiles(self.walker, resource, expr, ctx, profiles, already)
        ctx.national = outer


def _too_many_entries(bundle: dict[str, Any], national: bool) -> Issue | None:
    """The one issue for a Bundle over its entry limit (``fhir_family.limits``), checked before anything
    else: the work per entry is bounded, the number of entries must be too, so a huge Bundle is refused in
    milliseconds instead of validated for minutes."""
    entries = bundle.get("entry")
    limit = MAX_RETURN_ENTRIES if national else MAX_BUNDLE_ENTRIES
    if not isinstance(entries, list) or len(entries) <= limit:
        return None
    if national:
        what = (f"a national return holds at most {limit} entries (a patient, an organisation, an episode of "
                f"care and at most {MAX_CHILDREN} children)")
    else:
        what = f"a Bundle here holds at most {limit} entries"
    return Issue(
        severity=ERROR,
        code=IssueType.TOO_COSTLY,
        diagnostics=f"Bundle has {len(entries)} entries; {what}: not validated further",
        expression="Bundle.entry",
        message_id=msg.TOO_MANY_ENTRIES,
    )


def _dedupe(issues: list[Issue]) -> list[Issue]:
    """Validating against several declared profiles can find the same fault twice; report it once."""
    seen = set()
    unique = []
    for issue in issues:
        key = (issue.severity, issue.code, issue.expression, issue.message_id, issue.diagnostics)
        if key not in seen:
            seen.add(key)
            unique.append(issue)
    return unique


_DEFAULT: Validator | None = None
_DEFAULT_LOCK = threading.Lock()


def guide_example_returns() -> list[Any]:
    """The guide's example national returns (``examples/bundles``, shipped in the wheel), parsed: what
    ``default_validator`` validates once at load, so a worker's first request finds everything built."""
    folder = examples_dir() / "bundles"
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]


def default_validator() -> Validator:
    """The process-wide validator for R4 core plus this project's guide, loaded and compiled once."""
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                validator = Validator(DefinitionStore.default())
                validator.warm_up(guide_example_returns())
                _DEFAULT = validator
    return _DEFAULT
