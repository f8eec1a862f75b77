# Rapport — the two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCK := requirements/ci.lock
# The fast loop leaves out Spark, PostgreSQL and tests marked slow (by hand, or by the rule
# of tests/conftest.py: analytics engines other than DuckDB on SQLite, browsers). Both test
# targets keep compiled test modules between runs even where PYTHONDONTWRITEBYTECODE is set:
# rewriting the asserts of every test module again costs each worker about ten seconds.
FAST := not spark and not postgres and not slow
MIN_VENV := .venv-min
# Types are checked against the locked versions; test-min sets MYPY=true to skip it.
MYPY = $(BIN)/mypy

.PHONY: install demo test test-fast test-min typecheck lint format lock bench clean

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c $(LOCK) -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) ## create .venv and install Rapport with its dev tools (versions of requirements/ci.lock)

demo: install ## the main job on embedded defaults (SQLite + DuckDB in ./rapport.db)
	$(BIN)/rapport demo

test: install ## the whole test suite (PostgreSQL too when RAPPORT_TEST_POSTGRES_URL is set)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n auto --dist loadgroup

test-fast: install ## ruff, mypy and the tests without Spark, PostgreSQL and slow ones
	$(BIN)/ruff check src tests benchmarks scripts
	$(MYPY)
	RAPPORT_TEST_POSTGRES_URL= PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n auto --dist loadgroup -m "$(FAST)"

# The lowest versions pyproject.toml allows for Rapport's own dependencies (uv's
# lowest-direct resolution) in .venv-min, then the fast loop on them. Run by hand, not in CI.
test-min: ## the fast loop on the declared minimum versions (.venv-min)
	$(PYTHON) -m venv $(MIN_VENV)
	echo '*' > $(MIN_VENV)/.gitignore
	$(MIN_VENV)/bin/pip install --quiet uv
	$(MIN_VENV)/bin/uv pip install --python $(MIN_VENV)/bin/python \
		--resolution lowest-direct -e ".[dev]"
	touch $(MIN_VENV)/.installed-stamp
	$(MAKE) test-fast VENV=$(MIN_VENV) MYPY=true

typecheck: install
	$(BIN)/mypy

lint: install
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

format: install
	$(BIN)/ruff format src tests benchmarks scripts
	$(BIN)/ruff check --fix src tests benchmarks scripts

lock: install ## write requirements/ci.lock from .venv (after changing a dependency)
	{ sed -n '1,2p' $(LOCK); $(BIN)/pip freeze --exclude-editable; } > $(LOCK).new
	mv $(LOCK).new $(LOCK)

clean:
	rm -rf $(VENV) $(MIN_VENV) rapport.db rapport.db-wal rapport.db-shm .rapport .pytest_cache .mypy_cache
