# The two commands of README.md: `make demo` and `make test`.
# Every install uses constraints.txt, which pins the CPU build of torch on disk.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install -q -c constraints.txt
DEMO_DB ?= cxkb-demo.db

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test test-slow test-release install install-dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

install: $(BIN)/python
	$(PIP) .

install-dev: $(BIN)/python
	$(PIP) -e '.[dev]'

## Build the demo knowledge base from the bundled corpus and serve it on http://127.0.0.1:5000
demo: install
	$(BIN)/cxkb --db $(DEMO_DB) demo

## Install with the dev tools and run the whole default test suite
test: install-dev
	$(BIN)/python -m pytest -m "not slow"

## Suites marked slow: the default UMAP + HDBSCAN topic pipeline on ~1,500 statements
test-slow: install-dev
	$(BIN)/python -m pytest -m slow

## The reliability suite in full, before each release (cases marked release are also slow);
## the figures land in tests/artifacts/reliability.json
test-release: install-dev
	$(BIN)/python -m pytest tests/reliability

## Throughput benchmarks (print figures beside baselines measured in the same run)
bench: install-dev
	$(BIN)/python bench/classify.py --sizes 10k,100k
	$(BIN)/python bench/topics.py
	$(BIN)/python bench/stance_seeds.py
	$(BIN)/python bench/crawl.py --budgets 50,100,200
	$(BIN)/python bench/web.py
	$(BIN)/python bench/extraction.py

clean:
	rm -rf $(VENV) build dist *.egg-info $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
