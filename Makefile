# The only way in: `make run`, `make test`, `make install`, `make lint`, `make bench`, `make docs`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench docs clean reliability

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/wattlens demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

# Issue 14: the reliability tests with long fuzz budgets (10^5 cases per target), 20 SIGKILLs,
# more API cases, then the 10-minute soak (bench/soak.py). Hours, not minutes. The budgets can be
# set on the command line (make reliability FUZZ_EXAMPLES=1000); hypothesis prints, per target,
# the budget it stopped at ("Stopped because settings.max_examples=100000").
FUZZ_EXAMPLES ?= 100000
API_EXAMPLES ?= 200
RELIABILITY_KILLS ?= 20
reliability: $(STAMP)
	WATTLENS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) WATTLENS_API_EXAMPLES=$(API_EXAMPLES) \
	WATTLENS_RELIABILITY_KILLS=$(RELIABILITY_KILLS) $(BIN)/python -m pytest -q \
		-p no:cacheprovider tests/reliability -o timeout=0 --hypothesis-show-statistics
	$(BIN)/python -m bench soak

docs: $(STAMP)
	$(BIN)/wattlens docs methodology --out docs/methodology.md

clean:
	rm -rf $(VENV) build dist *.egg-info
