"""The guide's HTML pages, without a browser: what each page must say (element tables, constraints, codes,
maps, examples with their validation results, the payload contract), that it is escaped, accessible and
self-contained, and that the pages command and the facade's /ig/ blueprint serve the same files."""

from __future__ import annotations

import html
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag

import pytest
from click.testing import CliRunner
from flask import Flask

from fhir_family.cli import main
from fhir_family.conformance import default_validator
from fhir_family.conformance.packages import DefinitionStore
from fhir_family.errors import FhirFamilyError
from fhir_family.guide import examples_dir, guide_resources_dir
from fhir_family.guide.package import build_package_bytes, valid_example_paths
from fhir_family.site import blueprint as ig_blueprint
from fhir_family.site.builder import SiteBuilder
from fhir_family.site.code_tables import concept_rows, expand
from fhir_family.site.elements import parent_id
from fhir_family.site.markdown import render_markdown
from fhir_family.site.payload_fields import field_rows, schema_paths

GUIDE = {r["url"]: r for r in (json.loads(p.read_text()) for p in guide_resources_dir().glob("*.json"))}
SDS = [r for r in GUIDE.values() if r["resourceType"] == "StructureDefinition"]


def _page(resource: dict) -> str:
    return f"{resource['resourceType']}-{resource['id']}.html"


class _Page(HTMLParser):
    """Collects what the accessibility and link checks need from one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: dict[str, str] = {}
        self._row: str | None = None
        self._row_text: list[str] = []
        self.pre_text: list[str] = []
        self._in_pre = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "tr" and attributes.get("id"):
            self._row, self._row_text = attributes["id"], []
        if tag == "pre":
            self._in_pre = True
            self.pre_text.append("")
        if self._row is not None and tag == "a":
            self._row_text.append(f" [href={attributes.get('href')}] ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self._row is not None:
            self.rows[self._row] = " ".join("".join(self._row_text).split())
            self._row = None
        if tag == "pre":
            self._in_pre = False

    def handle_data(self, data: str) -> None:
        if self._row is not None:
            self._row_text.append(data)
        if self._in_pre:
            self.pre_text[-1] += data

    def count(self, tag: str) -> int:
        return sum(1 for name, _ in self.tags if name == tag)


def parse(data: bytes) -> _Page:
    page = _Page()
    page.feed(data.decode("utf-8"))
    return page


@pytest.fixture(scope="module")
def files(built_site: dict[str, bytes]) -> dict[str, bytes]:
    return built_site


def test_every_guide_resource_has_a_page(files: dict[str, bytes]) -> None:
    for resource in GUIDE.values():
        assert _page(resource) in files, resource["url"]


@pytest.mark.parametrize("name", ["index.html", "profiles.html", "terminology.html", "examples.html",
                                  "mapping.html", "download.html"])
def test_navigation_pages_exist(files: dict[str, bytes], name: str) -> None:
    assert name in files


def test_pages_are_accessible_and_self_contained(files: dict[str, bytes]) -> None:
    for name, data in files.items():
        if not name.endswith(".html"):
            continue
        text = data.decode("utf-8")
        page = parse(data)
        assert text.startswith("<!doctype html>"), name
        assert ("html", {"lang": "en-GB"}) in page.tags, name
        assert page.count("h1") == 1, f"{name}: one h1 per page"
        assert page.count("main") == 1, name
        # Only the search page runs a script, from files beside it (no inline code, nothing from elsewhere).
        scripts = [attrs for tag, attrs in page.tags if tag == "script"]
        if name == "search.html":
            assert [attrs.get("src") for attrs in scripts] == ["search-index.js", "search.js"], scripts
        else:
            assert scripts == [], f"{name}: pages other than search need no script"
        assert page.count("table") <= page.count("thead") + sum(
            1 for tag, attrs in page.tags if tag == "table" and "meta" in (attrs.get("class") or "")), name
        for tag, attrs in page.tags:
            for attribute in ("href", "src"):
                target = attrs.get(attribute)
                if not target or tag == "a" and target.startswith(("http://", "https://", "mailto:")):
                    continue
                absolute = target.startswith(("/", "http:", "https:", "//"))
                assert not absolute, f"{name}: {target} is not relative"
                path, _fragment = urldefrag(target)
                assert path == "" or path in files, f"{name}: {target} does not exist"


def _ids(data: bytes) -> set[str]:
    return {attrs["id"] for _tag, attrs in parse(data).tags if attrs.get("id")}


def test_fragment_links_point_at_existing_ids(files: dict[str, bytes]) -> None:
    for name, data in files.items():
        if not name.endswith(".html"):
            continue
        for _tag, attrs in parse(data).tags:
            href = attrs.get("href") or ""
            path, fragment = urldefrag(href)
            if fragment and not href.startswith("http"):
                assert fragment in _ids(files[path or name]), f"{name}: {href}"


def test_dependent_child_element_table(files: dict[str, bytes]) -> None:
    rows = parse(files["StructureDefinition-dependent-child.html"]).rows
    assert "1..1" in rows["RelatedPerson.relationship"]
    assert "ValueSet-dependent-child-relationship.html" in rows["RelatedPerson.relationship"]
    assert "required" in rows["RelatedPerson.relationship"]
    assert "0..0" in rows["RelatedPerson.name"]
    assert "1..1" in rows["RelatedPerson.birthDate"]
    assert "StructureDefinition-parent-patient.html" in rows["RelatedPerson.patient"]
    assert "ff-nhs-1" in rows["RelatedPerson.identifier:nhsNumber"]
    assert "https://fhir.nhs.uk/Id/nhs-number" in rows["RelatedPerson.identifier:nhsNumber.system"]
    assert "StructureDefinition-young-carer.html" in rows["RelatedPerson.extension:youngCarer"]
    # Inherited base elements are shown too, so the table reads as the whole resource.
    assert "RelatedPerson.active" in rows


def test_prohibited_rows_are_marked(files: dict[str, bytes]) -> None:
    page = parse(files["StructureDefinition-parent-patient.html"])
    classes = {attrs["id"]: attrs.get("class", "") for tag, attrs in page.tags
               if tag == "tr" and attrs.get("id")}
    for element in ("Patient.name", "Patient.telecom", "Patient.address", "Patient.contact"):
        assert "prohibited" in classes[element], element
    assert "prohibited" not in classes["Patient.birthDate"]


def test_nested_extension_elements_get_their_base_from_the_narrowed_type(files: dict[str, bytes]) -> None:
    rows = parse(files["StructureDefinition-reporting-period.html"]).rows
    start = rows["Extension.value[x].start"]
    assert "1..1" in start and "dateTime" in start


def _constraints() -> list[tuple[str, str, str]]:
    found = []
    for sd in SDS:
        for element in sd.get("differential", {}).get("element", []):
            for constraint in element.get("constraint", []):
                found.append((_page(sd), constraint["key"], constraint["human"]))
    return sorted(set(found))


@pytest.mark.parametrize(("page", "key", "human"), _constraints())
def test_every_guide_constraint_is_shown_with_its_human_text(files: dict[str, bytes], page: str, key: str,
                                                            human: str) -> None:
    text = files[page].decode("utf-8")
    assert f"constraint-{key}" in text
    assert human in html.unescape(text)


def test_every_invariant_of_the_contract_appears_somewhere(files: dict[str, bytes]) -> None:
    keys = {key for _page_name, key, _human in _constraints()}
    contract = {"ff-nhs-1", "ff-ods-1", "ff-pr-1", "ff-ps-1", "ff-bun-1", "ff-bun-2", "ff-bun-3", "ff-bun-4"}
    assert contract <= keys


def test_home_page_diagram_shows_every_profile_and_extension(files: dict[str, bytes]) -> None:
    text = files["index.html"].decode("utf-8")
    svg = text[text.index("<svg"): text.index("</svg>")]
    assert 'role="img"' in svg
    for sd in SDS:
        assert f'href="{_page(sd)}"' in svg, sd["id"]
    rows = re.findall(r"<tr>\s*<td><a href=\"([^\"]+)\">.*?</td>\s*<td class=\"nowrap\"><code>([^<]+)</code>"
                      r"</td>\s*<td>([^<]+)</td>\s*<td><a href=\"([^\"]+)\">", text, re.S)
    expected = set()
    for sd in SDS:
        for element in sd.get("differential", {}).get("element", []):
            # the guide's own extensions on the resource and its identifiers (UK Core's are not listed; the
            # Bundle's, on meta, have their own rows in the Bundle's table)
            paths = (f"{sd['type']}.extension", f"{sd['type']}.identifier.extension")
            if element.get("sliceName") and element["path"] in paths and element.get("type"):
                for url in (u for u in element["type"][0].get("profile", []) if u in GUIDE):
                    expected.add((_page(sd), f"extension:{element['sliceName']}",
                                  f"{element['min']}..{element['max']}", _page(GUIDE[url])))
    assert set(rows) == expected
    # ParentPatient 2, DependentChild 7 (its NHS number's verification status), the pseudonymised export
    # profiles 2 and 6 (their NHS number slice is gone)
    assert len(expected) == 17


@pytest.mark.parametrize("url", sorted(u for u, r in GUIDE.items() if r["resourceType"] == "CodeSystem"))
def test_code_system_pages_list_every_code(files: dict[str, bytes], url: str) -> None:
    code_system = GUIDE[url]
    rows = parse(files[_page(code_system)]).rows
    for concept in concept_rows(code_system):
        row = rows[f"code-{concept.code}"]
        assert concept.display in row


def test_value_set_expansion_uses_the_core_code_systems() -> None:
    store = DefinitionStore.default()
    expansion = expand(GUIDE["https://fhir-family.uk/fhir/ValueSet/dependent-child-relationship"], store)
    codes = {(row.code, row.display) for row in expansion.rows}
    assert ("CHILD", "child") in codes
    assert "Dependant" in {row.code for row in expansion.rows}
    assert len(expansion.rows) == 30  # 29 v3-RoleCode codes and UK Core's Dependant
    assert expansion.incomplete == []
    child_help = expand(GUIDE["https://fhir-family.uk/fhir/ValueSet/child-help-and-protection"], store)
    assert "unborn-child-protection-plan" not in {row.code for row in child_help.rows}


def test_concept_map_page_shows_each_mapping(files: dict[str, bytes]) -> None:
    concept_map = GUIDE["https://fhir-family.uk/fhir/ConceptMap/v2-0063-to-dependent-child-relationship"]
    text = files[_page(concept_map)].decode("utf-8")
    cells = re.findall(r"<th scope=\"row\"><code>([^<]+)</code></th>.*?<span class=\"badge eq-([a-z]+)\">"
                       r".*?</td><td>.*?</td>"
                       r"<td>(?:<code>([^<]+)</code>|<span class=\"muted\">no map</span>)",
                       text.replace("\n", " "))
    found = {(source, equivalence, target) for source, equivalence, target in cells}
    assert ("CHD", "equivalent", "CHILD") in found
    assert ("WRD", "wider", "Dependant") in found
    mapped = {(e["code"], t["code"]) for g in concept_map["group"] for e in g["element"] for t in e["target"]}
    assert {(s, t) for s, _e, t in found} == mapped


def test_every_example_has_a_page_with_its_json_and_xml(files: dict[str, bytes]) -> None:
    from fhir_family.conformance.packages import DefinitionStore
    from fhir_family.conformance.xml_format import XmlConverter
    from fhir_family.guide import core_package_dir

    reader = XmlConverter(DefinitionStore(core_package_dir(), [guide_resources_dir()]).structure_definition)
    invalid = sorted(p for p in (examples_dir() / "invalid").glob("*.json") if ".expected." not in p.name)
    assert invalid
    pages = [(f"example-{p.stem}", p) for p in valid_example_paths()]
    pages += [(f"invalid-{p.stem}", p) for p in invalid]
    for stem, path in pages:
        page = parse(files[f"{stem}.html"])
        # The JSON, then the same resource as XML (shown, and downloadable beside the JSON).
        assert json.loads(page.pre_text[-2]) == json.loads(path.read_text())
        assert page.pre_text[-1].startswith("<?xml")
        assert f'href="{stem}.xml"'.encode() in files[f"{stem}.html"]
        if stem.startswith("example-"):
            assert reader.parse(files[f"{stem}.xml"], stem) == json.loads(path.read_text())


def test_invalid_example_pages_show_the_validators_issues(files: dict[str, bytes]) -> None:
    validator = default_validator()
    for expected_path in sorted((examples_dir() / "invalid").glob("*.expected.json")):
        stem = expected_path.name.removesuffix(".expected.json")
        text = html.unescape(files[f"invalid-{stem}.html"].decode("utf-8"))
        expected = json.loads(expected_path.read_text())
        for issue in expected["issues"]:
            assert issue["expression"] in text, (stem, issue)
        outcome = validator.validate(json.loads(expected_path.with_name(f"{stem}.json").read_text()))
        actual = sorted((i["severity"], i["code"], (i.get("expression") or [""])[0])
                        for i in outcome["issue"] if i["severity"] != "information")
        for _severity, _code, expression in actual:
            assert expression in text, (stem, expression)
        wanted = sorted((i["severity"], i["code"], i["expression"]) for i in expected["issues"])
        # The page's verdict is the real comparison, whichever way it goes.
        assert ("as documented" in text) == (actual == wanted), stem
        assert ("differs from documentation" in text) == (actual != wanted), stem


def test_valid_example_pages_say_valid(files: dict[str, bytes]) -> None:
    for path in valid_example_paths():
        text = files[f"example-{path.stem}.html"].decode("utf-8")
        assert '<span class="badge ok">valid</span>' in text, path.stem


def test_example_json_is_escaped(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    (examples / "bundles").mkdir(parents=True)
    bundle = json.loads(valid_example_paths()[0].read_text())
    bundle["entry"][0]["resource"]["name"] = "<script>alert('x')</script> & Co"
    (examples / "bundles" / "hostile.json").write_text(json.dumps(bundle))
    built = SiteBuilder(examples_root=examples).build()
    text = built["example-hostile.html"].decode("utf-8")
    assert "<script>" not in text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co" in text


def test_mapping_page_lists_every_payload_field(files: dict[str, bytes]) -> None:
    paths = schema_paths()
    assert paths, "the EHR payload JSON Schema is missing"
    text = files["mapping.html"].decode("utf-8")
    for path in paths:
        assert path.name in files
        for row in field_rows(json.loads(path.read_text())):
            assert f"<code>{row.pointer}</code>" in text
    assert "/children/-/relationship" in text


def test_mapping_page_shows_the_hl7_field_table_and_z_segments(
    files: dict[str, bytes], repo_root: Path
) -> None:
    """The HL7 v2 fields and the ZPS/ZFC segments, from docs/payload.md (their one home), on the mapping page
    itself (issue 14), not only on the doc page it links."""
    text = files["mapping.html"].decode("utf-8")
    v2 = text.split('id="v2"', 1)[1]
    for field in ("NK1-3", "NK1-16", "PID-3", "ZPS", "ZFC-1", "ZFC-2"):
        assert field in v2, field
    assert "<table>" in v2
    source = (repo_root / "docs" / "payload.md").read_text(encoding="utf-8")
    section = source.split("## 2. HL7 v2", 1)[1].split("\n## ", 1)[0]
    assert section.count("\n| ZFC-") == v2.count("<td>ZFC-")


def test_the_artifacts_page_links_the_change_log(files: dict[str, bytes]) -> None:
    assert "doc-changelog.html" in files
    assert 'href="doc-changelog.html"' in files["artifacts.html"].decode("utf-8")


def test_docs_become_pages_with_working_links(files: dict[str, bytes], repo_root: Path) -> None:
    for path in (repo_root / "docs").glob("*.md"):
        assert f"doc-{path.stem}.html" in files
        assert f'href="doc-{path.stem}.html"' in files["mapping.html"].decode("utf-8")


def test_download_page_offers_the_package(files: dict[str, bytes]) -> None:
    metadata, tarball = build_package_bytes()
    assert files[metadata.tarball_name] == tarball
    assert f'href="{metadata.tarball_name}"' in files["download.html"].decode("utf-8")


def test_markdown_is_escaped_and_links_are_kept_inside_the_site() -> None:
    rendered = render_markdown("<b>x</b> [model](model.md#profiles) [code](../src/x.py) [web](https://a.b)",
                               {"model"})
    assert "&lt;b&gt;" in rendered
    assert 'href="doc-model.html#profiles"' in rendered
    assert "../src/x.py" not in rendered and "code" in rendered
    assert 'href="https://a.b"' in rendered


@pytest.mark.parametrize(("element_id", "parent"), [
    ("Patient", None),
    ("Patient.identifier", "Patient"),
    ("Patient.identifier:nhsNumber", "Patient.identifier"),
    ("Patient.identifier:nhsNumber.system", "Patient.identifier:nhsNumber"),
    ("Extension.extension:status.value[x]", "Extension.extension:status"),
])
def test_parent_id(element_id: str, parent: str | None) -> None:
    assert parent_id(element_id) == parent


def test_pages_command_writes_the_site(tmp_path: Path, files: dict[str, bytes]) -> None:
    out = tmp_path / "site"
    result = CliRunner().invoke(main, ["pages", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(files)
    assert (out / "index.html").read_bytes() == files["index.html"]


@pytest.mark.parametrize("how", ["env", "option"])
def test_pages_command_reports_a_missing_guide_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           how: str) -> None:
    args = ["pages", "--out", str(tmp_path / "site")]
    if how == "env":
        monkeypatch.setenv("FHIR_FAMILY_GUIDE", str(tmp_path / "nowhere"))
    else:
        args += ["--guide", str(tmp_path / "nowhere")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.output.startswith("fhir-family pages: ") and len(result.output.strip().splitlines()) == 1
    assert "nowhere" in result.output
    assert not (tmp_path / "site").exists()


def test_pages_for_another_guide_folder(tmp_path: Path) -> None:
    """A vendor's copy of the guide (here: one profile removed) gets pages for exactly what it holds."""
    guide = tmp_path / "guide"
    shutil.copytree(guide_resources_dir(), guide)
    (guide / "StructureDefinition-mental-health-episode.json").unlink()
    built = SiteBuilder(guide_dir=guide).build()
    assert "StructureDefinition-mental-health-episode.html" not in built
    assert "StructureDefinition-parent-patient.html" in built


@pytest.fixture()
def ig_app(monkeypatch: pytest.MonkeyPatch) -> tuple[Flask, list[int]]:
    builds: list[int] = []

    class CountingBuilder(SiteBuilder):
        def build(self) -> dict[str, bytes]:
            builds.append(1)
            return super().build()

    monkeypatch.setattr(ig_blueprint, "SiteBuilder", CountingBuilder)
    app = Flask("test")
    app.config.update(GUIDE_DIR=None, VALIDATOR=None)
    app.register_blueprint(ig_blueprint.blueprint)
    return app, builds


def test_blueprint_serves_the_pages_built_once(ig_app: tuple[Flask, list[int]],
                                               files: dict[str, bytes]) -> None:
    app, builds = ig_app
    client = app.test_client()
    redirect = client.get("/ig")
    assert redirect.status_code == 308 and redirect.headers["Location"].endswith("/ig/")
    index = client.get("/ig/")
    assert index.status_code == 200 and index.mimetype == "text/html"
    assert index.data == files["index.html"]
    css = client.get("/ig/style.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    name = next(n for n in files if n.endswith(".tgz"))
    tarball = client.get(f"/ig/{name}")
    assert tarball.mimetype == "application/gzip" and tarball.data == files[name]
    missing = client.get("/ig/no-such-page.html")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert missing.data == files["404.html"] and b'href="search.html"' in missing.data
    assert client.get("/ig/../pyproject.toml").status_code == 404
    assert builds == [1]


def test_facade_serves_the_guide_pages() -> None:
    from fhir_family.facade.app import create_app

    client = create_app({"TESTING": True}).test_client()
    response = client.get("/ig/StructureDefinition-parent-patient.html")
    assert response.status_code == 200
    assert b"Parent patient" in response.data or b"ParentPatient" in response.data
    missing = client.get("/ig/missing.html")
    assert missing.status_code == 404


def test_a_broken_example_is_a_clear_error(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    (examples / "bundles").mkdir(parents=True)
    (examples / "bundles" / "broken.json").write_text('{"resourceType": "Bundle",')
    with pytest.raises(FhirFamilyError, match="broken.json is not readable JSON"):
        SiteBuilder(examples_root=examples).build()
    (examples / "bundles" / "broken.json").unlink()
    (examples / "invalid").mkdir()
    (examples / "invalid" / "broken.json").write_text("[")
    with pytest.raises(FhirFamilyError, match="broken.json is not readable JSON"):
        SiteBuilder(examples_root=examples).build()


def test_only_the_guides_own_constraints_are_listed(files: dict[str, bytes]) -> None:
    """Core invariants (bdl-5 on Bundle.entry, ele-1 everywhere) are inherited, not the guide's rules."""
    text = files["StructureDefinition-national-return-bundle.html"].decode("utf-8")
    assert "constraint-ff-bun-1" in text
    assert "bdl-5" not in text and "ele-1" not in text.split('<section aria-labelledby="json">')[0]


@pytest.mark.parametrize("url", sorted(u for u, r in GUIDE.items() if r["resourceType"] == "ValueSet"))
def test_value_set_pages_list_what_the_validator_accepts(url: str) -> None:
    """The expansion on the page is the validator's: the same codes, complete exactly when it is."""
    from fhir_family.conformance.terminology import Terminology

    store = DefinitionStore.default()
    shown = expand(GUIDE[url], store)
    accepted = Terminology(store).expand(url)
    assert accepted is not None
    assert {(row.system, row.code) for row in shown.rows} == set(accepted.codes)
    assert (shown.incomplete == []) == accepted.complete


def test_resources_and_examples_are_downloadable_as_packaged(files: dict[str, bytes]) -> None:
    import io
    import tarfile

    metadata, tarball = build_package_bytes()
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        packaged = {m.name: archive.extractfile(m).read() for m in archive.getmembers()}
    for resource in GUIDE.values():
        name = f"{resource['resourceType']}-{resource['id']}.json"
        assert files[name] == packaged[f"package/{name}"], name
        assert f'href="{name}"' in files[_page(resource)].decode("utf-8")
    for path in valid_example_paths():
        assert json.loads(files[f"example-{path.stem}.json"]) == json.loads(path.read_text())


def test_two_builds_give_identical_files(files: dict[str, bytes]) -> None:
    assert SiteBuilder().build() == files


def test_markdown_headings_get_github_anchors() -> None:
    text = "# Top\n\n## 4. Rules & checks\n\n## 4. Rules & checks\n\n[see](#4-rules--checks)"
    rendered = render_markdown(text, set())
    assert '<h2 id="4-rules--checks">' in rendered
    assert '<h2 id="4-rules--checks-1">' in rendered
    assert 'href="#4-rules--checks"' in rendered


def test_vendor_pages_artifacts_dependencies_licences_and_search_index(files: dict[str, bytes]) -> None:
    """What a vendor knows from the IG Publisher (issue 14): each reachable from every page's navigation or
    footer, and the search index holds every page a reader can see."""
    artifacts = files["artifacts.html"].decode("utf-8")
    for resource in GUIDE.values():
        assert f'href="{_page(resource)}"' in artifacts, resource["url"]
    assert "hl7.fhir.r4.core" in files["dependencies.html"].decode("utf-8")
    licence = files["licence.html"].decode("utf-8")
    assert "CC0-1.0" in licence and "MIT" in licence
    footer_and_nav = files["index.html"].decode("utf-8")
    for page in ("artifacts.html", "search.html", "licence.html", "dependencies.html"):
        assert f'href="{page}"' in footer_and_nav
    profile = files["StructureDefinition-dependent-child.html"].decode("utf-8")
    assert 'href="https://hl7.org/fhir/R4/relatedperson.html"' in profile
    index = files["search-index.js"].decode("utf-8")
    assert index.startswith("window.SEARCH_INDEX = ")
    entries = json.loads(index.removeprefix("window.SEARCH_INDEX = ").rstrip().rstrip(";"))
    pages = {entry["page"] for entry in entries}
    assert pages == {n for n in files if n.endswith(".html")} - {"search.html", "404.html"}
    assert any("young carer" in entry["text"].lower() for entry in entries)


def test_profile_pages_offer_key_elements_differential_and_snapshot_views(files: dict[str, bytes]) -> None:
    for resource in GUIDE.values():
        if resource["resourceType"] != "StructureDefinition":
            continue
        page = files[_page(resource)].decode("utf-8")
        packaged = json.loads(files[f"StructureDefinition-{resource['id']}.json"])
        for anchor in ('id="elements"', 'id="differential"', 'id="snapshot"', 'href="#snapshot"'):
            assert anchor in page, (resource["id"], anchor)
        differential = page.split('id="differential"', 1)[1].split('id="snapshot"', 1)[0]
        snapshot = page.split('id="snapshot"', 1)[1].split("</details>", 1)[0]
        row = '<tr><th scope="row" class="path">'
        assert differential.count(row) == len(resource["differential"]["element"]), resource["id"]
        assert snapshot.count(row) == len(packaged["snapshot"]["element"]) > 0, resource["id"]
        must_support = [e for e in packaged["snapshot"]["element"] if e.get("mustSupport")]
        assert snapshot.count('title="must support"') == len(must_support), resource["id"]


def test_value_sets_and_code_systems_from_elsewhere_link_to_their_spec(files: dict[str, bytes]) -> None:
    from fhir_family.site.vendor_pages import spec_link

    assert spec_link("http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1") == (
        "https://hl7.org/fhir/R4/valueset-administrative-gender.html")
    assert spec_link("http://terminology.hl7.org/CodeSystem/v3-RoleCode") == (
        "https://terminology.hl7.org/CodeSystem-v3-RoleCode.html")
    assert spec_link("https://fhir-family.uk/fhir/ValueSet/x") is None
    profile = files["StructureDefinition-dependent-child.html"].decode("utf-8")
    assert 'href="https://hl7.org/fhir/R4/valueset-administrative-gender.html"' in profile


def test_each_valid_example_page_says_its_situation_in_one_sentence(files: dict[str, bytes]) -> None:
    from markupsafe import escape

    from fhir_family.guide.examples.valid import VALID_EXAMPLES

    listing = files["examples.html"].decode("utf-8")
    for path in valid_example_paths():
        situation = VALID_EXAMPLES[path.stem][0]
        one_sentence = situation.endswith(".") and ". " not in situation.replace("e.g. ", "")
        assert one_sentence, path.stem
        page = files[f"example-{path.stem}.html"].decode("utf-8")
        assert f'<p class="lead">{escape(situation)}</p>' in page, path.stem
        assert str(escape(situation)) in listing, path.stem
