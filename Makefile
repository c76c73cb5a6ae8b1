# Two commands: `make run` (local demo on http://127.0.0.1:8000) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test lint translations readme bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

translations: $(VENV)/.run-deps
	@if [ -d translations ]; then $(BIN)/pybabel -q compile -d translations; fi

run: $(VENV)/.run-deps translations
	$(FLASK) init-db --demo-if-new
	@echo "Shagym: http://127.0.0.1:$(PORT)/  (staff: http://127.0.0.1:$(PORT)/staff/login)"
	@# The worker signs audit checkpoints and sends the outbox's e-mails; it stops with the server.
	$(FLASK) worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn -c gunicorn.conf.py -b 127.0.0.1:$(PORT) "wsgi:create_app()"

test: $(VENV)/.dev-deps translations
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -r cases intake staff web storage wsgi.py cli.py config.py extensions.py i18n.py -c pyproject.toml

readme: $(VENV)/.run-deps
	$(BIN)/python scripts/readme.py

bench: $(VENV)/.dev-deps
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
