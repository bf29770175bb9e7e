# The two commands a district needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test test-postgres bench setup translations clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,redis]'
	touch $(STAMP)

setup: $(STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d reslib/translations >/dev/null

# Serve a demo district on SQLite; data in instance/ survives re-runs.
run: setup
	$(BIN)/reslib db upgrade
	$(BIN)/reslib demo --if-empty
	$(BIN)/reslib run --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/pytest -q

# The same suite against a real PostgreSQL (RESLIB_TEST_DATABASE_URL picks the server).
test-postgres: setup
	RESLIB_TEST_DATABASE_URL=$${RESLIB_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
	$(BIN)/pytest -q -m 'not browser'

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info
