# `make run` and `make test` set everything up on a fresh machine: nothing is installed by hand.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.synthgen-installed
LAUNCHERS := $(VENV)/.synthgen-launchers
CHECKERS := $(VENV)/.synthgen-checkers

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[local,documents,dev]'
	touch $(STAMP)

install: $(STAMP)

# The Hydra launcher extras (joblib, Ray, submitit), so the tests run real sweeps on them.
$(LAUNCHERS): $(STAMP)
	$(PY) -m pip install --quiet -e '.[joblib,ray,slurm]'
	touch $(LAUNCHERS)

run: install
	$(PY) -m synthgen $(ARGS)

# Style, types and the layer contract (pyproject.toml), then the tests.
lint: install
	$(PY) -m ruff check synthgen tests benchmarks
	$(PY) -m ruff format --check synthgen tests benchmarks
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

# ragas and deepeval, so the tests load the ragas and deepeval exports with the libraries themselves; and
# llama-cpp-python's server, so a test negotiates structured output with it on the embedded weights.
$(CHECKERS): $(STAMP)
	$(PY) -m pip install --quiet -e '.[export-check,server-check]'
	touch $(CHECKERS)

test: lint $(LAUNCHERS) $(CHECKERS)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) benchmarks/throughput.py $(ARGS)

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache
