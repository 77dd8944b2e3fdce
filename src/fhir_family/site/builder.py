"""Builds the guide's readable pages: one flat folder of HTML, the stylesheet and the package tarball.

Everything is generated from the same sources as the package (the guide's JSON, the examples, the docs) and
every example is run through the project's validator, so the pages show what the validator really says. The
folder is flat and every link is relative, so it works from any static host, from a file system, and under the
facade's ``/ig/`` prefix alike.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from fhir_family import messages as msg

from ..conformance.compiler import Compiler
from ..conformance.packages import DefinitionStore, read_guide_source
from ..conformance.terminology import Terminology
from ..conformance.xml_writer import XmlWriter
from ..errors import FhirFamilyError
from ..guide import core_package_dir, examples_dir, guide_dependency_dirs, guide_resources_dir
from ..guide import docs_dir as docs_dir_default
from ..guide.package import (
    GuideMetadata,
    PackageContents,
    collect,
    deterministic_tgz,
    json_bytes,
    package_files,
    read_metadata,
    valid_example_paths,
)
from ..outcome import message_id, operation_outcome
from ..validation import LazyValidator, Validator
from .code_tables import concept_map_rows, concept_rows, expand
from .diagram import build_diagram
from .elements import element_rows
from .markdown import doc_page_name, render_markdown
from .payload_fields import field_rows, schema_paths
from .vendor_pages import R4_SPEC, artifact_groups, dependencies, search_index_js, spec_link

Resource = dict[str, Any]
STATIC_FILES = ("style.css", "favicon.svg", "search.js")
#: Docs rendered as pages, in the order the mapping page lists them (others follow by name).
DOC_ORDER = ("guide", "payload", "hl7v2", "facade", "ehr-examples", "model", "changelog")


class SiteBuildError(FhirFamilyError):
    """A source of the pages (an example, an expected outcome, a schema) cannot be read."""

    message_id = msg.SITE_BUILD


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SiteBuildError(f"{path} is not readable JSON ({exc})") from exc


@dataclass
class ExampleInfo:
    """One example bundle, what the validator said about it, and (for invalid ones) what it should say."""

    stem: str
    page: str
    valid: bool
    resource: Resource
    outcome: Resource
    description: str = ""
    expected: list[dict[str, Any]] = field(default_factory=list)

    @property
    def download(self) -> str:
        """The example's JSON file beside its page."""
        return self.page.removesuffix(".html") + ".json"

    @property
    def issues(self) -> list[dict[str, Any]]:
        return [i for i in self.outcome.get("issue", []) if i.get("severity") != "information"]

    @property
    def error_count(self) -> int:
        return sum(1 for i in self.issues if i.get("severity") in ("error", "fatal"))

    @property
    def warning_count(self) -> int:
        return sum(1 for i in self.issues if i.get("severity") == "warning")

    def expectation_rows(self) -> list[dict[str, Any]]:
        """Expected issues matched against the actual ones by (severity, code, expression)."""
        actual = [_issue_key(i) for i in self.issues]
        rows = []
        for issue in self.expected:
            key = (issue.get("severity"), issue.get("code"), issue.get("expression", ""))
            rows.append({**issue, "found": key in actual})
        return rows

    @property
    def meets_expectation(self) -> bool:
        """Valid: no errors. Invalid: exactly the documented issues."""
        if self.valid:
            return self.error_count == 0
        actual = sorted(_issue_key(i) for i in self.issues)
        wanted = sorted((i.get("severity"), i.get("code"), i.get("expression", "")) for i in self.expected)
        return actual == wanted


def _issue_key(issue: dict[str, Any]) -> tuple[Any, Any, str]:
    return issue.get("severity"), issue.get("code"), (issue.get("expression") or [""])[0]


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _issue_expression(issue: dict[str, Any]) -> str:
    return ", ".join(issue.get("expression", []))


class SiteBuilder:
    """Renders every page of the guide into memory: relative path -> bytes."""

    def __init__(self, guide_dir: Path | None = None, examples_root: Path | None = None,
                 docs_dir: Path | None = None, validator: Validator | None = None,
                 metadata: GuideMetadata | None = None, store: DefinitionStore | None = None) -> None:
        self.guide_dir = guide_dir or guide_resources_dir()
        self.examples_root = examples_root or examples_dir()
        self.docs_dir = docs_dir or docs_dir_default()
        self.metadata = metadata or read_metadata()
        self.store = store or DefinitionStore(core_package_dir(), [*guide_dependency_dirs(), self.guide_dir])
        self._validator = LazyValidator(validator or self._guide_validator)
        self.env = Environment(
            loader=PackageLoader("fhir_family.site", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters["pretty"] = _pretty
        self.env.filters["issue_expression"] = _issue_expression
        self.env.filters["message_id"] = lambda issue: message_id(issue) or ""
        self.xml_writer = XmlWriter(self.store.structure_definition)
        self.env.filters["fhir_xml"] = lambda resource: self.xml_writer.to_xml(resource).decode("utf-8")
        # pages for the guide's own resources only: UK Core, loaded as the profiles' base, has its own pages
        own = {(r.get("resourceType"), r.get("url")) for r in read_guide_source(self.guide_dir)}
        self.resources = [
            r for r in self.store.guide_resources() if (r.get("resourceType"), r.get("url")) in own
        ]
        self.terminology = Terminology(self.store)
        self.pages: dict[str, str] = {}
        self.names: dict[str, str] = {}
        for resource in self.resources:
            url = resource.get("url")
            if isinstance(url, str) and resource.get("id"):
                self.pages[url] = f"{resource['resourceType']}-{resource['id']}.html"
                self.names[url] = resource.get("title") or resource.get("name") or resource["id"]

    # -- helpers ---------------------------------------------------------------------------------------

    def _guide_validator(self) -> Validator:
        """The process-wide validator for the project's own guide; a guide elsewhere gets its own."""
        from ..conformance import Validator as GuideValidator
        from ..conformance import default_validator

        if self.guide_dir.resolve() == guide_resources_dir().resolve():
            return default_validator()
        return GuideValidator.from_package(self.guide_dir)

    def _outcome(self, resource: Resource) -> Resource:
        return operation_outcome(self._validator.issues(resource))

    def link(self, url: str) -> str | None:
        """The page of a canonical url this guide defines (None: not ours)."""
        return self.pages.get(url.split("|", 1)[0])

    def of_type(self, resource_type: str) -> list[Resource]:
        found = [r for r in self.resources if r.get("resourceType") == resource_type]
        return sorted(found, key=lambda r: (r.get("title") or r.get("name") or r.get("id", "")).lower())

    @property
    def profiles(self) -> list[Resource]:
        return [sd for sd in self.of_type("StructureDefinition") if sd.get("type") != "Extension"]

    @property
    def extensions(self) -> list[Resource]:
        return [sd for sd in self.of_type("StructureDefinition") if sd.get("type") == "Extension"]

    def _render(self, template: str, **context: Any) -> bytes:
        nav = [
            ("index.html", "Home"),
            ("profiles.html", "Profiles"),
            ("terminology.html", "Terminology"),
            ("examples.html", "Examples"),
            ("mapping.html", "Mapping EHR feeds"),
            ("download.html", "Download"),
            ("artifacts.html", "Artifacts"),
            ("search.html", "Search"),
        ]
        html = self.env.get_template(template).render(
            meta=self.metadata, nav=nav, link=self.link, names=self.names, r4_spec=R4_SPEC,
            spec_link=spec_link, **context
        )
        return html.encode("utf-8")

    # -- data ------------------------------------------------------------------------------------------

    def examples(self) -> list[ExampleInfo]:
        """The valid bundles and the invalid ones with their expected outcome, each validated now."""
        # Each valid example's one-sentence situation, written once, beside the record it describes.
        from ..guide.examples.valid import VALID_EXAMPLES

        found = []
        for path in valid_example_paths(self.examples_root):
            resource = _read_json(path)
            situation = VALID_EXAMPLES[path.stem][0] if path.stem in VALID_EXAMPLES else ""
            found.append(ExampleInfo(path.stem, f"example-{path.stem}.html", True, resource,
                                     self._outcome(resource), situation))
        invalid_dir = self.examples_root / "invalid"
        for path in sorted(invalid_dir.glob("*.json")):
            if path.name.endswith(".expected.json"):
                continue
            resource = _read_json(path)
            expected_path = path.with_name(f"{path.stem}.expected.json")
            expected = {}
            if expected_path.is_file():
                expected = _read_json(expected_path)
            found.append(ExampleInfo(path.stem, f"invalid-{path.stem}.html", False, resource,
                                     self._outcome(resource), expected.get("description", ""),
                                     expected.get("issues", [])))
        return found

    def doc_sources(self) -> dict[str, Path]:
        """stem -> Markdown file: every doc in docs/ plus the EHR examples' README."""
        sources = {p.stem: p for p in sorted(self.docs_dir.glob("*.md"))} if self.docs_dir.is_dir() else {}
        ehr_readme = self.examples_root / "ehr" / "README.md"
        if ehr_readme.is_file():
            sources["ehr-examples"] = ehr_readme
        return sources

    def docs(self) -> list[tuple[str, str, str]]:
        """(stem, title, html) of every Markdown doc, in reading order."""
        sources = self.doc_sources()
        rank = {stem: position for position, stem in enumerate(DOC_ORDER)}
        rendered = []
        for stem in sorted(sources, key=lambda stem: (rank.get(stem, len(rank)), stem)):
            text = sources[stem].read_text(encoding="utf-8")
            title = next((line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("# ")),
                         stem)
            rendered.append((stem, title, render_markdown(text, set(sources))))
        return rendered

    def hl7_field_tables(self) -> str:
        """The HL7 v2 field table and the Z-segments (docs/payload.md section 2, their one home), as HTML for
        the mapping page, so a vendor reads them where the mapping is described."""
        sources = self.doc_sources()
        payload = sources.get("payload")
        if payload is None:
            return ""
        text = payload.read_text(encoding="utf-8")
        match = re.search(r"^## \d+\. HL7 v2.*?$(.*?)(?=^## )", text, flags=re.S | re.M)
        return render_markdown(match.group(1), set(sources)) if match else ""

    def ehr_samples(self) -> dict[str, str]:
        """One sample input per EHR format (the first valid, non-edge-case file), as text."""
        samples = {}
        for folder, suffix in (("json", ".json"), ("hl7v2", ".hl7")):
            candidates = sorted(p for p in (self.examples_root / "ehr" / folder).glob(f"*{suffix}")
                                if not p.name.startswith(("invalid", "edge")) and ".expected." not in p.name)
            if candidates:
                text = candidates[0].read_text(encoding="utf-8")
                samples[folder] = text.replace("\r\n", "\n").replace("\r", "\n")
        return samples

    def usages(self) -> dict[str, list[tuple[str, str]]]:
        """canonical url -> [(profile url, element id)] where a profile uses it (extension, binding, ref)."""
        used: dict[str, list[tuple[str, str]]] = {}
        for sd in self.of_type("StructureDefinition"):
            for element in sd.get("differential", {}).get("element", []):
                urls = [element.get("binding", {}).get("valueSet", "")]
                for type_ in element.get("type", []):
                    urls += type_.get("profile", []) + type_.get("targetProfile", [])
                for url in urls:
                    if url and self.link(url):
                        entry = (sd["url"], element.get("id", element.get("path", "")))
                        if entry not in used.setdefault(url.split("|", 1)[0], []):
                            used[url.split("|", 1)[0]].append(entry)
        return used

    # -- pages -----------------------------------------------------------------------------------------

    def build(self) -> dict[str, bytes]:
        """Every file of the site: relative path -> bytes."""
        files: dict[str, bytes] = {}
        contents, package = self._package(files)
        for name in STATIC_FILES:
            files[name] = (Path(__file__).parent / "static" / name).read_bytes()
        usages = self.usages()
        examples = self.examples()
        diagram = build_diagram(self.of_type("StructureDefinition"), self.link, self.names)
        files["index.html"] = self._render(
            "index.html.j2", page="index.html", title="Home", diagram=diagram, profiles=self.profiles,
            extensions=self.extensions, package=package, examples=examples,
        )
        files["profiles.html"] = self._render(
            "profiles.html.j2", page="profiles.html", title="Profiles and extensions", profiles=self.profiles,
            extensions=self.extensions,
        )
        snapshots = {r["url"]: r.get("snapshot", {}).get("element", []) for r in contents.resources.values()
                     if r.get("resourceType") == "StructureDefinition"}
        files.update(self._structure_pages(usages, examples, snapshots))
        files.update(self._terminology_pages(usages))
        files.update(self._example_pages(examples))
        files.update(self._mapping_pages())
        files["download.html"] = self._render(
            "download.html.j2", page="download.html", title="Download the package", package=package,
            resources=[(f"package/{name}", contents.resources[name]) for name in sorted(contents.resources)],
            examples=[(f"package/examples/{name}", _example_for(resource, examples))
                      for name, resource in sorted(contents.examples.items())],
        )
        files.update(self._vendor_pages(files))
        return files

    def _vendor_pages(self, files: dict[str, bytes]) -> dict[str, bytes]:
        """Artifacts, dependencies, licences, not-found, and the search over every page built so far."""
        pages = {
            "artifacts.html": self._render("artifacts.html.j2", page="artifacts.html", title="Artifacts",
                                           groups=artifact_groups(self.resources, self.link),
                                           changelog=_changelog_page(files)),
            "dependencies.html": self._render("dependencies.html.j2", page="dependencies.html",
                                              title="Dependencies", deps=dependencies(self.metadata),
                                              spec=R4_SPEC),
            "licence.html": self._render("licence.html.j2", page="licence.html", title="Licences"),
            "404.html": self._render("404.html.j2", page="404.html", title="Page not found"),
        }
        indexed = {**files, **pages}
        pages["search-index.js"] = search_index_js(indexed)
        count = sum(1 for name in indexed if name.endswith(".html") and name != "404.html")
        pages["search.html"] = self._render("search.html.j2", page="search.html", title="Search", count=count)
        return pages

    def _package(self, files: dict[str, bytes]) -> tuple[PackageContents, dict[str, Any]]:
        """The NPM package tarball and each packaged resource (with its snapshot), for vendors' tools."""
        contents = collect(self.guide_dir, self.examples_root, self.metadata)
        tarball = deterministic_tgz(package_files(contents))
        files[contents.metadata.tarball_name] = tarball
        for name, resource in contents.resources.items():
            files[name] = json_bytes(resource)
            files[name.removesuffix(".json") + ".xml"] = self.xml_writer.to_xml(resource)
        package = {"name": contents.metadata.tarball_name, "size": len(tarball),
                   "sha256": hashlib.sha256(tarball).hexdigest()}
        return contents, package

    def _structure_pages(self, usages: dict[str, list[tuple[str, str]]], examples: list[ExampleInfo],
                         snapshots: dict[str, list[dict[str, Any]]]) -> dict[str, bytes]:
        """One page per profile and extension: its element table, constraints, users and examples."""
        compiler = Compiler(self.store)
        summaries = {r["url"]: _first_sentence(r.get("description") or self.names[r["url"]])
                     for r in self.of_type("StructureDefinition")}
        files = {}
        for sd in self.of_type("StructureDefinition"):
            rows = element_rows(sd, self.store, self.link, self.names, compiler, summaries)
            constraints: dict[str, tuple[dict[str, str], list[str]]] = {}
            for row in rows:
                for constraint in row.constraints:
                    constraints.setdefault(constraint["key"], (constraint, []))[1].append(row.element_id)
            files[self.pages[sd["url"]]] = self._render(
                "structuredefinition.html.j2", page=self.pages[sd["url"]], title=self.names[sd["url"]], sd=sd,
                rows=rows, constraints=list(constraints.values()), used_by=usages.get(sd["url"], []),
                base_label=self.names.get(sd.get("baseDefinition", ""))
                or f"{sd.get('baseDefinition', '').rsplit('/', 1)[-1]} (FHIR R4 core)",
                examples=[e for e in examples if _uses_profile(e.resource, sd["url"])],
                differential=sd.get("differential", {}).get("element", []),
                snapshot=snapshots.get(sd["url"], []),
            )
        return files

    def _terminology_pages(self, usages: dict[str, list[tuple[str, str]]]) -> dict[str, bytes]:
        """The terminology index and one page per CodeSystem, ValueSet, ConceptMap (and the IG resource)."""
        files = {"terminology.html": self._render(
            "terminology.html.j2", page="terminology.html", title="Terminology",
            code_systems=self.of_type("CodeSystem"), value_sets=self.of_type("ValueSet"),
            concept_maps=self.of_type("ConceptMap"),
        )}
        for cs in self.of_type("CodeSystem"):
            page = self.pages[cs["url"]]
            value_sets = [vs for vs in self.of_type("ValueSet")
                          if any(part.get("system") == cs["url"]
                                 for part in vs.get("compose", {}).get("include", []))]
            files[page] = self._render("codesystem.html.j2", page=page, title=self.names[cs["url"]], cs=cs,
                                       concepts=concept_rows(cs), value_sets=value_sets)
        for vs in self.of_type("ValueSet"):
            page = self.pages[vs["url"]]
            expansion = expand(vs, self.store, self.terminology)
            files[page] = self._render("valueset.html.j2", page=page, title=self.names[vs["url"]], vs=vs,
                                       expansion=expansion, used_by=usages.get(vs["url"], []))
        for cm in self.of_type("ConceptMap"):
            page = self.pages[cm["url"]]
            files[page] = self._render("conceptmap.html.j2", page=page, title=self.names[cm["url"]], cm=cm,
                                       rows=concept_map_rows(cm, self.store))
        for resource in self.of_type("ImplementationGuide"):
            page = self.pages[resource["url"]]
            files[page] = self._render("resource.html.j2", page=page, title=self.names[resource["url"]],
                                       resource=resource)
        return files

    def _example_pages(self, examples: list[ExampleInfo]) -> dict[str, bytes]:
        """The examples index, and each example's page beside its JSON download."""
        files = {"examples.html": self._render("examples.html.j2", page="examples.html", title="Examples",
                                               examples=examples)}
        for example in examples:
            files[example.download] = json_bytes(example.resource)
            files[example.download.removesuffix(".json") + ".xml"] = self.xml_writer.to_xml(example.resource)
            files[example.page] = self._render("example.html.j2", page=example.page, title=example.stem,
                                               example=example)
        return files

    def _mapping_pages(self) -> dict[str, bytes]:
        """The EHR mapping page with the payload schemas (also downloadable), and one page per doc."""
        files = {}
        docs = self.docs()
        schemas = []
        for path in schema_paths():
            schema = _read_json(path)
            files[path.name] = path.read_bytes()
            schemas.append({"file": path.name, "title": schema.get("title", path.name),
                            "description": schema.get("description", ""), "rows": field_rows(schema)})
        files["mapping.html"] = self._render(
            "mapping.html.j2", page="mapping.html", title="Mapping EHR feeds", docs=docs,
            doc_page=doc_page_name, concept_maps=self.of_type("ConceptMap"), schemas=schemas,
            samples=self.ehr_samples(), hl7_fields=self.hl7_field_tables(),
        )
        for stem, title, html in docs:
            files[doc_page_name(stem)] = self._render("doc.html.j2", page=doc_page_name(stem), title=title,
                                                      body=html)
        return files


def _changelog_page(files: dict[str, bytes]) -> str | None:
    """The change log's page (docs/changelog.md becomes ``doc-changelog.html``), when one was built."""
    name = doc_page_name("changelog")
    return name if name in files else None


def _first_sentence(text: str, limit: int = 120) -> str:
    """The first sentence, cut at a word boundary when it is long (an element table cell, not a page)."""
    head, dot, _rest = text.partition(". ")
    sentence = head + "." if dot else text
    if len(sentence) <= limit:
        return sentence
    return sentence[:limit].rsplit(" ", 1)[0].rstrip(",;:(") + " …"


def _example_for(resource: Resource, examples: list[ExampleInfo]) -> ExampleInfo | None:
    return next((example for example in examples if example.resource == resource), None)


def _uses_profile(resource: Resource, url: str) -> bool:
    """True when the resource names the canonical anywhere (meta.profile of an entry, an extension's url)."""
    return json.dumps(url) in json.dumps(resource)


def write_site(out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    """Write the built files into ``out_dir`` (created if needed); returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in sorted(files):
        target = out_dir / name
        target.write_bytes(files[name])
        written.append(target)
    return written


def build_site(out_dir: Path, builder_factory: Callable[[], SiteBuilder] = SiteBuilder) -> list[Path]:
    """Build every page of the guide into ``out_dir``."""
    return write_site(out_dir, builder_factory().build())
