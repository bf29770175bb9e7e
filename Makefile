# The two commands a district needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test test-hard test-postgres bench setup translations clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,redis]'
	touch $(STAMP)

setup: $(STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d reslib/translations >/dev/null

# After adding or changing UI strings: refresh the template and the English catalogue, then translate
# the new empty or fuzzy entries in reslib/translations/en/LC_MESSAGES/messages.po (tests/test_i18n.py lists them).
# babel.cfg says what to read; its paths are relative to the repo root, hence the `.`.
.PHONY: translations-update
translations-update: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -c TRANSLATORS: --project=reslib --add-location=file --sort-by-file \
		-o reslib/translations/messages.pot .
	$(BIN)/pybabel update -i reslib/translations/messages.pot -d reslib/translations -l en \
		--init-missing --ignore-obsolete

# The district's own settings; the example enables all three plugins for the demo.
instance/config.py:
	cp instance/config.example.py instance/config.py

# Serve a demo district on SQLite; data in instance/ survives re-runs.
run: setup instance/config.py
	$(BIN)/reslib init-db
	$(BIN)/reslib demo --if-empty
	@echo "reslib: http://$(HOST):$(PORT)  (Ctrl+C to stop)"
	@# The background worker (media processing) runs beside the web server and stops with it.
	$(BIN)/reslib worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn --workers 2 --worker-class gthread --threads 8 --bind $(HOST):$(PORT) \
		--access-logfile - --log-level warning wsgi:app

# Everything but the hardening suite, which has a command of its own (CI runs both).
test: setup
	$(BIN)/pytest -q -m 'not hard'

# The hardening suite: authorization matrix, hostile input and uploads, the API against its OpenAPI
# document (schemathesis), stored XSS in a real browser, fuzzed parsers (README: "Hardening suite").
test-hard: setup
	$(BIN)/pytest -q -m hard

# The same suite against a real PostgreSQL (RESLIB_TEST_DATABASE_URL picks the server).
test-postgres: setup
	RESLIB_TEST_DATABASE_URL=$${RESLIB_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
	$(BIN)/pytest -q -m 'not browser'

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info
