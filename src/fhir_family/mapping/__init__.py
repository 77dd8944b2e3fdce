"""EHR input (JSON payload, HL7 v2, CSV, NDJSON) -> ReturnRecord -> national-return Bundle, validated.

The public surface, for use as a library::

    from fhir_family.mapping import MappingPipeline, get_parser
    mapped = MappingPipeline().map_text(get_parser("hl7v2"), text)   # .bundle or .outcome

No Flask, no SQLAlchemy, no network (see README.md in this package).
"""

from .bundle import build_bundle as build_bundle
from .factory import PARSERS as PARSERS
from .factory import get_parser as get_parser
from .factory import guess_format as guess_format
from .pipeline import Mapped as Mapped
from .pipeline import MappingPipeline as MappingPipeline
from .record import ChildRecord as ChildRecord
from .record import ReturnRecord as ReturnRecord

__all__ = [
    "PARSERS",
    "ChildRecord",
    "Mapped",
    "MappingPipeline",
    "ReturnRecord",
    "build_bundle",
    "get_parser",
    "guess_format",
]
