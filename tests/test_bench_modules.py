"""`make bench` loads every bench module the way bench/run.py does: each must at least load (a bench that
crashes on import stops the whole run, and nothing else would notice: CI does not run the benches)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _runner():
    spec = importlib.util.spec_from_file_location("bench_runner", BENCH / "run.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", sorted(BENCH.glob("bench_*.py")), ids=lambda p: p.stem)
def test_every_bench_module_loads_as_make_bench_loads_it(path: Path) -> None:
    module = _runner()._load(path)
    assert callable(getattr(module, "run", None)), f"{path.name} has no run()"
