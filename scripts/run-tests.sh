#!/usr/bin/env bash
# Runs the test suite. Starts a throwaway PostgreSQL (pg_ctl, temp dir, loopback) so the collector is tested
# against both SQLite and PostgreSQL for real, and always stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest "$@"
