# Two entry points (see README): `make demo` runs the main job, `make test` the whole suite.
# Each creates its own virtual environment from scratch with only Python and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[baselines]'
	touch $@

# torch is pinned to the CPU build that installs in seconds here; an unpinned torch pulls a
# multi-GB CUDA build. It is named again with the extras so that resolving lightning,
# accelerate or torchmetrics can never replace it.
$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet torch==2.13.0 -e '.[test,torch,keras,dask]'
	touch $@

# The study's comparison on the embedded synthetic face set (ImageNet weights cannot be
# downloaded here, so the backbones are randomly initialised; the tables say so).
demo: $(VENV)/.demo-installed
	$(BIN)/python -m baselines --allow-random-weights --standardize-features --markdown docs/baselines.md

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .

# The benchmark suite runs in CI at tiny sizes without timing: every case's values are
# checked (`python benchmarks/run.py` runs it at full size and writes docs/performance.md).
test: lint
	$(BIN)/python -m pytest
	$(BIN)/python benchmarks/run.py --smoke

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
