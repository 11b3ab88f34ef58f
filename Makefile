# The two commands a newcomer runs:
#   make play   sets up .venv and opens JupyterLab on notebooks/ (127.0.0.1 only; prints the URL with its token)
#   make test   sets up .venv, Debian's Chromium and redis-server, then runs every test (lint, types, unit, kernel, browser, Redis)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup browser services play test check bench
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV) || { echo 'venv needs Debian/Ubuntu python3-venv; installing it'; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[notebook,dev]'
	touch $@

# Debian's Chromium drives the browser tests (no browser download: Playwright uses /usr/bin/chromium).
browser:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Debian's redis-server for the Redis tests (tests/hub start their own on free ports; nothing is left running).
services:
	@command -v redis-server >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

play: setup
	$(PY) -m jupyterlab --ServerApp.ip=127.0.0.1 --no-browser --ServerApp.root_dir=notebooks \
		$$( [ "$$(id -u)" = 0 ] && echo --allow-root )

check: setup
	$(PY) -m ruff check lihil lihil_notebook tests benchmarks
	$(PY) -m mypy

test: setup browser services check
	$(PY) -m pytest

bench: setup
	$(PY) benchmarks/ws_echo.py
	$(PY) benchmarks/notebook_latency.py
	$(PY) benchmarks/console_flood.py
	$(PY) benchmarks/hub_fanout.py
