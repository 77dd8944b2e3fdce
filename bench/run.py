"""Runs every benchmark in bench/ in one process and prints the figures beside their baselines.

Each ``bench/bench_*.py`` module exposes ``run() -> list[Row]``. A row is one measured figure and, where the
issue names one, the baseline it is judged against, measured in the same run; the ratio is printed so a reader
sees at once whether the target holds (a row that names the issue's target ratio prints it and whether this
run met it). Usage: ``make bench`` or ``python bench/run.py [NAME_SUBSTRING ...]``.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Row:
    """One figure. ``lower_is_better`` says how to read the ratio (time: lower; throughput: higher)."""

    name: str
    value: float
    unit: str
    baseline_name: str | None = None
    baseline_value: float | None = None
    lower_is_better: bool = True
    #: the issue's target for ``ratio`` (at most, or at least when higher is better), if it names one
    target: float | None = None

    @property
    def ratio(self) -> float | None:
        if not self.baseline_value:
            return None
        return self.value / self.baseline_value

    @property
    def verdict(self) -> str:
        """The target and whether this run meets it: ``<=0.10 met``, ``>=1.00 NOT met``, or nothing."""
        if self.target is None or self.ratio is None:
            return ""
        met = self.ratio <= self.target if self.lower_is_better else self.ratio >= self.target
        return f"{'<=' if self.lower_is_better else '>='}{self.target:.2f} {'met' if met else 'NOT met'}"


def _load(path: Path):
    """A bench module by its path, registered in ``sys.modules`` first as an import would be (a dataclass in
    it looks its module up there while the class is built)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.path.insert(0, str(BENCH_DIR))
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _format(rows: list[Row]) -> str:
    header = (
        f"{'benchmark':44} {'value':>12} {'unit':8} {'baseline':38} {'baseline value':>14} {'ratio':>7} "
        f"{'target':14}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else ""
        base_value = f"{row.baseline_value:.3f}" if row.baseline_value is not None else ""
        baseline = row.baseline_name or ""
        figures = f"{row.value:12.3f} {row.unit:8} {baseline:38} {base_value:>14} {ratio:>7} {row.verdict}"
        lines.append(f"{row.name:44} {figures}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    selected = [p for p in sorted(BENCH_DIR.glob("bench_*.py")) if not argv or any(a in p.stem for a in argv)]
    rows: list[Row] = []
    for path in selected:
        print(f"running {path.stem} ...", file=sys.stderr, flush=True)
        rows.extend(_load(path).run())
    print(_format(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
