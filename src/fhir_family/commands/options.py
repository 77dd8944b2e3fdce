"""Options more than one command takes, declared once so their meaning and help cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

GUIDE_OPTION = click.option(
    "--guide", "guide_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Folder of the guide's JSON resources (default: profiles/fsh-generated/resources).",
)


def examples_option(uses: str) -> Callable[[Any], Any]:
    """``--examples DIR``: the examples folder; ``uses`` says what of it the command reads."""
    return click.option(
        "--examples", "examples_root", type=click.Path(file_okay=False, path_type=Path), default=None,
        help=f"Examples folder {uses} (default: examples/).",
    )


def out_option(default: str, help_text: str) -> Callable[[Any], Any]:
    """``--out DIR``: where the command writes."""
    return click.option(
        "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path(default),
        show_default=True, help=help_text,
    )
