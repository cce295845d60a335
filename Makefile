# One command runs the system, one runs the tests; both set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test compose-check lint clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/marketplace dev

compose-check:
	@command -v docker-compose >/dev/null || { \
		[ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null || \
		{ echo "docker-compose is needed to validate docker-compose.yml (apt-get install docker-compose)"; exit 1; }; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; }
	docker-compose --env-file .env.example config -q

test: install compose-check
	$(BIN)/python -m pytest

lint: install
	$(BIN)/python -m ruff check .

clean:
	rm -rf $(VENV) .pytest_cache
