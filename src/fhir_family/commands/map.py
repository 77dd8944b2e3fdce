"""``fhir-family map FILE [--from FORMAT] [--out DIR]``: EHR input -> validated national-return bundles.

The same parse -> build -> validate path as the facade's ``/ehr/*`` endpoints. The format comes from
``--from`` or the file name (``.json``, ``.hl7``/``.er7``/``.txt``, ``.csv``, ``.ndjson``/``.jsonl``);
``-`` reads standard input (then ``--from`` is required).

* A single document (JSON payload, HL7 v2 message): the Bundle goes to ``DIR/<submissionId>.json`` or
  standard output; warnings are printed one per line on stderr; one that fails is summarised on stderr and,
  with ``--format json``, its OperationOutcome printed on standard output (as ``validate --format json``).
* A batch (CSV, NDJSON), streamed: bundles go to ``DIR/bundles.ndjson`` (or standard output), the
  OperationOutcome of every failed item, and of every item with warnings, to ``DIR/outcomes.ndjson`` (or
  stderr), each issue carrying its input line; a progress bar is drawn on stderr when writing to ``--out``.
  Returns are checked, built and validated in ``--jobs`` worker processes (default one per usable core;
  ``map_pool.py``) and written in input order, one compact JSON value per line.

Exit status: 0 all mapped; 1 some item could not be mapped or failed validation; 2 the input could not be
used at all (unreadable, unknown format). Each failure is summarised in one line on stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import nullcontext
from pathlib import Path
from typing import IO, Any

import click

from ..mapping.factory import PARSERS, get_parser, guess_format
from ..mapping.pipeline import MappingPipeline
from .exits import ExitCode, fail
from .map_pool import Written, map_items, usable_cores


def _one_line(outcome: dict[str, Any]) -> str:
    """Every error/warning of an outcome on one line: ``location: diagnostics; ...``."""
    parts = []
    for issue in outcome.get("issue", []):
        if issue.get("severity") in ("fatal", "error", "warning"):
            where = (issue.get("location") or issue.get("expression") or [""])[0]
            text = issue.get("diagnostics", "")
            parts.append(f"{where}: {text}" if where and not text.startswith(where) else text)
    return "; ".join(parts)


def _counting_lines(stream: IO[str], bar: Any) -> Iterator[str]:
    for line in stream:
        bar.update(len(line))
        yield line


class _NullBar:
    def update(self, _n: int) -> None:
        pass


def _write_json(path: Path, resource: dict[str, Any]) -> None:
    path.write_text(json.dumps(resource, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _run_single(mapper: MappingPipeline, fmt: str, source: IO[str], label: str, out: Path | None,
                as_json: bool = False) -> int:
    mapped = mapper.map_text(get_parser(fmt), source.read())
    warnings = _one_line({"issue": [i for i in mapped.outcome["issue"] if i.get("severity") == "warning"]})
    if warnings:
        click.echo(f"{label}: warning: {warnings}", err=True)
    if not mapped.ok:
        kind = "unreadable" if mapped.status == 400 else "not mapped"
        click.echo(f"fhir-family map: {label}: {kind}: {_one_line(mapped.outcome)}", err=True)
        if as_json:
            click.echo(json.dumps(mapped.outcome, indent=2, ensure_ascii=False))
        return ExitCode.UNUSABLE if mapped.status == 400 else ExitCode.REJECTED
    assert mapped.bundle is not None
    if out is None:
        click.echo(json.dumps(mapped.bundle, indent=2, ensure_ascii=False))
    else:
        target = out / f"{mapped.bundle['identifier']['value']}.json"
        _write_json(target, mapped.bundle)
        click.echo(f"{label}: wrote {target}", err=True)
    return ExitCode.OK


def _run_batch(mapper: MappingPipeline, fmt: str, source: IO[str], label: str, out: Path | None,
               size: int | None, processes: int = 1) -> int:
    counts = {"bundles": 0, "failed": 0}
    bundles_file = (out / "bundles.ndjson").open("w", encoding="utf-8") if out else sys.stdout
    outcomes_file = (out / "outcomes.ndjson").open("w", encoding="utf-8") if out else sys.stderr
    show_bar = out is not None and size is not None
    try:
        bar_context = (click.progressbar(length=size or 0, label=f"mapping {label}", file=sys.stderr)
                       if show_bar else nullcontext(_NullBar()))
        with bar_context as bar:
            for item in map_items(mapper, get_parser(fmt), _counting_lines(source, bar), processes):
                _emit(item, counts, bundles_file, outcomes_file)
    finally:
        if out is not None:
            bundles_file.close()
            outcomes_file.close()
    total = counts["bundles"] + counts["failed"]
    where = f" (see {out / 'outcomes.ndjson'})" if out else ""
    if counts["failed"]:
        click.echo(f"fhir-family map: {label}: {counts['failed']} of {total} items failed{where}", err=True)
        return ExitCode.REJECTED
    click.echo(f"{label}: {counts['bundles']} bundles" + (f" written to {out}" if out else ""), err=True)
    return ExitCode.OK


def _emit(item: Written, counts: dict[str, int], bundles: IO[str], outcomes: IO[str]) -> None:
    counts["bundles" if item.ok else "failed"] += 1
    if item.bundle is not None:
        bundles.write(item.bundle + "\n")
    if item.outcome is not None:
        outcomes.write(item.outcome + "\n")


@click.command("map")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=str))
@click.option("--from", "fmt", type=click.Choice(list(PARSERS)), help="Input format (default: by file name).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Write bundles to this folder.")
@click.option("--no-validate", is_flag=True, help="Skip validation (only to inspect the mapping).")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: a document that fails prints its OperationOutcome on standard output (batches always write "
    "outcomes as NDJSON).",
)
@click.option("--jobs", type=click.IntRange(0, 64), default=0, show_default=True,
              help="Batches: processes that build and validate returns (0: one per usable core; 1: none "
              "besides this one).")
def command(file: str, fmt: str | None, out: Path | None, no_validate: bool, output_format: str,
            jobs: int) -> None:
    """Map EHR input (JSON payload, HL7 v2, CSV, NDJSON) to national-return bundles."""
    try:
        fmt = fmt or guess_format(file if file != "-" else "stdin")
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    path = None if file == "-" else Path(file)
    if path is not None and not path.is_file():
        fail("map", f"{file}: no such file")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    mapper = MappingPipeline(validate=not no_validate)
    newline = "" if fmt == "csv" else None
    label = "stdin" if path is None else str(path)
    try:
        source = sys.stdin if path is None else path.open(encoding="utf-8-sig", newline=newline)
        with source:
            if PARSERS[fmt].batch:
                size = path.stat().st_size if path is not None else None
                status = _run_batch(mapper, fmt, source, label, out, size, jobs or usable_cores())
            else:
                status = _run_single(mapper, fmt, source, label, out, output_format == "json")
    except UnicodeDecodeError as exc:
        click.echo(f"fhir-family map: {label}: not UTF-8 text ({exc.reason} at byte {exc.start})", err=True)
        status = ExitCode.UNUSABLE
    except BrokenProcessPool:
        click.echo(f"fhir-family map: {label}: a worker process died (killed, or out of memory); the files "
                   "written so far are incomplete: map again, or with --jobs 1", err=True)
        status = ExitCode.UNUSABLE
    except OSError as exc:
        click.echo(f"fhir-family map: {label}: {exc.strerror or exc}", err=True)
        status = ExitCode.UNUSABLE
    sys.exit(status)
