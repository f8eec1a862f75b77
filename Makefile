# Rapport — the two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) ## create .venv and install Rapport with its dev tools

demo: install ## the main job on embedded defaults (SQLite + DuckDB in ./rapport.db)
	$(BIN)/rapport demo

test: install ## the whole test suite (PostgreSQL too when RAPPORT_TEST_POSTGRES_URL is set)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/pytest -n auto --dist loadgroup

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: install
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) rapport.db rapport.db-wal rapport.db-shm .rapport .pytest_cache
