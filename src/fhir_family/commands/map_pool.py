"""Both cores for a batch ``fhir-family map``: returns built and validated in worker processes, in order.

A return's cost is Python under one GIL: checking it against the payload contract (~0.1 ms; ~0.8 ms for an
invalid one, whose issues jsonschema words), building its Bundle and validating it (~1.2 ms). Grouping CSV
rows into returns, or splitting NDJSON lines, is a small part (the command's process used ~0.06 ms a
return). So the command's process reads (``Parser.iter_read``) and writes, and ``processes`` workers forked
from it (after it loaded the validator and mapped the first chunk itself, so they share those pages and start
at once) check, build, validate and serialise chunks of returns (``Parser.check``,
``MappingPipeline.map_parsed``). A chunk's results come back as the NDJSON lines to write,
and are written in the input's order. At most ``processes * AHEAD`` chunks are in flight, so memory stays
flat however long the input is. What could not be read at all (a bad header, a row the csv module refuses)
is answered by the reading process.

Only where ``fork`` exists (Linux): elsewhere, and with ``--jobs 1``, everything runs in the one process.
The workers cost ~9% more CPU in all (pickling, queues) and pay only with a free core: on a machine whose
other work keeps the cores busy (Linux's autogroup scheduler gives each login session an equal share, however
many processes it runs) ``--jobs 1`` is as fast.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..jsontext import dumps_compact
from ..mapping.base import Parsed, Parser
from ..mapping.pipeline import Mapped, MappingPipeline

CHUNK = 32
"""Returns per task: large enough that pickling and queueing are a small share, small enough to keep both
workers busy to the end of a short file."""
AHEAD = 4
"""Chunks in flight per worker: enough to keep it fed while the reader is slower for a moment."""
_work: tuple[Parser, MappingPipeline] | None = None
"""The parser and pipeline each worker inherits from the command's process at fork."""


@dataclass(frozen=True, slots=True)
class Written:
    """One input item as the command writes it: the Bundle's NDJSON line (when it conforms) and the
    OperationOutcome's (when it failed, or has warnings), already serialised."""

    ok: bool
    bundle: str | None
    outcome: str | None


def written(mapped: Mapped) -> Written:
    """``mapped`` serialised once, as ``bundles.ndjson`` and ``outcomes.ndjson`` lines."""
    if mapped.ok:
        warned = any(issue.get("severity") == "warning" for issue in mapped.outcome["issue"])
        return Written(True, dumps_compact(mapped.bundle), dumps_compact(mapped.outcome) if warned else None)
    return Written(False, None, dumps_compact(mapped.outcome))


def usable_cores() -> int:
    """The cores this process may run on (its affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def map_items(mapper: MappingPipeline, parser: Parser, lines: Iterable[str], processes: int
              ) -> Iterator[Written]:
    """Every item of the batch in ``lines``, mapped by ``mapper``, in input order: in ``processes`` forked
    workers when more than one is asked for and ``fork`` is available, else in this process."""
    if processes <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for parsed in parser.iter_parse(lines):
            yield written(mapper.map_parsed(parsed))
        return
    # The first chunk here: what is built on first use (each profile's structures, the payload schema's
    # compiled check) is then built once and inherited; and a file of one chunk never forks at all.
    chunks = _chunks(parser.iter_read(lines), CHUNK)
    for item in next(chunks, []):
        yield written(mapper.map_parsed(parser.check(item)))
    yield from _in_workers(mapper, parser, chunks, processes)


def _in_workers(mapper: MappingPipeline, parser: Parser, chunks: Iterator[list[Any]], processes: int
                ) -> Iterator[Written]:
    global _work
    if mapper.validate:
        mapper.validator  # noqa: B018 - loaded once here, shared by the workers forked below
    _work = (parser, mapper)
    gc.freeze()  # what is loaded now stays: a worker's collections neither walk nor copy those pages
    # concurrent.futures, not multiprocessing.Pool: a worker that dies (killed, out of memory) fails the map
    # with BrokenProcessPool instead of leaving its chunk's result awaited for ever. With fork it starts every
    # worker at the first submit, before its own management thread exists.
    pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"))
    try:
        pending: deque[tuple[list[Any], Future | None]] = deque()
        for chunk in chunks:
            sent = [item for item in chunk if not _unreadable(item)]
            pending.append((chunk, pool.submit(_map_chunk, sent) if sent else None))
            if len(pending) >= processes * AHEAD:
                yield from _collect(mapper, *pending.popleft())
        while pending:
            yield from _collect(mapper, *pending.popleft())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()
        _work = None


def _unreadable(item: Any) -> bool:
    """A Parsed that failed reading: answered here (its error need not cross to a worker and back)."""
    return isinstance(item, Parsed) and item.record is None


def _collect(mapper: MappingPipeline, chunk: list[Any], result: Future | None) -> Iterator[Written]:
    """The chunk's items in order: the workers' answers, and those of unreadable items answered here."""
    answers = iter(result.result() if result is not None else ())
    for item in chunk:
        yield written(mapper.map_parsed(item)) if _unreadable(item) else next(answers)


def _map_chunk(items: list[Any]) -> list[Written]:
    assert _work is not None, "a worker forked without its parser and pipeline"
    parser, mapper = _work
    return [written(mapper.map_parsed(parser.check(item))) for item in items]


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
