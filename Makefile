# cnnrun — `make help` lists the targets.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL ?= 2
# Real data for slow tests and benchmarks (optional; tests skip without it).
export CNNRUN_SHARED_DATA ?= $(abspath ../shared/data)

.PHONY: help install demo test test-full lint format bench clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# Ranges in pyproject.toml; the exact versions tested are in constraints.txt.
$(STAMP): pyproject.toml constraints.txt
	@command -v $(PY) >/dev/null || { echo "error: $(PY) not found (cnnrun needs Python 3.11)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# cnnrun depended on tensorflow-cpu before: one TensorFlow distribution at a time
	@$(BIN)/pip uninstall --quiet --yes tensorflow-cpu 2>/dev/null || true
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install cnnrun into it (.venv/bin/cnnrun)

demo: $(STAMP) ## Train a real CNN on the embedded Fashion-MNIST sample (~2 min)
	$(BIN)/cnnrun train configs/demo.yaml

# Test files run on TEST_WORKERS processes (pytest-xdist), a file's tests in one process.
TEST_WORKERS ?= 2

test: $(STAMP) ## Run the fast test suite (no network, no real data needed)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

test-full: $(STAMP) ## Run every test: slow, real-data, Ray, export and MLflow ones included
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,ray,export,mlflow]'
	$(BIN)/pytest -q -m ''

lint: $(STAMP) ## ruff check + format check + import layers (import-linter)
	$(BIN)/ruff check cnnrun tests benchmarks
	$(BIN)/ruff format --check cnnrun tests benchmarks
	$(BIN)/lint-imports

format: $(STAMP) ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix cnnrun tests benchmarks
	$(BIN)/ruff format cnnrun tests benchmarks

bench: $(STAMP) ## Benchmarks: cnnrun vs plain Keras, command start-up; writes benchmarks/results/
	$(BIN)/python benchmarks/run_all.py --out benchmarks/results

clean: ## Remove the venv and caches (runs/ is kept)
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
