"""Rebuild the guide's generated JSON from the FSH sources, or check that the committed JSON is not stale.

    python -m fhir_family.guide.build --sushi build/sushi/node_modules/.bin/sushi          # refresh
    python -m fhir_family.guide.build --sushi build/sushi/node_modules/.bin/sushi --check  # fail if stale

SUSHI always compiles a copy of ``profiles/`` in a temporary folder, so a failed build never leaves
half-written output behind and the check never touches the work tree. Refreshing then replaces
``profiles/fsh-generated/resources`` with exactly what SUSHI produced (stale files go), and regenerates the
examples with ``fhir_family.guide.examples.build_examples`` when that module exists. The check does the
same into temporary copies and compares byte for byte: SUSHI's output is deterministic (the guide's ``date``
is fixed and SUSHI is kept away from the package registry), so any difference means someone edited generated
JSON by hand or forgot to rebuild.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fhir_family import messages as msg

from ..errors import FhirFamilyError
from . import REPO_ROOT

PROFILES_DIR = REPO_ROOT / "profiles"
EXAMPLES_DIR = REPO_ROOT / "examples"
#: What SUSHI reads: everything else under profiles/ (README, generated output) is not an input.
SUSHI_INPUTS = ("sushi-config.yaml", "input")
GENERATED = Path("fsh-generated") / "resources"
#: Expected warnings, one per line under a comment saying why (see the file itself).
KNOWN_WARNINGS_FILE = "known-sushi-warnings.txt"
#: The example folders build_examples owns and regenerates completely.
GENERATED_EXAMPLE_DIRS = ("bundles", "invalid")
#: SUSHI adds hl7.terminology and friends as "latest" from the package registry when it can reach it. The
#: guide needs none of them, and letting a networked machine load them would make its output differ from an
#: offline one's, so SUSHI is always pointed at a registry that refuses at once.
OFFLINE_REGISTRY = "http://127.0.0.1:9"
SUSHI_TIMEOUT_SECONDS = 300
#: The SUSHI release the committed JSON was built with (the Makefile installs this one); another release may
#: write different bytes, which the check would report as stale files, so say so up front.
PINNED_SUSHI_VERSION = "3.21.0"


class IgBuildError(FhirFamilyError):
    """The guide could not be built (SUSHI missing, failing or reporting errors); one line per problem."""

    message_id = msg.IG_BUILD


@dataclass
class SushiResult:
    """What one SUSHI run reported: error lines (with File/Line details) and warnings not known to be fine."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unexpected_warnings: list[str] = field(default_factory=list)
    version: str | None = None


def load_known_warnings(profiles: Path) -> list[str]:
    """Prefixes of the warnings SUSHI is expected to print; '#' lines and blank lines are comments."""
    path = profiles / KNOWN_WARNINGS_FILE
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def parse_sushi_log(log: str, known_warnings: Sequence[str]) -> SushiResult:
    """Pick SUSHI's ``error`` and ``warn`` records out of its log; indented lines after one belong to it."""
    result = SushiResult()
    current: list[str] | None = None
    for raw in log.splitlines():
        line = raw.rstrip()
        if line.startswith("info ") and "Running SUSHI v" in line:
            result.version = line.split("Running SUSHI v", 1)[1].split()[0]
        if line.startswith("error "):
            result.errors.append(line[len("error "):].strip())
            current = result.errors
        elif line.startswith("warn "):
            message = line[len("warn "):].strip()
            result.warnings.append(message)
            if any(message.startswith(known) for known in known_warnings):
                current = None
            else:
                result.unexpected_warnings.append(message)
                current = result.unexpected_warnings
        elif current is not None and raw.startswith("  ") and line.strip():
            current[-1] += " | " + line.strip()
        else:
            current = None
    return result


def run_sushi(sushi: Path, profiles: Path, workdir: Path) -> tuple[Path, SushiResult]:
    """Compile a copy of ``profiles`` inside ``workdir``; return the generated resources folder and the log.

    Raises IgBuildError with SUSHI's own error lines when SUSHI is missing, fails, or reports any error.
    """
    if not (sushi.is_file() and os.access(sushi, os.X_OK)):
        raise IgBuildError(f"SUSHI not found at {sushi} (run `make ig`, which installs it under build/sushi)")
    project = workdir / "profiles"
    project.mkdir(parents=True)
    for name in SUSHI_INPUTS:
        source = profiles / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        elif source.is_file():
            shutil.copy2(source, project / name)
        else:
            raise IgBuildError(f"{source} is missing: it is a SUSHI input")
    env = {**os.environ, "FPL_REGISTRY": OFFLINE_REGISTRY, "NO_COLOR": "1", "FORCE_COLOR": "0"}
    try:
        completed = subprocess.run(
            [str(sushi), "build", str(project)],
            capture_output=True,
            text=True,
            env=env,
            timeout=SUSHI_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise IgBuildError(f"SUSHI could not run: {exc}") from exc
    # Point file names in SUSHI's messages back at the real sources rather than the temporary copy.
    log = (completed.stdout + "\n" + completed.stderr).replace(str(project), str(profiles))
    result = parse_sushi_log(log, load_known_warnings(profiles))
    if result.errors or completed.returncode != 0:
        # Without error records (node missing, a crash) the last lines of the log are the best explanation.
        tail = [line.strip() for line in log.splitlines() if line.strip()][-3:]
        details = result.errors or [f"SUSHI exited with status {completed.returncode}: {' | '.join(tail)}"]
        raise IgBuildError("SUSHI failed:\n" + "\n".join(f"  error: {line}" for line in details))
    if result.version is not None and result.version != PINNED_SUSHI_VERSION:
        result.unexpected_warnings.insert(
            0, f"this is SUSHI {result.version}, not the pinned {PINNED_SUSHI_VERSION}: its output may differ"
        )
    generated = project / GENERATED
    if not generated.is_dir() or not any(generated.glob("*.json")):
        raise IgBuildError(f"SUSHI reported success but wrote nothing to {GENERATED}")
    return generated, result


def replace_dir(source: Path, target: Path) -> None:
    """Make ``target`` hold exactly the files of ``source`` (stale files removed)."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)


def compare_trees(expected: Path, committed: Path, label: str) -> list[str]:
    """One line per file that differs, is missing from ``committed`` or is extra there (byte-wise, sorted)."""
    fresh = {p.relative_to(expected).as_posix() for p in expected.rglob("*") if p.is_file()}
    have = {p.relative_to(committed).as_posix() for p in committed.rglob("*") if p.is_file()}
    problems = []
    for name in sorted(fresh | have):
        if name not in have:
            problems.append(f"missing: {label}/{name} (a rebuild creates it)")
        elif name not in fresh:
            problems.append(f"extra: {label}/{name} (a rebuild does not create it)")
        elif not filecmp.cmp(expected / name, committed / name, shallow=False):
            problems.append(f"stale: {label}/{name} differs from a fresh rebuild")
    return problems


def compare_examples(fresh_root: Path, written: Sequence[Path], committed_root: Path) -> list[str]:
    """Like compare_trees for the examples: each file the builder wrote, and leftovers in its folders."""
    fresh = {Path(p).resolve().relative_to(fresh_root.resolve()).as_posix() for p in written}
    owned = {
        p.relative_to(committed_root).as_posix()
        for name in GENERATED_EXAMPLE_DIRS
        for p in (committed_root / name).glob("*.json")
    }
    label = relative(committed_root)
    problems = []
    for name in sorted(fresh | owned):
        if name not in fresh:
            problems.append(f"extra: {label}/{name} (a rebuild does not create it)")
        elif not (committed_root / name).is_file():
            problems.append(f"missing: {label}/{name} (a rebuild creates it)")
        elif not filecmp.cmp(fresh_root / name, committed_root / name, shallow=False):
            problems.append(f"stale: {label}/{name} differs from a fresh rebuild")
    return problems


def examples_builder() -> Callable[[Path], list[Path]] | None:
    """``fhir_family.guide.examples.build_examples`` when that module is installed, else None."""
    if importlib.util.find_spec("fhir_family.guide.examples") is None:
        return None
    module = importlib.import_module("fhir_family.guide.examples")
    build: Callable[[Path], list[Path]] = module.build_examples

    def guarded(root: Path) -> list[Path]:
        try:
            return list(build(root))
        except Exception as exc:  # a foreign failure becomes one clear line, not a traceback
            message = f"examples_builder.build_examples failed: {type(exc).__name__}: {exc}"
            raise IgBuildError(message) from exc

    return guarded


def relative(path: Path) -> str:
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def refresh(sushi: Path, profiles: Path, examples: Path | None) -> list[str]:
    """Rebuild the committed JSON in place; return one line per thing done."""
    done = []
    with tempfile.TemporaryDirectory(prefix="igbuild-") as tmp:
        generated, result = run_sushi(sushi, profiles, Path(tmp))
        replace_dir(generated, profiles / GENERATED)
        count = len(list(generated.glob("*.json")))
        done.append(
            f"SUSHI: {count} resources in {relative(profiles / GENERATED)} (0 errors, "
            f"{len(result.warnings)} warnings, {len(result.unexpected_warnings)} unexpected)"
        )
        done += [f"warning: SUSHI: {line}" for line in result.unexpected_warnings]
    build_examples = examples_builder() if examples is not None else None
    if build_examples is not None and examples is not None:
        examples.mkdir(parents=True, exist_ok=True)
        written = build_examples(examples)
        done.append(f"examples: {len(written)} files written under {relative(examples)}")
    return done


def check(sushi: Path, profiles: Path, examples: Path | None) -> list[str]:
    """Rebuild into temporary copies and list every committed file that is stale, missing or extra."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="igbuild-check-") as tmp:
        generated, result = run_sushi(sushi, profiles, Path(tmp))
        problems += compare_trees(generated, profiles / GENERATED, relative(profiles / GENERATED))
        problems += [f"warning: SUSHI: {line}" for line in result.unexpected_warnings]
        build_examples = examples_builder() if examples is not None else None
        if build_examples is not None and examples is not None:
            copy = Path(tmp) / "examples"
            if examples.is_dir():
                shutil.copytree(examples, copy)
            for name in GENERATED_EXAMPLE_DIRS:  # so files the builder no longer makes show up as extra
                shutil.rmtree(copy / name, ignore_errors=True)
            copy.mkdir(exist_ok=True)
            written = build_examples(copy)
            problems += compare_examples(copy, written, examples)
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    summary = (__doc__ or "").splitlines()[0]
    parser = argparse.ArgumentParser(prog="python -m fhir_family.guide.build", description=summary)
    parser.add_argument("--sushi", type=Path, required=True, help="path to the sushi executable")
    parser.add_argument("--check", action="store_true", help="fail (exit 1) if the committed JSON is stale")
    parser.add_argument("--profiles", type=Path, default=PROFILES_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--examples", type=Path, default=EXAMPLES_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--skip-examples", action="store_true", help="only the guide, not the examples")
    args = parser.parse_args(argv)
    examples = None if args.skip_examples else args.examples
    try:
        if args.check:
            problems = check(args.sushi, args.profiles, examples)
            failures = [line for line in problems if not line.startswith("warning:")]
            for line in problems:
                print(f"igbuild: {line}", file=sys.stderr)
            if failures:
                print(
                    f"igbuild: {len(failures)} file(s) are stale: run `make ig` and commit the result",
                    file=sys.stderr,
                )
                return 1
            print("igbuild: committed JSON matches a fresh rebuild")
            return 0
        for line in refresh(args.sushi, args.profiles, examples):
            print(f"igbuild: {line}")
        return 0
    except IgBuildError as exc:
        for line in str(exc).splitlines():
            print(f"igbuild: {line.strip()}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
