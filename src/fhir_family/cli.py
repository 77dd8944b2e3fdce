"""One command line for all of fhir-family: ``fhir-family <command>``.

Each command lives in its own module under ``fhir_family.commands`` so the CLI stays a thin index; a command
module is imported only when its command runs, so ``fhir-family --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from .commands.exits import ExitCode
from .errors import FhirFamilyError

#: command name -> (module under fhir_family.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("validate", "Validate bundles or resources against the guide and R4."),
    "map": ("map", "Map EHR input (JSON payload, HL7 v2, CSV, NDJSON) to national-return bundles."),
    "serve": ("serve", "Run the facade HTTP API under gunicorn."),
    "serve-token": ("serve_token", "Issue, list and revoke the facade's EHR-feed bearer tokens."),
    "collector": ("collector", "Run the national collector HTTP API under gunicorn."),
    "up": ("up", "Start facade and collector on loopback with SQLite and the examples loaded."),
    "submit": ("submit", "Map, validate and send returns to a collector."),
    "report": ("report", "Print the collector's aggregate report with disclosure control."),
    "export": ("export", "Export pseudonymised data as Bulk-Data NDJSON."),
    "analytics": ("analytics", "SQL on FHIR views: test suite, DuckDB/Parquet materialisation, report."),
    "build": ("build", "Build the guide as a FHIR NPM package (dist/*.tgz)."),
    "pages": ("pages", "Build the guide's static HTML pages."),
    "packages": ("packages", "Install and list FHIR packages (R4 core, UK Core ...) in the package cache."),
}


COMMAND_KEY = "fhir_family.command"
#: command -> the extra that brings what it needs beyond the core install (see pyproject.toml)
COMMAND_EXTRAS: dict[str, str] = {
    "serve": "facade",
    "collector": "collector",
    "report": "collector",
    "export": "collector",
    "up": "all",
    "analytics": "analytics",
}
#: third-party modules that only an extra installs -> that extra (None: the command's own extra)
EXTRA_MODULES: dict[str, str | None] = {
    "hl7apy": "hl7",
    "flask": None,
    "werkzeug": None,
    "gunicorn": None,
    "sqlalchemy": None,
    "alembic": None,
    "psycopg": None,
    "duckdb": "analytics",
    "pyarrow": "analytics",
    "pyspark": "spark",
    "mesh_client": "mesh",
}


def missing_extra(command_name: str, error: ModuleNotFoundError) -> str | None:
    """The extra to install when ``error`` is a module that only an extra provides; None for anything else."""
    top = (error.name or "").partition(".")[0]
    if top not in EXTRA_MODULES:
        return None
    return EXTRA_MODULES[top] or COMMAND_EXTRAS.get(command_name, "all")


class LazyGroup(click.Group):
    """A click group that imports a command's module only when that command is invoked.

    A command run without the extra it needs (``pip install fhir-family[validator]`` has no Flask) says
    which extra to install, in one line, exit 2, instead of a ModuleNotFoundError traceback.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as exc:
            name = ctx.meta.get(COMMAND_KEY, "")
            extra = missing_extra(name, exc)
            if extra is None:
                raise
            click.echo(
                f"fhir-family {name}: needs the '{extra}' extra ({exc.name} is not installed): "
                f"pip install 'fhir-family[{extra}]'",
                err=True,
            )
            sys.exit(ExitCode.UNUSABLE)
        except FhirFamilyError as exc:  # e.g. the R4 core package not installed: one line, not a traceback
            click.echo(f"fhir-family {ctx.meta.get(COMMAND_KEY, '')}: {exc}", err=True)
            sys.exit(ExitCode.UNUSABLE)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        ctx.meta[COMMAND_KEY] = cmd_name  # for invoke()'s message when an extra is missing
        module_name, _help = COMMANDS[cmd_name]
        module = importlib.import_module(f"fhir_family.commands.{module_name}")
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_module, help_text) in sorted(COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(package_name="fhir-family")
def main() -> None:
    """fhir-family: parents and carers of dependent children in adult mental health services, in FHIR R4."""
