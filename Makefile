# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp

.PHONY: demo test test-faults up bench bench-quick schemas lint clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

demo: $(STAMP)          ## start the stack, import the sample network, show it, stop
	$(BIN)/spn demo

test: $(STAMP)          ## unit, integration (real NATS + PostgreSQL) and end-to-end tests
	$(BIN)/python -m pytest

test-faults: $(STAMP)   ## the fault suite: spn up hurt in turn, each fault reconciled (a table)
	$(BIN)/python -m pytest tests/faults

up: $(STAMP)            ## run the stack until Ctrl-C
	$(BIN)/spn up

bench: $(STAMP)         ## the state-size benchmark: 2,000 schools, a school year (long)
	$(BIN)/spn bench --schools 2000 --months 12

bench-quick: $(STAMP)   ## 200 schools, three months; fails only if a ratio is below its bound
	$(BIN)/spn bench --schools 200 --months 3 --check

schemas: $(STAMP)       ## regenerate contracts/schemas/*.json and contracts/asyncapi.yaml
	$(BIN)/spn contracts export

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .spn-data .pytest_cache .mypy_cache .ruff_cache
