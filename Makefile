# One command runs the system, one runs the tests; both set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The locks pin the whole dependency tree (versions and hashes), resolved from PyPI for
# every platform: requirements.lock for production (the Dockerfile), requirements-test.lock
# adds the test extra. `make lock` refreshes both after a change to pyproject.toml.
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --no-emit-package pip \
	--no-config --index-url https://pypi.org/simple --custom-compile-command "make lock"

.PHONY: install run test test-web web node-check chromium record-histories compose-check lint lock clean

# The reference license client (clients/fastvue_license) is its own package; `marketplace
# license check` and the tests use it, its dependencies are ours too (so in the locks).
CLIENT := clients/fastvue_license

$(STAMP): pyproject.toml requirements-test.lock $(CLIENT)/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-test.lock
	$(BIN)/python -m pip install --quiet --no-deps -e . -e $(CLIENT)
	touch $(STAMP)

install: $(STAMP)

lock:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade uv
	.lock-venv/bin/uv pip compile pyproject.toml --extra test $(LOCK_FLAGS) \
		$(LOCK_UPGRADE) -o requirements-test.lock
	.lock-venv/bin/uv pip compile pyproject.toml $(LOCK_FLAGS) \
		-c requirements-test.lock -o requirements.lock
	rm -rf .lock-venv

# The storefront (web/, Vue 3 + Vite): Node.js 20+. `npm ci` when the lock changed, a
# `vite build` into web/dist (which the API serves) when a source changed; the stamp
# keeps an unchanged tree from rebuilding.
WEB_DEPS := web/node_modules/.installed
WEB_STAMP := web/dist/.built
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html \
	web/vite.config.ts web/tsconfig.json web/package.json

node-check:
	@command -v node >/dev/null && node -e 'process.exit(Number(+process.versions.node.split(".")[0] < 20))' || \
		{ echo "Node.js 20 or newer is needed for the storefront (web/): https://nodejs.org"; exit 1; }

$(WEB_DEPS): web/package-lock.json | node-check
	cd web && npm ci --no-audit --no-fund
	touch $@

$(WEB_STAMP): $(WEB_DEPS) $(WEB_SOURCES)
	cd web && npm run build
	touch $@

web: $(WEB_STAMP)

run: install web
	$(BIN)/marketplace dev

compose-check:
	@command -v docker-compose >/dev/null || { \
		[ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null || \
		{ echo "docker-compose is needed to validate docker-compose.yml (apt-get install docker-compose)"; exit 1; }; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; }
	docker-compose --env-file .env.example config -q

# pytest-xdist workers (one Postgres server; a database and a Temporal dev server each).
# Measured on 2 cores: 2 workers 238 s, 3 workers 270 s, one process 445 s.
# TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 2

test: install compose-check web
	$(BIN)/python -m pytest -n $(TEST_WORKERS)
	$(MAKE) test-web

# Debian's Chromium for the browser tests (never `npx playwright install`, which downloads
# a browser build); MARKETPLACE_CHROMIUM names another binary.
chromium:
	@[ -x "$${MARKETPLACE_CHROMIUM:-/usr/bin/chromium}" ] || { \
		[ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null || \
		{ echo "Chromium is needed for the browser tests (apt-get install chromium)"; exit 1; }; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The storefront's tests: Vitest (units and components), then Playwright in Chromium
# against one `marketplace dev` it starts on free ports (web/e2e/global-setup.ts).
test-web: install web chromium
	cd web && npm run test:unit
	cd web && MARKETPLACE_PYTHON=$(abspath $(BIN))/python MARKETPLACE_E2E_SKIP_BUILD=1 \
		npx playwright test

# Record the workflow histories the replay test replays (tests/histories/) from real runs of
# the current code; ONLY=checkout records only the matching cases (README, "Changing a
# workflow").
record-histories: install
	MARKETPLACE_RECORD_HISTORIES=1 $(BIN)/python -m pytest tests/record_histories.py \
		$(if $(ONLY),-k "$(ONLY)")

# Ruff (lint and formatting), mypy (strict, pydantic plugin; [tool.mypy] in pyproject.toml),
# the import contracts ([tool.importlinter]) and bandit ([tool.bandit]; fails on a medium or
# high finding), all on this checkout. tests/test_bandit_clean.py holds the same paths.
BANDIT_PATHS := api services models domain integrations activities workflows cli migrations \
	settings.py worker.py clients/fastvue_license/fastvue_license

lint: install
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	$(BIN)/python -m mypy
	PYTHONPATH=$(CURDIR) $(BIN)/lint-imports
	$(BIN)/bandit -c pyproject.toml -q -ll -r $(BANDIT_PATHS)

clean:
	rm -rf $(VENV) .lock-venv .pytest_cache web/node_modules web/dist artifacts
