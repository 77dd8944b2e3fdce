"""Both cores for one ``$import`` job: worker processes check the lines while the job's thread stores them.

Checking a line (profile validation, facts, pseudonymisation: ``import_lines.prepare_line``) is Python CPU
and holds the GIL, so threads cannot run it on two cores; processes can. The pool is forked from the
process running the job (Linux), after its validator is loaded, so the workers share the loaded
definitions and use exactly the collector's validator and key; it lives as long as the job. Lines go out in
chunks, a few chunks per worker ahead, and come back in order, so the writer stores batch N while the
workers check batch N+1 and memory stays bounded. A worker never touches the database: its engine is
disowned at start (``dispose(close=False)``: the parent's connections stay the parent's), and a refusal it
finds comes back to be audited by the writer. A worker whose parent dies (``kill -9``) exits within a
second.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice

from .import_lines import PreparedLine, prepare_line
from .service import Collector
from .tokens import Principal

CHUNK_LINES = 20
"""Lines per message to a worker: large enough that pickling is a small share, small enough to balance."""
AHEAD = 4
"""Chunks queued per worker beyond the one it is checking (bounds the memory of lines in flight)."""

_collector: Collector | None = None


def _start_worker(collector: Collector) -> None:
    global _collector
    # What the worker inherited (the loaded validator) is never garbage here: frozen, a full collection does
    # not walk it, which would write to its pages and so copy them from the parent
    gc.freeze()
    _collector = collector
    collector.engine.dispose(close=False)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _prepare_chunk(principal: Principal, chunk: list[tuple[int, str | None]]) -> list[PreparedLine]:
    assert _collector is not None
    return [prepare_line(_collector, principal, number, text, in_worker=True) for number, text in chunk]


def prepared_lines(
    collector: Collector, principal: Principal, lines: Iterable[tuple[int, str | None]], processes: int
) -> Iterator[PreparedLine]:
    """Each line checked in one of ``processes`` forked workers, in input order."""
    collector.validator  # noqa: B018 - loaded before the fork, so every worker inherits it
    context = multiprocessing.get_context("fork")
    iterator = iter(lines)
    with ProcessPoolExecutor(
        processes, mp_context=context, initializer=_start_worker, initargs=(collector,)
    ) as pool:
        in_flight: deque[Future[list[PreparedLine]]] = deque()
        while chunk := list(islice(iterator, CHUNK_LINES)):
            in_flight.append(pool.submit(_prepare_chunk, principal, chunk))
            if len(in_flight) > processes * AHEAD:
                yield from in_flight.popleft().result()
        while in_flight:
            yield from in_flight.popleft().result()
