"""Server-side SVG bar charts for the dashboard, drawn with matplotlib (the ``dashboard`` extra).

No JavaScript, no fonts or images fetched: the SVG is inline in the page, text stays text (searchable,
readable by screen readers) and the output is deterministic (no date, fixed hash salt). Each bar carries an
id ``bar-{series}-{x}`` so a test can count what was drawn; a suppressed value (``*``) draws no bar but a
``*`` above its place, so a hidden figure is visibly hidden rather than shown as zero.
"""

from __future__ import annotations

import io
from typing import Any

from ..errors import FhirFamilyError
from .dashboard_data import Chart
from .disclosure import SUPPRESSED

PALETTE = ("#005eb8", "#41b6e6", "#ffb81c", "#ed8b00", "#768692", "#330072")
"""NHS identity colours: blue, light blue, warm yellow, orange, mid grey, purple."""


class ChartsUnavailableError(FhirFamilyError):
    """matplotlib is not installed: HTTP 501 naming the extra."""

    http_status = 501


def _figure_class() -> Any:
    try:
        import matplotlib

        matplotlib.rcParams["svg.hashsalt"] = "fhir-family"
        matplotlib.rcParams["svg.fonttype"] = "none"
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ChartsUnavailableError(
            "The dashboard draws its charts with matplotlib: pip install 'fhir-family[dashboard]'"
        ) from exc
    return Figure


def bar_svg(chart: Chart) -> str:
    """The chart as an SVG document (grouped bars, one group per row, one bar per series)."""
    figure = _figure_class()(figsize=(7.2, 3.4), dpi=100)
    axes = figure.add_subplot()
    labels = [str(row["label"]) for row in chart.rows]
    count = max(1, len(chart.series))
    width = 0.8 / count
    top = max(
        [float(row[s]) for row in chart.rows for s in chart.series if row.get(s) not in (None, SUPPRESSED)]
        or [1.0]
    )
    for s_index, series in enumerate(chart.series):
        labelled = False  # the legend names a series at its first drawn bar (the first may be suppressed)
        for x_index, row in enumerate(chart.rows):
            value = row.get(series)
            x = x_index - 0.4 + width * (s_index + 0.5)
            if value in (None, SUPPRESSED):
                axes.text(x, top * 0.02, SUPPRESSED, ha="center", va="bottom", fontsize=9, color="#a00")
                continue
            (bar,) = axes.bar(
                x, float(value), width * 0.95, color=PALETTE[s_index % len(PALETTE)],
                label=None if labelled else series,
            )
            labelled = True
            bar.set_gid(f"bar-{s_index}-{x_index}")
    axes.set_xticks(range(len(labels)), labels, fontsize=8, rotation=0 if len(labels) < 8 else 45)
    axes.set_xlabel(chart.x_title, fontsize=9)
    axes.set_ylabel("% of returns" if chart.percent else "count (rounded to 5)", fontsize=9)
    axes.set_ylim(0, top * 1.15)
    pad = max(0.6, (4 - len(labels)) / 2)  # few bars stay bar-shaped instead of filling the width
    axes.set_xlim(-pad, len(labels) - 1 + pad)
    axes.spines[["top", "right"]].set_visible(False)
    if len(chart.series) > 1 and axes.get_legend_handles_labels()[1]:
        axes.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if not chart.rows:
        axes.text(0.5, 0.5, "no current returns", ha="center", va="center", transform=axes.transAxes)
    figure.tight_layout()
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None})
    svg = out.getvalue()
    return svg[svg.index("<svg") :]  # inline in HTML: no XML declaration or DOCTYPE
