# Everything a new user needs, from a machine with only Python 3.11+.
# `make run` and `make test` install into .venv on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.DEFAULT_GOAL := install

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# The console command `severa-sync` (pyproject.toml), installed editable: it runs this checkout.
$(VENV)/.installed-cli: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed-cli ## Create .venv, install the dependencies and the `severa-sync` command
	@echo "installed: $(CURDIR)/$(BIN)/severa-sync  (from any shell: export PATH=\"$(CURDIR)/$(BIN):\$$PATH\")"

run: $(VENV)/.installed-cli ## Install and run the service (embedded Redis + sandboxes unless configured)
	$(BIN)/python -m worker serve

cli: $(VENV)/.installed-cli ## Run one command of the CLI: make cli ARGS="status"
	$(BIN)/severa-sync $(ARGS)

test: $(VENV)/.installed-dev ## Install and run ruff, mypy and the test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev ## Run ruff and mypy only
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(VENV)/.installed-dev ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

doctor: $(VENV)/.installed-cli ## Check settings, Redis, the APIs and each connection
	$(BIN)/severa-sync doctor

sandbox: $(VENV)/.installed ## Serve the two API sandboxes alone (Severa :8001, eEkonomi :8002)
	$(BIN)/python -m sandbox

clean: ## Remove the virtual environment (keeps data/)
	rm -rf $(VENV)

.PHONY: help install run cli test lint fmt doctor sandbox clean
