# mlmd developer and user entry points. Every target sets the project up first.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.mlmd-setup
PYTEST_ARGS ?=

.PHONY: setup test demo lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml .ci/setup.sh
	VENV=$(VENV) bash .ci/setup.sh
	touch $(STAMP)

## Run the whole test suite (what CI runs).
test: setup
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

## The main job on the local site (see README).
# A label of the material's [references]: cp2k_fast (CP2K, fast preset) or teacher (analytic).
REFERENCE ?= cp2k_fast
RUN_DIR ?= runs/quickstart
demo: setup
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python campaigns/quickstart.py \
		--site sites/local.toml --run-dir $(RUN_DIR) --reference $(REFERENCE)

lint: setup
	$(BIN)/ruff check mlmd apps campaigns tests benchmarks
	$(BIN)/ruff format --check mlmd apps campaigns tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
