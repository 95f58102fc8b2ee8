# Zenyard: the two commands the README gives are `make up` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8080
DATA_DIR ?= $(HOME)/.zenyard

.PHONY: venv up test test-fast test-docker bench clean

$(BIN)/zenyard: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(BIN)/zenyard

## Start the API and a worker on the embedded default (SQLite, no broker).
up: venv
	$(BIN)/zenyard up --port $(PORT) --data-dir $(DATA_DIR)

## Install what the tests need, then run the suite (SQLite, PostgreSQL,
## MariaDB, Redis, the real zenml client, headless Chromium, and template
## runs on a real Docker engine and registry, which the tests start and stop).
test: venv
	bash scripts/test-deps.sh
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

## Only the template runs on the real Docker engine (see docs/template-runs.md).
test-docker: venv
	bash scripts/test-deps.sh
	$(BIN)/python -m pytest -p no:cacheprovider -m docker $(PYTEST_ARGS)

## The suite without the slow compatibility tests.
test-fast: venv
	$(BIN)/python -m pytest -p no:cacheprovider -m "not compat" $(PYTEST_ARGS)

## Performance figures, as JSON.
bench: venv
	@$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .cache
