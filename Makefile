# The two commands a newcomer runs:
#   make play   sets up .venv and opens JupyterLab on play/, your working copy of notebooks/ (127.0.0.1 only;
#               prints the URL with its token)
#   make test   sets up .venv, Debian's Chromium and redis-server, then runs every test (lint, types, unit, kernel,
#               browser, Redis)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Where `make play` serves the lessons from: a git-ignored copy, so autosave and console exports never touch
# the tracked notebooks/. Files are copied when missing and never overwritten (your work stays yours).
PLAY_DIR ?= play
# `make lite`: a JupyterLite site of the lessons (static files, the playground preinstalled) in LITE_OUT/_output;
# downloads (npm's pyodide, the wheels, the build tools' venv) are kept in LITE_CACHE, so a rebuild is offline.
LITE_OUT   ?= build/lite
LITE_CACHE ?= .cache/lite

.PHONY: setup browser services play play-folder test check bench lite
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@echo "==> creating the virtual environment $(VENV)"
	$(PYTHON) -m venv $(VENV) || { echo 'venv needs Debian/Ubuntu python3-venv; installing it'; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); }
	@echo "==> upgrading pip"
	$(PY) -m pip install --upgrade pip
	@echo "==> installing this project with its notebook and dev extras (about a minute on a fresh machine)"
	$(PY) -m pip install -e '.[notebook,dev]'
	@echo "==> $(VENV) is ready"
	touch $@

# Debian's Chromium drives the browser tests (no browser download: Playwright uses /usr/bin/chromium).
browser:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Debian's redis-server for the Redis tests (tests/hub start their own on free ports; nothing is left running).
services:
	@command -v redis-server >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

play: setup play-folder
	@echo "==> JupyterLab on $(PLAY_DIR)/ (your copy; the lessons in notebooks/ stay as committed)"
	$(PY) -m jupyterlab --ServerApp.ip=127.0.0.1 --no-browser --ServerApp.root_dir=$(PLAY_DIR) \
		$$( [ "$$(id -u)" = 0 ] && echo --allow-root )

play-folder:
	@mkdir -p $(PLAY_DIR)
	@for lesson in notebooks/*.ipynb; do \
		test -e "$(PLAY_DIR)/$${lesson##*/}" || { cp "$$lesson" "$(PLAY_DIR)/" && echo "copied $$lesson to $(PLAY_DIR)/"; }; \
	done

lite: setup
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	$(PY) lite/build.py --out $(LITE_OUT) --cache $(LITE_CACHE)

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
