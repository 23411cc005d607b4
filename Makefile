# Two entry points that work on a fresh machine: `make synth` and `make test`.
VENV    := .venv
PYTHON  ?= python3
STAMP_PY   := $(VENV)/.installed
STAMP_NODE := node_modules/.installed
# Node 22 from node_modules first (jsii warns on the machine's Node 20), then the venv.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup synth test check report lock clean

$(STAMP_PY): requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
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

## The fast suite (unit, CDK assertions, snapshots, real cdk synth + cfn-lint, spawner on moto),
## then the end-to-end test (a real jupyterhub + configurable-http-proxy against moto's ECS server).
test: setup
	$(VENV)/bin/python -m pytest -q -m "not e2e"
	$(VENV)/bin/python -m pytest -q -m e2e

## Validate and lint the services (exit 1 on errors).
check: $(STAMP_PY)
	$(VENV)/bin/python -m hubspec check

## Regenerate the committed timing + lint report.
report: $(STAMP_PY)
	$(VENV)/bin/python -m hubspec report > docs/healthchecks.md

## Regenerate constraints.txt from the installed venv (after changing requirements*.txt).
lock: $(STAMP_PY)
	$(VENV)/bin/pip freeze --exclude-editable > constraints.txt

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache
