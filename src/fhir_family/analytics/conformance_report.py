"""``python -m fhir_family.analytics.conformance_report [--suite DIR] [--report FILE]``: the same as
``fhir-family analytics test-suite`` (per-file pass rate printed, the suite's JSON test report written)."""

from __future__ import annotations

if __name__ == "__main__":
    from ..commands.analytics import test_suite

    test_suite(prog_name="python -m fhir_family.analytics.conformance_report")
