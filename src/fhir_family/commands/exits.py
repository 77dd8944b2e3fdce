"""Exit codes of every ``fhir-family`` command, named once, and the one way to stop on unusable input.

A retired number stays here as a comment so it is never reused with another meaning.
"""

from __future__ import annotations

import sys
from enum import IntEnum
from typing import NoReturn

import click


class ExitCode(IntEnum):
    """What a command's exit status means, the same for every command."""

    OK = 0
    """Everything was read and all of it is fine."""
    REJECTED = 1
    """Everything was read, but some of it is invalid or was refused (validate, map, submit), or a server
    started by ``up`` stopped unexpectedly."""
    UNUSABLE = 2
    """Something could not be used at all: an unreadable or missing input, a bad option value, an unreachable
    collector, a guide that cannot be built. Matches click's own status for a usage error."""


def fail(command: str, message: str) -> NoReturn:
    """One line (or a short block) on standard error naming the command, then exit ``UNUSABLE``."""
    click.echo(f"fhir-family {command}: {message}", err=True)
    sys.exit(ExitCode.UNUSABLE)
