# trading-dr. `make help` lists the targets. Every target sets up its own virtualenv
# (.venv, pinned by requirements.txt) on first use; nothing else needs installing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-requirements

.DEFAULT_GOAL := help
.PHONY: help templates lint check test bench clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(INSTALLED): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

templates: $(INSTALLED) ## render dr_templates/ for the default configuration and gate it with cfn-lint
	$(PY) build.py render

lint: $(INSTALLED) ## limits check and cfn-lint (both regions) on the rendered templates
	$(PY) build.py lint

check: $(INSTALLED) ## fail when dr_templates/ differs from a fresh render
	$(PY) build.py check

test: $(INSTALLED) ## run the whole test suite
	$(PY) -m pytest

bench: $(INSTALLED) ## time rendering, make templates and cfn-lint alone (medians)
	$(PY) scripts/bench.py

clean: ## remove the virtualenv and caches (dr_templates/ is committed and stays)
	rm -rf $(VENV) .pytest_cache build
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
