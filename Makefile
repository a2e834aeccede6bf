# The two commands of the README's quick start, and what they stand on.
# Both create ./.venv and install Convene into it on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-servers images lint typecheck unit faults test-order bench install contract-tools browser contract-page contracts clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Convene needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/.installed

# The official AsyncAPI parser (npm), which the tests run on the committed document.
TOOLS := tools/node
$(TOOLS)/node_modules/.installed: $(TOOLS)/package.json $(TOOLS)/package-lock.json
	cd $(TOOLS) && npm ci --silent --no-audit --no-fund
	touch $@

contract-tools: $(TOOLS)/node_modules/.installed

# A headless browser for the contract page's test: Debian's Chromium, without the
# packages it merely recommends (no desktop services, no printing), installed when missing
# and this is Debian run as root (elsewhere install chromium yourself).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		  echo "installing Debian's chromium for the contract page's test (no recommended packages)" && \
		  { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null || \
		    { apt-get update -q >/dev/null && \
		      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null; }; }; } || \
		echo "no Chromium: install it, or the contract page's test fails"

## Serve the contract as a web page at http://127.0.0.1:8000/ (AsyncAPI React component).
PORT ?= 8000
contract-page: contract-tools
	node $(TOOLS)/contract-page.js --serve $(PORT)

## Play one family's initial conference through the three services.
demo: install
	$(BIN)/convene demo

## Lint, check the formatting, type-check and run every test in TEST_WORKERS processes
## (pytest-xdist). The broker and database: containers of the images below when a Docker
## engine answers (each test process its own), the local RabbitMQ and PostgreSQL
## otherwise (each process a vhost and schemas of its own); pytest's header says which.
TEST_WORKERS ?= 2
test: lint typecheck contract-tools browser test-servers
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

test-servers:
	@if [ "$${CONVENE_TEST_SERVERS:-}" != local ] && docker info >/dev/null 2>&1; then \
		echo "a Docker engine answers: the tests run against containers (make images first)"; \
		$(MAKE) --no-print-directory images; \
	else \
		echo "no Docker engine: the tests run against the local RabbitMQ and PostgreSQL"; \
	fi

## Every image, from Debian's and PyPI's packages alone (deploy/images/build): the
## product's (convene:<version>), and the RabbitMQ and PostgreSQL the tests and compose use.
images:
	deploy/images/build

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit

## The fault suite at full size (nightly): 100 families (200 conferences) through
## every fault, a 30 s database outage; figures printed and appended to var/faults.txt.
faults: install
	CONVENE_FAULT_FAMILIES=100 CONVENE_FAULT_OUTAGE_SECONDS=30 \
		$(BIN)/pytest -p no:cacheprovider -s -rA tests/faults/test_recoverability.py

## Same events, same facts in any order, at full size: ORDER_EXAMPLES random interleavings
## (from ORDER_SEED) of two councils' histories, with clock skew, against the ordered run.
ORDER_EXAMPLES ?= 20
ORDER_SEED ?= 20261205
test-order: install
	CONVENE_ORDER_EXAMPLES=$(ORDER_EXAMPLES) CONVENE_ORDER_SEED=$(ORDER_SEED) \
		$(BIN)/pytest -p no:cacheprovider -rA tests/e2e/test_any_order.py

## The whole pipeline against the raw broker round trip: throughput in every mode, latency
## at fixed rates, and SCALE conferences back-filled (prints figures; about 10 minutes here).
FAMILIES ?= 100
SCALE ?= 10000
bench: install
	$(BIN)/python -m benchmarks.pipeline_throughput $(FAMILIES) $(SCALE)

## Regenerate the committed JSON Schemas and AsyncAPI document from the models.
contracts: install
	$(BIN)/convene contracts export contracts

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache $(TOOLS)/node_modules
