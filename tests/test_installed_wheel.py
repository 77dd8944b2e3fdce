"""The done-when test of the installed validator: a wheel, a fresh virtual environment, no checkout.

The wheel is built from a copy of the sources, installed with ``--no-deps`` into a new virtual environment,
and run from a temporary HOME and working folder outside the checkout, with an empty FHIR package cache that
``fhir-family packages install`` fills from a local mirror (a tarball of the R4 core package already on this
machine, so nothing is downloaded). Only the wheel's dependencies are borrowed from the test's own environment
(a ``.pth`` line, which adds that folder to ``sys.path`` but does not run its editable-install hooks), so the
test needs no network; the test checks that ``fhir_family`` itself is imported from the new environment.

Before this, an installed wheel had no guide and answered "valid" to every invalid example.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from fhir_family.guide import UKCORE_PACKAGE, core_package_dir, guide_dependency_dirs

REPO = Path(__file__).resolve().parent.parent
#: what the wheel is built from (everything else in the checkout is not needed to build it)
SOURCES = (
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "LICENSE",
    "src",
    "profiles",
    "examples",
    "docs",
)


def _run(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not (core_package_dir() / "package.json").is_file():
        if os.environ.get("CI") == "true":  # CI runs `make test`, which installs R4 core first
            pytest.fail("R4 core is not in the package cache under CI")
        pytest.skip("R4 core not in the package cache: fhir-family packages install hl7.fhir.r4.core#4.0.1")
    root = tmp_path_factory.mktemp("installed")
    tree = root / "source"
    tree.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "_data", "node_modules", "fsh-generated-*")
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=ignore)
        else:
            shutil.copy2(source, tree / name)
    dist = root / "dist"
    build = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(dist),
        str(tree),
    ]
    done = _run(build, root, dict(os.environ))
    assert done.returncode == 0, done.stderr
    wheel = next(dist.glob("fhir_family-*.whl"))

    venv = root / "venv"
    done = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], root, dict(os.environ))
    assert done.returncode == 0, done.stderr
    python = venv / "bin" / "python"
    install = [
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(python),
        "install",
        "--quiet",
        "--no-deps",
        str(wheel),
    ]
    done = _run(install, root, dict(os.environ))
    assert done.returncode == 0, done.stderr
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            root,
            dict(os.environ),
        ).stdout.strip()
    )
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    mirror = root / "mirror"
    mirror.mkdir()
    with tarfile.open(mirror / "core.tgz", "w:gz", compresslevel=1) as archive:
        archive.add(core_package_dir(), arcname="package")
    for folder in guide_dependency_dirs():  # UK Core, which the guide's profiles derive from
        with tarfile.open(mirror / f"{folder.parent.name}.tgz", "w:gz", compresslevel=1) as archive:
            archive.add(folder, arcname="package")
    home, work = root / "home", root / "work"
    home.mkdir()
    shutil.copytree(
        REPO / "examples", work / "examples"
    )  # the inputs a user has; nothing else of the checkout
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FHIR_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(
        HOME=str(home), FHIR_PACKAGE_CACHE=str(home / "cache"), PATH=f"{venv / 'bin'}:{env.get('PATH', '')}"
    )
    return {
        "cli": str(venv / "bin" / "fhir-family"),
        "python": str(python),
        "work": work,
        "env": env,
        "mirror": mirror,
        "home": home,
    }


def _cli(ctx: dict[str, Any], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return _run([ctx["cli"], *args], ctx["work"], ctx["env"], timeout)


def test_installed_wheel_end_to_end(installed: dict[str, Any]) -> None:
    ctx = installed
    where = _run(
        [ctx["python"], "-c", "import fhir_family; print(fhir_family.__file__)"], ctx["work"], ctx["env"]
    )
    assert where.stdout.strip().startswith(str(Path(ctx["python"]).parent.parent)), (
        where.stdout + where.stderr
    )

    # Without R4 core the validator refuses, naming the command that fixes it: never "valid".
    missing = _cli(ctx, "validate", "examples/invalid/child-missing-birthdate.json")
    assert missing.returncode == 2, missing.stdout + missing.stderr
    assert "fhir-family packages install hl7.fhir.r4.core#4.0.1" in missing.stderr

    fetched = _cli(ctx, "packages", "install", "--mirror", str(ctx["mirror"]), "hl7.fhir.r4.core#4.0.1")
    assert fetched.returncode == 0, fetched.stderr
    assert (ctx["home"] / "cache" / "hl7.fhir.r4.core#4.0.1" / "package" / ".index.json").is_file()

    # Nor without UK Core, the base of the guide's profiles.
    missing = _cli(ctx, "validate", "examples/invalid/child-missing-birthdate.json")
    assert missing.returncode == 2, missing.stdout + missing.stderr
    assert f"fhir-family packages install {UKCORE_PACKAGE}" in missing.stderr
    fetched = _cli(ctx, "packages", "install", "--mirror", str(ctx["mirror"]), UKCORE_PACKAGE)
    assert fetched.returncode == 0, fetched.stderr

    # The false pass: this invalid example must fail, exit 1.
    single = _cli(ctx, "validate", "examples/invalid/child-missing-birthdate.json")
    assert single.returncode == 1, single.stdout + single.stderr
    assert "Bundle.entry[3].resource.birthDate" in single.stdout

    # Every invalid example: errors exactly when its expected outcome lists an error (a few only warn).
    invalid = sorted(
        p for p in (ctx["work"] / "examples" / "invalid").glob("*.json") if ".expected." not in p.name
    )
    result = _cli(ctx, "validate", "--format", "json", "examples/invalid")
    assert result.returncode == 1, result.stderr
    outcomes = json.loads(result.stdout)
    assert len(outcomes) == len(invalid) > 20
    for path in invalid:
        expected = json.loads(path.with_suffix(".expected.json").read_text())
        expects_error = any(i["severity"] in ("error", "fatal") for i in expected["issues"])
        outcome = outcomes[str(path.relative_to(ctx["work"]))]
        has_error = any(i["severity"] in ("error", "fatal") for i in outcome["issue"])
        assert has_error == expects_error, (path.name, outcome)

    valid = _cli(ctx, "validate", "examples/bundles")
    assert valid.returncode == 0, valid.stdout + valid.stderr

    for source in (
        "examples/ehr/hl7v2/a04-register-mother-two-children.hl7",
        "examples/ehr/json/mother-two-children.json",
    ):
        mapped = _cli(ctx, "map", source)
        assert mapped.returncode == 0, mapped.stderr
        bundle = json.loads(mapped.stdout)
        assert bundle["resourceType"] == "Bundle" and len(bundle["entry"]) >= 4

    pages = _cli(ctx, "pages", "--out", "site")
    assert pages.returncode == 0, pages.stderr
    index = (ctx["work"] / "site" / "index.html").read_text()
    assert "ParentPatient" in index or "parent-patient" in index
    assert (
        "Children Act 1989" in (ctx["work"] / "site" / "doc-guide.html").read_text()
    )  # from the shipped docs

    package = _cli(ctx, "build", "--out", "dist")
    assert package.returncode == 0, package.stderr
    assert Path(package.stdout.strip()).name == "uk.fhir-family.r4-0.2.0.tgz"

    _check_the_facade_serves(ctx)
    _check_up_runs(ctx)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check_the_facade_serves(ctx: dict[str, Any]) -> None:
    """`serve` from the wheel: the facade validates with the shipped guide and serves its pages."""
    port = _free_port()
    args = [ctx["cli"], "serve", "--port", str(port), "--workers", "1", "--no-access-log"]
    server = subprocess.Popen(
        args, cwd=ctx["work"], env=ctx["env"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/metadata", timeout=5) as response:
                    assert response.status == 200
                    break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the facade did not start"
                time.sleep(0.3)
        body = (ctx["work"] / "examples" / "invalid" / "child-missing-birthdate.json").read_bytes()
        request = urllib.request.Request(
            f"{base}/Bundle/$validate", data=body, headers={"Content-Type": "application/fhir+json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, outcome = response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            status, outcome = exc.code, json.loads(exc.read())
        assert any(i["severity"] == "error" for i in outcome["issue"]), (status, outcome)
        with urllib.request.urlopen(f"{base}/ig/", timeout=30) as response:
            assert response.status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


def _check_up_runs(ctx: dict[str, Any]) -> None:
    """`up` from the wheel: both servers start, the shipped example bundles are accepted, Ctrl-C stops it."""
    args = [
        ctx["cli"],
        "up",
        "--facade-port",
        str(_free_port()),
        "--collector-port",
        str(_free_port()),
        "--var",
        "var",
        "--patients-per-provider",
        "3",
    ]
    proc = subprocess.Popen(
        args, cwd=ctx["work"], env=ctx["env"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
            if not line:
                break
            output.append(line)
            if "Press Ctrl-C" in line:
                break
        text = "".join(output)
        assert "Press Ctrl-C" in text, text
        bundles = len(list((REPO / "examples" / "bundles").glob("*.json")))  # the guide's count: 16 in 0.2
        assert bundles >= 12 and f"{bundles} example bundles accepted" in text, text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
