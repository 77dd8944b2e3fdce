"""``fhir-family map``: single documents and batches, output folders, exit codes, one-line errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhir_family.cli import main
from fhir_family.conformance import default_validator
from fhir_family.outcome import has_errors

EHR = Path(__file__).resolve().parent.parent / "examples" / "ehr"


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(main, ["map", *args], input=stdin, catch_exceptions=False)


@pytest.mark.parametrize(
    "path",
    [EHR / "json" / "mother-two-children.json", EHR / "hl7v2" / "a04-register-mother-two-children.hl7"],
)
def test_single_document_to_stdout(path: Path) -> None:
    result = run(str(path))
    assert result.exit_code == 0, result.output
    bundle = json.loads(result.stdout)
    assert bundle["resourceType"] == "Bundle"
    assert not has_errors(default_validator().validate(bundle))


def test_single_document_to_a_folder_named_by_submission(tmp_path: Path) -> None:
    result = run(str(EHR / "json" / "mother-two-children.json"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0
    written = tmp_path / "out" / "RX4-2026-10-0001.json"
    assert json.loads(written.read_text())["identifier"]["value"] == "RX4-2026-10-0001"


def test_format_from_option_overrides_the_name(tmp_path: Path) -> None:
    odd = tmp_path / "message.dat"
    shutil.copy(EHR / "hl7v2" / "edge-no-nk1.hl7", odd)
    assert run(str(odd)).exit_code == 2  # cannot tell the format from ".dat"
    result = run(str(odd), "--from", "hl7v2")
    assert result.exit_code == 0 and json.loads(result.stdout)["resourceType"] == "Bundle"


def test_stdin_with_from() -> None:
    result = run("-", "--from", "json", stdin=(EHR / "json" / "expecting-first-child.json").read_text())
    assert result.exit_code == 0 and json.loads(result.stdout)["identifier"]["value"] == "RX4-2026-10-0002"


def test_warnings_go_to_stderr_on_one_line() -> None:
    result = run(str(EHR / "hl7v2" / "edge-missing-dob.hl7"))
    assert result.exit_code == 0
    warning_lines = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warning_lines) == 1 and "NK1[1]-16" in warning_lines[0]


@pytest.mark.parametrize(
    ("path", "exit_code", "fragment"),
    [
        (EHR / "json" / "invalid-contract.json", 1, "/provider/odsCode"),
        (EHR / "hl7v2" / "invalid-no-zps.hl7", 1, "ZPS"),
        (EHR / "hl7v2" / "invalid-bad-nhs-number.hl7", 1, "PID-3[1]"),
    ],
)
def test_unmappable_input_exits_non_zero_with_one_line(path: Path, exit_code: int, fragment: str) -> None:
    result = run(str(path))
    assert result.exit_code == exit_code
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and fragment in result.stderr


def test_format_json_prints_the_outcome_of_a_failing_document() -> None:
    result = run(str(EHR / "hl7v2" / "invalid-bad-nhs-number.hl7"), "--format", "json")
    assert result.exit_code == 1
    outcome = json.loads(result.stdout)
    assert outcome["resourceType"] == "OperationOutcome" and has_errors(outcome)
    assert any("PID-3[1]" in str(issue.get("location")) for issue in outcome["issue"])
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "suffix"), [("{oops", ".json"), ("hello", ".hl7"), (b"\xff\xfe", ".json")]
)
def test_unreadable_input_exits_2(tmp_path: Path, content, suffix: str) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = run(str(path))
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = run(str(tmp_path / "absent.json"))
    assert result.exit_code == 2 and "no such file" in result.stderr


@pytest.mark.parametrize("name", ["csv/returns.csv", "ndjson/returns.ndjson"])
def test_batch_to_a_folder_writes_bundles_and_outcomes(tmp_path: Path, name: str) -> None:
    source = EHR / name
    expected = json.loads(source.with_name(source.stem + ".expected.json").read_text())["items"]
    result = run(str(source), "--out", str(tmp_path))
    failed = [item for item in expected if item["status"] != 200]
    assert result.exit_code == (1 if failed else 0)
    assert f"{len(failed)} of {len(expected)} items failed" in result.stderr
    bundles = [json.loads(line) for line in (tmp_path / "bundles.ndjson").read_text().splitlines()]
    assert [b["identifier"]["value"] for b in bundles] == [
        i["submissionId"] for i in expected if i["status"] == 200
    ]
    outcomes = [json.loads(line) for line in (tmp_path / "outcomes.ndjson").read_text().splitlines()]
    assert len(outcomes) == len(failed)
    for outcome, item in zip(outcomes, failed, strict=True):
        for issue in outcome["issue"]:
            (line,) = [ext["valueInteger"] for ext in issue["extension"]]
            # One line number per issue: the extension agrees with the location, from the item's start on.
            where = issue["location"][0]
            assert line >= item["line"]
            assert not where.startswith("line ") or re.match(rf"line {line}\b", where)


def test_batch_to_stdout_is_ndjson_of_bundles(tmp_path: Path) -> None:
    source = tmp_path / "good.ndjson"
    lines = (EHR / "ndjson" / "returns.ndjson").read_text().splitlines()
    source.write_text("\n".join([lines[0], lines[1]]) + "\n")
    result = run(str(source))
    assert result.exit_code == 0
    assert [json.loads(line)["resourceType"] for line in result.stdout.splitlines()] == ["Bundle", "Bundle"]


def _repeated_csv(path: Path, copies: int) -> int:
    """The example CSV (valid and invalid returns) ``copies`` times, each copy with fresh submission ids."""
    import csv

    with (EHR / "csv" / "returns.csv").open(newline="", encoding="utf-8") as source:
        reader = csv.DictReader(source)
        rows = list(reader)
        fields = reader.fieldnames or []
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        for copy in range(copies):
            writer.writerows({**row, "submissionId": f"{row['submissionId']}-{copy}"} for row in rows)
    return copies * len({row["submissionId"] for row in rows})


def _without_timestamps(path: Path) -> list[dict]:
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for item in items:
        item.pop("timestamp", None)  # when the Bundle was assembled: the only part that may differ
    return items


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_batch_in_worker_processes_writes_what_one_process_writes_in_the_same_order(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--jobs 2`` forks workers (past the first chunk) that check, build and validate; the files it writes
    hold the same items in the same order as ``--jobs 1``, failures and their line numbers included."""
    from fhir_family.commands import map_pool
    from fhir_family.commands.map_pool import CHUNK

    forked = []
    in_workers = map_pool._in_workers
    monkeypatch.setattr(map_pool, "_in_workers", lambda *args: forked.append(args[-1]) or in_workers(*args))

    if fmt == "csv":
        source = tmp_path / "many.csv"
        count = _repeated_csv(source, 40)
    else:
        lines = (EHR / "ndjson" / "returns.ndjson").read_text(encoding="utf-8").splitlines()
        source = tmp_path / "many.ndjson"
        source.write_text("\n".join(lines * 20) + "\n", encoding="utf-8")
        count = 20 * len([line for line in lines if line.strip()])
    assert count > 3 * CHUNK  # several chunks go to the workers
    results = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out-{jobs}"
        result = run(str(source), "--out", str(out), "--jobs", jobs)
        assert result.exit_code == 1, result.stderr  # the examples hold invalid returns on purpose
        bundles = _without_timestamps(out / "bundles.ndjson")
        outcomes = _without_timestamps(out / "outcomes.ndjson")
        assert len(bundles) + sum(1 for o in outcomes if has_errors(o)) == count
        results[jobs] = (bundles, outcomes, result.stderr.splitlines()[-1].replace(str(out), "OUT"))
    assert forked == [2]  # --jobs 1 never forks; --jobs 2 did
    assert results["2"] == results["1"]


def _die(items: list) -> list:
    import os

    os._exit(3)  # a worker killed mid-chunk (out of memory, kill -9)


def test_a_worker_that_dies_fails_the_map_in_one_line_not_a_hang(tmp_path: Path, monkeypatch) -> None:
    from fhir_family.commands import map_pool

    source = tmp_path / "many.csv"
    _repeated_csv(source, 20)
    monkeypatch.setattr(map_pool, "_map_chunk", _die)
    result = run(str(source), "--out", str(tmp_path / "out"), "--jobs", "2")
    assert result.exit_code == 2
    assert "a worker process died" in result.stderr and "Traceback" not in result.stderr


def test_map_without_the_core_package_is_one_line_and_exit_2(tmp_path, examples_dir):
    """An empty HOME (no R4 core package installed): one line naming the fix, exit 2, no traceback."""
    import subprocess
    import sys

    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    payload = examples_dir / "ehr" / "json" / "mother-two-children.json"
    cli = str(Path(sys.executable).with_name("fhir-family"))
    result = subprocess.run([cli, "map", str(payload)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "fhir-family map: FHIR R4 core package not found" in result.stderr
