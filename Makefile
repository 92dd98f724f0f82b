# lavr — developer entry points.
#
#   make install   create .venv (if missing) and install lavr[dev] into it
#   make run       run `lavr ask` on every example in examples/examples.json
#   make test      install, add system packages the tests need, run pytest
#   make lint      ruff check
#   make demo      start the Gradio demo
#
# Variables: PY (interpreter that creates the venv), VENV (venv folder),
# PYTEST_ARGS (extra pytest arguments, e.g. PYTEST_ARGS="tests/core_model -x").

PY ?= python3
VENV ?= .venv
PYTEST_ARGS ?=

VPY := $(VENV)/bin/python
STAMP := $(VENV)/.lavr-installed

# torch and torchvision are pinned and installed first, on their own: this
# machine keeps these releases on local disk (see /etc/xdg/pip), while an
# unpinned `torch` requirement could pull a multi-gigabyte CUDA build.
TORCH_PINS := torch==2.14.1 torchvision==0.29.1

# Debian packages the browser-driven tests (GUI agent) need.
SYSTEM_PACKAGES := chromium chromium-driver

.PHONY: all venv install run test lint demo system-deps clean

all: test

$(VPY):
	$(PY) -m venv $(VENV)

# The stamp is newer than pyproject.toml once the install has succeeded, so a
# second `make` skips the pip calls entirely.
$(STAMP): pyproject.toml | $(VPY)
	$(VPY) -m pip install --upgrade pip
	$(VPY) -m pip install $(TORCH_PINS)
	$(VPY) -m pip install -e ".[dev]"
	touch $@

venv install: $(STAMP)

run: $(STAMP)
	$(VPY) examples/run_examples.py --lavr $(VENV)/bin/lavr

# Installs chromium + chromedriver only when one of them is missing. A machine
# without apt (or without root/sudo) gets a warning, not a failed build: the
# tests that need a browser skip themselves.
system-deps:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
		echo "system-deps: chromium and chromedriver present"; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "WARNING: apt-get not found; install $(SYSTEM_PACKAGES) by hand (browser tests will skip)" >&2; \
	else \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; \
		elif command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; \
		else SUDO="none"; fi; \
		if [ "$$SUDO" = none ]; then \
			echo "WARNING: not root and no sudo; install $(SYSTEM_PACKAGES) by hand (browser tests will skip)" >&2; \
		else \
			{ $$SUDO apt-get update && \
			  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends $(SYSTEM_PACKAGES); } \
			|| echo "WARNING: apt-get install $(SYSTEM_PACKAGES) failed (browser tests will skip)" >&2; \
		fi; \
	fi

test: $(STAMP) system-deps
	$(VPY) -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

demo: $(STAMP)
	$(VENV)/bin/lavr demo

clean:
	rm -rf build dist .pytest_cache .ruff_cache
