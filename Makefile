# Two entry points that work on a fresh machine: `make synth` and `make test`.
VENV    := .venv
PYTHON  ?= python3
PIP     := $(VENV)/bin/pip --disable-pip-version-check
STAMP_PY   := $(VENV)/.installed
STAMP_NODE := node_modules/.installed
# Node 22 from node_modules first (jsii warns on the machine's Node 20), then the venv.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup synth test lint check report lock dist clean deploy-local diff deploy

# The pinned set, then this project itself (editable, no dependencies, built by the pinned setuptools):
# that installs the `hubspec` command and the `jupyterhub.spawners` entry point into the venv.
$(STAMP_PY): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q -r requirements-dev.txt -c constraints.txt
	$(PIP) install -q --no-deps --no-build-isolation -e .
	touch $@

$(STAMP_NODE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(STAMP_PY) $(STAMP_NODE)

## Validate the services and synthesize every task definition into cdk.out/.
synth: setup
	rm -rf cdk.out
	cdk synth --quiet
	@ls cdk.out/*.template.json

## The quality gate, the fast suite (one worker per core), then the end-to-end tests one at a time
## (real hub, wheel install, documented workflows).
test: setup lint
	$(VENV)/bin/python -m pytest -q -n auto --dist loadscope -m "not e2e"
	$(VENV)/bin/python -m pytest -q -m e2e

## ruff (lint + format) and mypy (strict on the plain spec package `hubspec`).
lint: $(STAMP_PY)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

## Validate and lint the services (exit 1 on errors).
check: $(STAMP_PY)
	$(VENV)/bin/python -m hubspec check

## Regenerate the committed timing + lint report.
report: $(STAMP_PY)
	$(VENV)/bin/python -m hubspec report > docs/healthchecks.md

## Re-resolve constraints.txt from requirements*.txt in a throw-away venv (after changing a pin).
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip --disable-pip-version-check install -q -r requirements-dev.txt
	.lock-venv/bin/pip freeze --all --exclude pip --exclude-editable > constraints.txt.new
	rm -rf .lock-venv
	mv constraints.txt.new constraints.txt

## Deploy into moto's server on 127.0.0.1 (fake credentials only) and check what was deployed.
deploy-local: setup
	$(VENV)/bin/python scripts/deploy_local.py

## Against a real account: check profile, credentials, region and bootstrap (one sentence when one is missing),
## then `cdk diff --all` / `cdk deploy --all` with ARGS (e.g. make deploy ARGS="-c prefix=hub-dev").
diff deploy: setup
	$(VENV)/bin/python scripts/cdk_account.py $@ $(ARGS)

## Build the wheel (and sdist) into dist/.
dist: $(STAMP_PY)
	rm -rf dist
	$(PIP) wheel -q --no-deps --no-build-isolation -w dist .

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache dist build *.egg-info .lock-venv
