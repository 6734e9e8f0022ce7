# exact_lab: two commands do all the set-up on a fresh machine.
#   make demo  — .venv, install, JS bundle, sample slides, demo workspace, JupyterLab on the quickstart
#   make test  — .venv with test extras, sample slides, throwaway PostgreSQL, the whole suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
JS := exact_lab/widgets/js
BUNDLE := exact_lab/widgets/static/viewer.js
SLIDES := .cache/testslides
PORT ?= 8888
PYTEST_ARGS ?=

.PHONY: demo test lint js slides clean help

help:
	@echo "make demo   set up everything and start JupyterLab on notebooks/01_quickstart.ipynb"
	@echo "make test   set up everything and run the whole test suite (PostgreSQL, Chromium)"
	@echo "make lint   ruff and mypy"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q -U pip

$(JS)/node_modules/.package-lock.json: $(JS)/package.json $(JS)/package-lock.json
	cd $(JS) && npm ci --no-audit --no-fund
	@touch $@

$(BUNDLE): $(JS)/node_modules/.package-lock.json $(JS)/build.mjs $(wildcard $(JS)/src/*.js)
	cd $(JS) && npm run build

js: $(BUNDLE)

$(VENV)/.installed-lab: pyproject.toml $(BUNDLE) | $(PY)
	$(PIP) install -q -e ".[lab]"
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(BUNDLE) | $(PY)
	$(PIP) install -q -e ".[test]"
	@touch $@ $(VENV)/.installed-lab

$(SLIDES)/cmu_small_region.svs: | $(PY)
	$(PY) -c "import sys; sys.path.insert(0, '.'); from pathlib import Path; \
	from exact_lab.samples import fetch_samples; fetch_samples(Path('$(SLIDES)'))"

slides: $(SLIDES)/cmu_small_region.svs

demo: $(VENV)/.installed-lab
	$(VENV)/bin/exact-lab demo --port $(PORT)

test: $(VENV)/.installed-test $(SLIDES)/cmu_small_region.svs
	EXACT_LAB_TEST_SLIDES="$(abspath $(SLIDES))" NUMBA_CACHE_DIR="$(abspath .cache/numba)" \
	JUPYTER_PLATFORM_DIRS=1 PATH="$(abspath $(VENV))/bin:$$PATH" \
	scripts/with_postgres.sh $(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS) tests

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check exact_lab tests benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .cache/screenshots exact_lab/widgets/static $(JS)/node_modules
