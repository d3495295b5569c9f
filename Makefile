# difffake: one command sets up and runs the demo, one sets up and runs the tests.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-all lint format bench benchmark clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -c "import cv2, decord, mediapipe, torch, timm, prefect; print('environment ok: cv2', cv2.__version__, 'torch', torch.__version__)"
	touch $(STAMP)

setup: $(STAMP)

## The main job on the embedded default: builds a demo corpus, retrains, scores, evaluates.
demo: setup
	$(PY) -m flows.demo

## The default test suite (slow tests excluded), then lint.
test: setup
	$(PY) -m pytest -q
	$(MAKE) lint

## Everything, slow tests included (training to the AUC target, resume-after-kill, ...).
test-all: setup
	$(PY) -m pytest -q -m "slow or not slow"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: setup
	$(PY) -m benchmarks.run

## Leave-source-out detection benchmark on labelled corpora (default: the shared dev sets).
## e.g. make benchmark BENCH_ARGS="--train-overrides steps_per_epoch=30"
BENCH_CORPORA ?= ../shared/data/dev ../shared/data/dev2
BENCH_OUT     ?= benchmark_out
benchmark: setup
	$(PY) -m flows.cli benchmark $(foreach c,$(BENCH_CORPORA),--corpus $(c)) --out $(BENCH_OUT) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .difffake demo_out benchmark_out
