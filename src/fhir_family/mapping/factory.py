"""Choose a parser by format name, media type or file name; an unknown name is a clear error, not a guess."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from .base import Parser
from .csv_batch import CsvParser
from .hl7v2 import Hl7v2Parser
from .ndjson import NdjsonParser
from .payload import JsonPayloadParser

PARSERS: Final[dict[str, type[Parser]]] = {
    parser.name: parser for parser in (JsonPayloadParser, Hl7v2Parser, CsvParser, NdjsonParser)
}
"""Format name -> parser class, in the order ``--from`` lists them."""


def get_parser(name: str) -> Parser:
    """A parser for format ``name``; ValueError naming the known formats otherwise."""
    try:
        return PARSERS[name]()
    except KeyError:
        raise ValueError(f"unknown input format {name!r}; expected one of: {', '.join(PARSERS)}") from None


def format_for_media_type(media_type: str, candidates: tuple[str, ...] = tuple(PARSERS)) -> str | None:
    """The format among ``candidates`` that arrives as ``media_type`` (parameters ignored), if any."""
    bare = media_type.split(";", 1)[0].strip().lower()
    for name in candidates:
        if bare in PARSERS[name].media_types:
            return name
    return None


def guess_format(path: str | Path) -> str:
    """The format a file name implies by its ending; ValueError when it implies none."""
    suffix = Path(path).suffix.lower()
    for name, parser in PARSERS.items():
        if suffix in parser.extensions:
            return name
    known = ", ".join(ext for parser in PARSERS.values() for ext in parser.extensions)
    raise ValueError(f"cannot tell the format of {Path(path).name!r} from its name ({known}); use --from")
