# mention-monitor — `make run` starts the service, `make test` runs the tests.
# Both create the virtual environment (.venv) on first use; nothing needs installing by hand.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: venv run demo test test-future lint format clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,postgres]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/mention-monitor run

demo: $(STAMP)
	$(VENV)/bin/mention-monitor demo

# The tests run in parallel, one worker per core (pytest-xdist), whole files to a worker so that a
# module's fixtures (a loaded model, a PostgreSQL server) are set up once; each worker has its own
# temp folders, ports and PostgreSQL server. `PYTEST_WORKERS=0 make test` runs them in one process.
PYTEST_WORKERS ?= auto
XDIST := -n $(PYTEST_WORKERS) --dist loadfile

test: $(STAMP)
	$(PY) -m pytest $(XDIST)

# The whole suite again with the wall clock of every Python process a year ahead
# (tests/clockshift/sitecustomize.py, time-machine): proves no test depends on today's date.
test-future: $(STAMP)
	MM_TEST_CLOCK_SHIFT_DAYS=365 PYTHONPATH=$(CURDIR)/tests/clockshift $(PY) -m pytest -p no:cacheprovider $(XDIST)

lint: $(STAMP)
	$(VENV)/bin/ruff check monitor sources alerts tests bench
	$(VENV)/bin/ruff format --check monitor sources alerts tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff format monitor sources alerts tests bench
	$(VENV)/bin/ruff check --fix monitor sources alerts tests bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
