# mlmd developer and user entry points. Every target sets the project up first.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.mlmd-setup
PYTEST_ARGS ?=
# pytest-xdist workers of `make test`: 2 on a machine with 2 or more cores (CI has 2; tests that
# start MPI ranks, reference codes, Parsl or Slurm take one worker in turn, see tests/conftest.py,
# so more workers would add little), 0 (one process, no xdist) on one core or when PYTEST_ARGS
# picks tests. WORKERS=N overrides either.
WORKERS ?= $(if $(PYTEST_ARGS),0,$(shell [ "$$(nproc 2>/dev/null || echo 1)" -ge 2 ] && echo 2 || echo 0))

.PHONY: setup test demo lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml .ci/setup.sh
	VENV=$(VENV) bash .ci/setup.sh
	touch $(STAMP)

## Run the whole test suite (what CI runs).
test: setup
	$(BIN)/python -m pytest -q $(if $(filter-out 0,$(WORKERS)),-n $(WORKERS) --dist loadgroup) $(PYTEST_ARGS)

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
