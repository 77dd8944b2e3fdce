"""``fhir-family submit FILE... --to URL``: map and validate returns, then send them to a collector.

A file may hold national-return Bundles (``.json``, or ``.ndjson`` one per line) or EHR input (a JSON
payload, HL7 v2 ``.hl7``, CSV or NDJSON payload batches): everything goes through the same mapping and
validation as the facade, and only conformant bundles are sent. Sending retries on 429/502/503/504 and
connection errors (a resend is a no-op at the collector, by submission id). The token is ``--token`` or
``$FHIR_FAMILY_TOKEN``.

``--via mesh`` sends all conformant returns of the command as one MESH message instead (settings from
``FHIR_FAMILY_MESH_*``), and ``--via mesh --fetch-outcomes DIR`` saves and shows the collector's per-line
outcomes (docs/mesh.md).

Output: one line on stderr per rejected return (``FILE[:LINE]: rejected (HTTP 422): why``), then a summary.
Exit status: 0 all accepted, 1 any rejected, 2 an input could not be read or the collector was unreachable.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from fhir_family import messages as msg

from ..errors import FhirFamilyError, InputError
from ..jsontext import json_bundle
from ..mapping.pipeline import Mapped, MappingPipeline
from .exits import ExitCode, fail

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
        issue = Issue(
            severity=IssueSeverity.ERROR,
            code=IssueType.STRUCTURE,
            diagnostics=text,
            expression=None,
            message_id=msg.SUBMIT_NOT_BUNDLE,
        )
        return Mapped(None, operation_outcome([issue]), 400, number)
    return pipeline.validate_bundle(bundle, number)


def _first_line_is_bundle(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8-sig") as lines:
            first = next((line for line in lines if line.strip()), "")
    except (OSError, UnicodeDecodeError):
        return False  # read_text below reports it
    return json_bundle(first) is not None


def read_items(path: Path, pipeline: MappingPipeline, fmt: str | None) -> Iterator[Item]:
    """Every return in ``path``, mapped and validated; raises FhirFamilyError when the file is unusable."""
    from ..mapping.factory import get_parser, guess_format

    suffix = path.suffix.lower()
    if fmt is None and suffix in (".ndjson", ".jsonl") and _first_line_is_bundle(path):
        # A file of Bundles (as for $import), not of EHR payloads: read line by line, so a month-end file
        # is never held in memory whole.
        try:
            with path.open(encoding="utf-8-sig") as lines:
                for number, line in enumerate(lines, 1):
                    if line.strip():
                        yield Item(f"{path}:{number}", _bundle_line(pipeline, line, number))
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read ({exc.__class__.__name__}: {exc})") from exc
        return
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc.__class__.__name__}: {exc})") from exc
    if fmt is None and suffix == ".json":
        bundle = json_bundle(text)
        if bundle is not None:
            yield Item(str(path), pipeline.validate_bundle(bundle, None))
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
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--to", "url", default=None, help="The collector's FHIR base URL (--via https).")
@click.option(
    "--via",
    type=click.Choice(["https", "mesh"]),
    default="https",
    show_default=True,
    help="https: POST each return; mesh: one MESH message for all of them (docs/mesh.md).",
)
@click.option("--mailbox", default=None, help="--via mesh: our mailbox (default $FHIR_FAMILY_MESH_MAILBOX).")
@click.option("--to-mailbox", default=None, help="--via mesh: collector's mailbox ($FHIR_FAMILY_MESH_TO).")
@click.option(
    "--fetch-outcomes",
    "outcomes_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="--via mesh: save the collector's outcome messages in this folder and show them.",
)
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
    url: str | None,
    via: str,
    mailbox: str | None,
    to_mailbox: str | None,
    outcomes_dir: Path | None,
    token: str | None,
    fmt: str | None,
    retries: int,
    timeout: float,
    ca_bundle: str | None,
) -> None:
    """Map, validate and send returns to a collector."""
    from ..collector.client import TOKEN_ENV, CollectorClient, ForwardingError

    if via == "mesh":
        _submit_by_mesh(files, fmt, mailbox, to_mailbox, outcomes_dir)
    if outcomes_dir is not None:
        click.echo("fhir-family submit: --fetch-outcomes needs --via mesh", err=True)
        sys.exit(ExitCode.UNUSABLE)
    if not files or not url:
        click.echo("fhir-family submit: give FILES and --to URL (or --via mesh)", err=True)
        sys.exit(ExitCode.UNUSABLE)

    token = token or os.environ.get(TOKEN_ENV)
    if not token:
        # Once, before any file: every file would otherwise come back 401 with the same hint.
        fail(
            "submit",
            f"no token: set {TOKEN_ENV} or --token (a provider token: fhir-family collector "
            "add-token --help)",
        )
    pipeline = MappingPipeline()
    accepted = rejected = 0
    unusable: list[str] = []
    try:
        client = CollectorClient(
            url, token, retries=retries, timeout=(5.0, timeout), verify=ca_bundle or True
        )
    except FhirFamilyError as exc:
        fail("submit", str(exc))
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
        sys.exit(ExitCode.UNUSABLE)
    click.echo(
        f"{accepted} accepted, {rejected} rejected"
        + (f", {len(unusable)} file(s) unusable" if unusable else "")
    )
    sys.exit(ExitCode.UNUSABLE if unusable else ExitCode.REJECTED if rejected else ExitCode.OK)


def _submit_by_mesh(
    files: tuple[Path, ...],
    fmt: str | None,
    mailbox: str | None,
    to_mailbox: str | None,
    outcomes: Path | None,
) -> None:
    """``--via mesh``: the conformant returns of all FILES as one MESH message, and/or fetch outcomes."""
    from . import mesh

    settings = mesh.mesh_settings(mailbox, to_mailbox)
    if not files and outcomes is None:
        click.echo("fhir-family submit: give FILES to send, or --fetch-outcomes DIR", err=True)
        sys.exit(ExitCode.UNUSABLE)
    rejected = unusable = 0
    if files:
        pipeline = MappingPipeline()

        def conformant() -> Iterator[dict[str, Any]]:
            nonlocal rejected, unusable
            for path in files:
                try:
                    for item in read_items(path, pipeline, fmt):
                        if item.mapped.bundle is None:
                            rejected += 1
                            status, why = item.mapped.status, _why(item.mapped.outcome)
                            click.echo(f"{item.where}: rejected (HTTP {status}, not sent): {why}", err=True)
                        else:
                            yield item.mapped.bundle
                except FhirFamilyError as exc:
                    unusable += 1
                    click.echo(str(exc), err=True)

        try:
            message_id, local_id, count = mesh.send_bundles(settings, conformant())
        except FhirFamilyError as exc:
            click.echo(f"fhir-family submit: {exc}", err=True)
            sys.exit(ExitCode.UNUSABLE)
        click.echo(
            f"{count} return(s) sent by MESH to {settings.to_mailbox} as message {message_id} "
            f"(local id {local_id}), {rejected} rejected before sending"
        )
    status = ExitCode.UNUSABLE if unusable else ExitCode.REJECTED if rejected else ExitCode.OK
    if outcomes is not None:
        status = max(status, mesh.show_outcomes(settings, outcomes))
    sys.exit(status)
