"""``fhir-family submit FILE... --to URL``: map and validate returns, then send them to a collector.

A file may hold national-return Bundles (``.json``, or ``.ndjson`` one per line) or EHR input (a JSON
payload, HL7 v2 ``.hl7``, CSV or NDJSON payload batches): everything goes through the same mapping and
validation as the facade, and only conformant bundles are sent. Sending retries on 429/502/503/504 and
connection errors (a resend is a no-op at the collector, by submission id). The token is ``--token`` or
``$FHIR_FAMILY_TOKEN``.

Output: one line on stderr per rejected return (``FILE[:LINE]: rejected (HTTP 422): why``), then a summary.
Exit status: 0 all accepted, 1 any rejected, 2 an input could not be read or the collector was unreachable.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ..errors import FhirFamilyError, InputError
from ..jsontext import json_bundle
from ..mapping.pipeline import Mapped, MappingPipeline

BUNDLE_SUFFIXES = (".json", ".ndjson", ".jsonl")


@dataclass(frozen=True)
class Item:
    """One return read from a file: a conformant bundle to send, or why there is none."""

    where: str
    mapped: Mapped


def _bundle_line(pipeline: MappingPipeline, line: str, number: int) -> Mapped:
    from ..outcome import Issue, IssueSeverity, IssueType, operation_outcome

    bundle = json_bundle(line)
    if bundle is None:
        text = f"line {number} is not a JSON Bundle"
        issue = Issue(IssueSeverity.ERROR, IssueType.STRUCTURE, text, None, "FF-SUBMIT-NOT-BUNDLE")
        return Mapped(None, operation_outcome([issue]), 400, number)
    return pipeline.validate_bundle(bundle, number)


def read_items(path: Path, pipeline: MappingPipeline, fmt: str | None) -> Iterator[Item]:
    """Every return in ``path``, mapped and validated; raises FhirFamilyError when the file is unusable."""
    from ..mapping.factory import get_parser, guess_format

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc.__class__.__name__}: {exc})") from exc
    suffix = path.suffix.lower()
    if fmt is None and suffix == ".json":
        bundle = json_bundle(text)
        if bundle is not None:
            yield Item(str(path), pipeline.validate_bundle(bundle, None))
            return
    if fmt is None and suffix in (".ndjson", ".jsonl"):
        lines = text.splitlines()
        first = next((line for line in lines if line.strip()), "")
        if json_bundle(first) is not None:  # a file of Bundles (as for $import), not of EHR payloads
            for number, line in enumerate(lines, 1):
                if line.strip():
                    yield Item(f"{path}:{number}", _bundle_line(pipeline, line, number))
            return
    try:
        parser = get_parser(fmt or guess_format(path))
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from exc
    if parser.batch:
        for mapped in pipeline.map_stream(parser, text.splitlines(keepends=True)):
            yield Item(f"{path}:{mapped.line}" if mapped.line else str(path), mapped)
    else:
        yield Item(str(path), pipeline.map_text(parser, text))


def _why(resource: dict[str, Any]) -> str:
    for issue in resource.get("issue", []):
        if issue.get("severity") in ("error", "fatal"):
            where = issue.get("expression") or issue.get("location") or []
            suffix = f" at {where[0]}" if where else ""
            return f"{issue.get('diagnostics', issue.get('code'))}{suffix}"
    return "no reason given"


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--to", "url", required=True, help="The collector's FHIR base URL.")
@click.option("--token", default=None, help="Bearer token (default $FHIR_FAMILY_TOKEN).")
@click.option(
    "--from",
    "fmt",
    type=click.Choice(["json", "hl7v2", "csv", "ndjson"]),
    default=None,
    help="Input format of EHR files (default: from the file name; Bundles are recognised).",
)
@click.option("--retries", default=4, show_default=True, type=int)
@click.option("--timeout", default=60.0, show_default=True, type=float, help="Read timeout in seconds.")
@click.option(
    "--ca-bundle",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="CA certificates for a collector with a private CA (TLS is always verified).",
)
def command(
    files: tuple[Path, ...],
    url: str,
    token: str | None,
    fmt: str | None,
    retries: int,
    timeout: float,
    ca_bundle: str | None,
) -> None:
    """Map, validate and send returns to a collector."""
    from ..forwarding import CollectorClient, ForwardingError

    pipeline = MappingPipeline()
    accepted = rejected = 0
    unusable: list[str] = []
    try:
        client = CollectorClient(
            url, token, retries=retries, timeout=(5.0, timeout), verify=ca_bundle or True
        )
    except FhirFamilyError as exc:
        click.echo(f"fhir-family submit: {exc}", err=True)
        sys.exit(2)
    try:
        with client, click.progressbar(files, label="submitting", file=sys.stderr, show_pos=True) as progress:
            for path in progress:
                try:
                    for item in read_items(path, pipeline, fmt):
                        if item.mapped.bundle is None:
                            rejected += 1
                            status = item.mapped.status
                            click.echo(
                                f"\n{item.where}: rejected (HTTP {status}, not sent): "
                                f"{_why(item.mapped.outcome)}",
                                err=True,
                            )
                            continue
                        answer = client.submit(item.mapped.bundle)
                        if answer.accepted:
                            accepted += 1
                        else:
                            rejected += 1
                            click.echo(
                                f"\n{item.where}: rejected (HTTP {answer.status}): {_why(answer.resource)}",
                                err=True,
                            )
                except ForwardingError:
                    raise
                except FhirFamilyError as exc:
                    unusable.append(str(exc))
                    click.echo(f"\n{exc}", err=True)
    except ForwardingError as exc:
        click.echo(f"\nfhir-family submit: {exc} ({accepted} accepted before it failed)", err=True)
        sys.exit(2)
    click.echo(
        f"{accepted} accepted, {rejected} rejected"
        + (f", {len(unusable)} file(s) unusable" if unusable else "")
    )
    sys.exit(2 if unusable else 1 if rejected else 0)
