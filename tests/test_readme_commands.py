"""The done-when test of issue 14: the README's own commands, run as written from a fresh clone with an empty
HOME, each checked for what it prints.

The clone is the checkout's tracked files (what ``git clone`` gives) in a new git repository. Its ``.venv`` is
made as in ``tests/test_installed_wheel.py``, to stay fast and offline: a wheel of the clone installed with
``--no-deps`` into ``.venv``, the dependencies borrowed from the test's environment by a ``.pth`` line. FHIR
packages come from a local mirror (``FHIR_PACKAGE_MIRROR``, as the README documents), so nothing is
downloaded. Every command runs in ``bash`` after the README's ``source .venv/bin/activate``, so a README that
stops saying how to reach the command fails here. A command added to the README's command-line block without
a check here fails the test too; after all commands, ``git status`` in the clone must be clean (what the
commands write is git-ignored).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

import pytest

from fhir_family.guide import UKCORE_PACKAGE, core_package_dir, guide_dependency_dirs

REPO = Path(__file__).resolve().parent.parent

SKIPPED = {
    "fhir-family serve --port 8080 --feed-tokens var/feed-tokens.json": (
        "runs until stopped: tests/test_facade_serve.py, test_cli_busy_port.py, test_facade_auth.py"
    ),
    "fhir-family collector --port 8081": "runs until stopped: tests/test_cli_collector_serve.py",
    "fhir-family analytics test-suite": "fetches the SQL on FHIR test suite: tests/test_analytics_suite.py",
    "make bench": "benchmarks are run on purpose, never in the test suite",
}
"""README commands not run here, each with where it is covered instead."""


def _readme_commands() -> list[str]:
    """The commands of the README's "Command line" block, comments dropped."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("## Command line", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [re.split(r"\s{2,}#", line)[0].strip() for line in block.strip().splitlines() if line.strip()]


def _sh(clone: Path, env: dict[str, str], command: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """One README command in a fresh bash, after the README's activation line."""
    script = f"source .venv/bin/activate && {command}"
    return subprocess.run(["bash", "-c", script], cwd=clone, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _run(args: list[str], cwd: Path) -> None:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    if not (core_package_dir() / "package.json").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail("R4 core is not in the package cache under CI")
        pytest.skip("R4 core not in the package cache: fhir-family packages install hl7.fhir.r4.core#4.0.1")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path_factory.mktemp("readme")
    clone = root / "clone"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in tracked.decode("utf-8").split("\0"):
        if name and (REPO / name).is_file():  # a file deleted but not yet committed is not in a clone
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, clone / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
    _run([*git, "init", "-q"], clone)
    _run([*git, "add", "-A"], clone)
    _run([*git, "commit", "-q", "-m", "fresh clone"], clone)

    dist = root / "dist"
    pip = [sys.executable, "-m", "pip"]
    _run([*pip, "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(dist), str(clone)], root)
    shutil.rmtree(clone / "build", ignore_errors=True)  # the wheel's build tree, not the user's
    for leftover in clone.glob("src/*.egg-info"):
        shutil.rmtree(leftover)
    venv = clone / ".venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], root)
    wheel = next(dist.glob("fhir_family-*.whl"))
    target = str(venv / "bin" / "python")
    _run([*pip, "--python", target, "install", "--quiet", "--no-deps", str(wheel)], root)
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    mirror = root / "mirror"
    mirror.mkdir()
    with tarfile.open(mirror / "core.tgz", "w:gz", compresslevel=1) as archive:
        archive.add(core_package_dir(), arcname="package")
    for folder in guide_dependency_dirs():  # UK Core, which the guide's profiles derive from
        with tarfile.open(mirror / f"{folder.parent.name}.tgz", "w:gz", compresslevel=1) as archive:
            archive.add(folder, arcname="package")
    home = root / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FHIR_", "PYTHON", "VIRTUAL_ENV", "DATABASE_URL"))}
    env.update(HOME=str(home), FHIR_PACKAGE_MIRROR=str(mirror))
    env["PATH"] = ":".join(p for p in env.get("PATH", "").split(":") if not p.startswith(str(REPO)))
    return clone, env


HL7_EXAMPLE = "examples/ehr/hl7v2/a04-register-mother-two-children.hl7"
UKCORE = UKCORE_PACKAGE
NO_MESH = "MESH is not configured"

EXPECTED: dict[str, tuple[int, list[str]]] = {
    "source .venv/bin/activate": (0, []),
    "fhir-family validate examples/bundles examples/invalid": (1, ["INVALID", "valid", "FF-"]),
    "fhir-family validate --format json my-return.json": (2, ["fhir-family validate: my-return.json"]),
    f"fhir-family map {HL7_EXAMPLE}": (0, ['"resourceType": "Bundle"']),
    "fhir-family map --format json examples/ehr/hl7v2/invalid-no-zps.hl7": (
        1, ['"resourceType": "OperationOutcome"', "ZPS"]),
    "fhir-family map examples/ehr/csv/returns.csv --out out/": (
        1, ["1 of 5 items failed", "outcomes.ndjson"]),
    "fhir-family collector add-token --help": (0, ["Usage:", "--ods"]),
    "fhir-family serve-token issue --feed epr --ods RX4 --file var/feed-tokens.json": (0, ["fff_"]),
    "fhir-family submit examples/bundles/*.json --to http://127.0.0.1:8081": (
        2, ["set FHIR_FAMILY_TOKEN or --token"]),
    "fhir-family submit --via mesh returns.ndjson": (2, [f"{NO_MESH}: set FHIR_FAMILY_MESH_URL"]),
    "fhir-family submit --via mesh --fetch-outcomes outcomes/": (2, [NO_MESH]),
    "fhir-family collector add-mailbox --mailbox X26ABC1 --ods RX4": (
        0, ["mailbox X26ABC1 submits for RX4"]),
    "fhir-family collector mesh-poll": (2, [NO_MESH]),
    "fhir-family report --format table": (0, ["PS11", "(no current returns)", "PS11 = PRNTSTAT 11"]),
    "fhir-family export --out export/": (0, ["export/manifest.json"]),
    "fhir-family analytics materialise export/ --out analytics/": (0, ["analytics/analytics.duckdb"]),
    "fhir-family analytics report analytics/": (0, ["PS11", "(no current returns)"]),
    "fhir-family build": (0, ["uk.fhir-family.r4-0.2.0.tgz"]),
    "fhir-family pages --out site/": (0, ["site"]),
    "fhir-family packages install hl7.fhir.r4.core#4.0.1": (0, ["hl7.fhir.r4.core#4.0.1"]),
    f"fhir-family packages install {UKCORE}": (0, [UKCORE]),
}
"""Each README command -> (exit status, fragments its output must contain)."""


def test_the_readme_commands_work_as_written_from_a_fresh_clone(fresh_clone) -> None:
    clone, env = fresh_clone
    expected = EXPECTED
    commands = _readme_commands()
    assert commands[0] == "source .venv/bin/activate"  # the README says how to reach the command first
    unchecked = [c for c in commands if c not in expected and c not in SKIPPED]
    assert not unchecked, f"README commands without a check in this test: {unchecked}"
    # Without R4 core a command says how to get it; the README's install line (run first, as its Install
    # section says: once per machine) fills the empty HOME's package cache from the mirror.
    before = _sh(clone, env, "fhir-family validate examples/bundles")
    assert before.returncode == 2 and "fhir-family packages install hl7.fhir.r4.core#4.0.1" in before.stderr
    ordered = sorted(commands, key=lambda c: not c.startswith("fhir-family packages install"))
    for command in ordered:
        if command in SKIPPED:
            continue
        status, fragments = expected[command]
        done = _sh(clone, env, command)
        output = done.stdout + done.stderr
        assert done.returncode == status, f"{command}\n{output}"
        for fragment in fragments:
            assert fragment in output, f"{command}: {fragment!r} not in\n{output}"
        assert "Traceback" not in output, f"{command}\n{output}"
    assert json.loads((clone / "export" / "manifest.json").read_text())["output"] is not None
    assert (clone / "site" / "index.html").is_file() and (clone / "out" / "bundles.ndjson").is_file()
    # Everything the commands wrote (out/, export/, analytics/, site/, dist/, var/, .venv/) is git-ignored.
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=clone,
                            capture_output=True, text=True, check=True).stdout
    assert status == "", status
