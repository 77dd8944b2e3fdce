"""``/ehr/*``: what EHRs send (JSON payload, HL7 v2 ADT, CSV/NDJSON batches) -> validated national returns.

All three endpoints share one path: parser (chosen by name from the mapping factory) -> ``MappingPipeline``
(build_bundle, then validate). A single document answers with the Bundle, or with an OperationOutcome and
400 (unreadable) / 422 (unmappable or non-conformant). ``Prefer: return=OperationOutcome`` asks for the
OperationOutcome even on success, to see the warnings (a child left out, a default applied). A batch answers
200 with NDJSON streamed as it is read: one line per input item (Bundle or OperationOutcome, the latter
locating the input line) and a final OperationOutcome summarising the counts, so nothing is dropped silently.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from flask import Blueprint, Response, current_app, request, stream_with_context
from werkzeug.exceptions import RequestEntityTooLarge

from fhir_family import messages as msg
from fhir_family.limits import LINE_BYTES
from fhir_family.mapping.csv_batch import CsvParser
from fhir_family.mapping.factory import format_for_media_type, get_parser
from fhir_family.mapping.hl7v2 import Hl7v2Parser
from fhir_family.mapping.lines import DecodedLines, LineTooLong
from fhir_family.mapping.ndjson import NdjsonParser
from fhir_family.mapping.payload import JsonPayloadParser
from fhir_family.mapping.pipeline import Mapped, MappingPipeline
from fhir_family.outcome import LINE_EXTENSION, Issue, IssueSeverity, IssueType, operation_outcome
from fhir_family.request_budget import check_hl7_segments

from .error_handlers import current_request_id, log
from .http import NDJSON, body_text, dumps, fhir_response, require_media_type, response_media_type

blueprint = Blueprint("ehr", __name__, url_prefix="/ehr")

JSON_TYPES = JsonPayloadParser.media_types
HL7_TYPES = Hl7v2Parser.media_types
BATCH_TYPES = CsvParser.media_types + NdjsonParser.media_types
PREFER_OUTCOME = "return=operationoutcome"


def pipeline() -> MappingPipeline:
    """The app's pipeline (one per app, so the validator is loaded once)."""
    return current_app.extensions["fhir_family.pipeline"]


def _single_response(mapped: Mapped, media_type: str) -> Response:
    warnings = sum(1 for issue in mapped.outcome["issue"] if issue.get("severity") == "warning")
    headers = {"X-Mapping-Warnings": str(warnings)}
    if mapped.bundle is not None and PREFER_OUTCOME not in request.headers.get("Prefer", "").lower():
        return fhir_response(mapped.bundle, 200, headers, media_type=media_type)
    return fhir_response(mapped.outcome, mapped.status, headers, media_type=media_type)


@blueprint.post("/json")
def post_json() -> Response:
    """One JSON payload (schema ehr-payload-v2; v1 is refused with a 422 naming v2) -> Bundle."""
    require_media_type(JSON_TYPES)
    media_type = response_media_type()  # refuse an unacceptable Accept before doing the work
    return _single_response(pipeline().map_text(get_parser("json"), body_text()), media_type)


@blueprint.post("/hl7v2")
def post_hl7v2() -> Response:
    """One HL7 v2 ADT message (ER7, MLLP framing optional; UTF-8, else read as ISO-8859-1) -> Bundle."""
    require_media_type(HL7_TYPES)
    media_type = response_media_type()
    text = body_text(fallback_encoding="iso-8859-1")
    check_hl7_segments(text)
    return _single_response(pipeline().map_text(get_parser("hl7v2"), text), media_type)


@blueprint.post("/batch")
def post_batch() -> Response:
    """CSV or NDJSON batch -> streamed NDJSON of Bundles and OperationOutcomes (one per input item)."""
    media_type = require_media_type(BATCH_TYPES)
    request.max_content_length = current_app.config["BATCH_MAX_CONTENT_LENGTH"]
    name = format_for_media_type(media_type, ("csv", "ndjson"))
    assert name is not None  # require_media_type allowed only batch types
    parser, mapper = get_parser(name), pipeline()
    # Line by line, ends kept (the csv module sees quoted line breaks): a bad NDJSON line fails alone.
    # A bad NDJSON line is its own item: left out and reported. A bad CSV row is handed on marked, so the
    # parser fails the return it belongs to (a return spans rows) and reads on.
    lines = DecodedLines(
        io.BufferedReader(request.stream), skip_bad=name == "ndjson", max_line_bytes=LINE_BYTES,
        mark_bad=name == "csv",
    )

    def not_utf8(bad: list[tuple[int, UnicodeDecodeError | LineTooLong]]) -> Iterator[str]:
        for number, exc in bad:
            counts["failed"] += 1
            outcome = _not_utf8(number, exc) if isinstance(exc, UnicodeDecodeError) else _too_long(number)
            yield dumps(outcome) + "\n"

    counts = {"bundles": 0, "failed": 0}

    def generate() -> Iterator[str]:
        try:
            for mapped in mapper.map_stream(parser, lines):
                yield from not_utf8(lines.take_bad(before=mapped.line))
                counts["bundles" if mapped.ok else "failed"] += 1
                yield dumps(mapped.bundle if mapped.ok else mapped.outcome) + "\n"
            yield from not_utf8(lines.take_bad())
        except UnicodeDecodeError as exc:
            counts["failed"] += 1
            where = f"line {lines.stopped_at}" if lines.stopped_at else "here"
            text = (f"Batch is not UTF-8 ({exc.reason}): reading stopped at {where}; the return being read "
                    "there and everything after it were not mapped")
            yield dumps(_stopped(IssueType.STRUCTURE, text, msg.MAP_ENCODING)) + "\n"
        except LineTooLong:
            counts["failed"] += 1
            text = (f"Line {lines.stopped_at} is longer than {LINE_BYTES} bytes: reading stopped there; the "
                    "return being read there and everything after it were not mapped")
            yield dumps(_stopped(IssueType.TOO_LONG, text, msg.LINE_TOO_LONG)) + "\n"
        except RequestEntityTooLarge:
            counts["failed"] += 1
            limit = request.max_content_length
            text = f"Batch is larger than the limit of {limit} bytes: reading stopped here"
            yield dumps(_stopped(IssueType.TOO_LONG, text, msg.http_status(413))) + "\n"
        except Exception:  # a bug mid-stream: the 200 is already sent, so say so in-band, never a traceback
            log.exception("unexpected error in batch [request_id=%s]", current_request_id())
            counts["failed"] += 1
            text = f"Internal error, reading stopped here. Quote request id {current_request_id()}."
            yield dumps(_stopped(IssueType.EXCEPTION, text, msg.http_status(500))) + "\n"
        yield dumps(_summary(counts)) + "\n"

    return Response(stream_with_context(generate()), status=200, mimetype=NDJSON)


def _stopped(code: IssueType, text: str, message_id: str) -> dict:
    return operation_outcome(
        [Issue(severity=IssueSeverity.ERROR, code=code, diagnostics=text, message_id=message_id)]
    )


def _not_utf8(number: int, exc: UnicodeDecodeError) -> dict:
    """The outcome of one NDJSON line that is not UTF-8 (the lines around it are read as usual)."""
    text = f"Line {number} is not UTF-8 text (byte {exc.start} of the line): this line was not read"
    where = {"location": [f"line {number}"], "extension": [{"url": LINE_EXTENSION, "valueInteger": number}]}
    issue = Issue(
        severity=IssueSeverity.ERROR,
        code=IssueType.STRUCTURE,
        diagnostics=text,
        expression=None,
        message_id=msg.MAP_ENCODING,
        extra=where,
    )
    return operation_outcome([issue])


def _too_long(number: int) -> dict:
    """The outcome of one NDJSON line over the line limit (read past, never held; the lines around it are
    read as usual)."""
    text = f"Line {number} is longer than {LINE_BYTES} bytes (one return is a few KB): this line was not read"
    where = {"location": [f"line {number}"], "extension": [{"url": LINE_EXTENSION, "valueInteger": number}]}
    issue = Issue(
        severity=IssueSeverity.ERROR,
        code=IssueType.TOO_LONG,
        diagnostics=text,
        expression=None,
        message_id=msg.LINE_TOO_LONG,
        extra=where,
    )
    return operation_outcome([issue])


def _summary(counts: dict[str, int]) -> dict:
    text = f"Batch finished: {counts['bundles']} bundles, {counts['failed']} items failed"
    issue = Issue(
        severity=IssueSeverity.INFORMATION,
        code=IssueType.INFORMATIONAL,
        diagnostics=text,
        message_id=msg.BATCH_SUMMARY,
    )
    return operation_outcome([issue])
