# media-sidecar: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SHIM := electron-shim

.PHONY: demo test test-python test-shim lint system-deps install shim-install bench soak clean \
	dist dist-test

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests need (a real Chromium for the CSP, nginx/curl for the benches,
# ffmpeg for test videos). Installed only when missing; needs root (CI runs as root).
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v curl >/dev/null || missing="$$missing curl"; \
	command -v ffmpeg >/dev/null || missing="$$missing ffmpeg"; \
	command -v nginx >/dev/null || missing="$$missing nginx-light"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null); \
	  else echo "missing system packages:$$missing (run as root or install them)"; fi; \
	fi

$(SHIM)/node_modules/.installed: $(SHIM)/package.json $(SHIM)/package-lock.json
	cd $(SHIM) && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

shim-install: $(SHIM)/node_modules/.installed

lint: $(STAMP)
	$(VENV)/bin/ruff check protocol sidecar tests bench packaging
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --platform win32
	$(VENV)/bin/mypy --platform darwin

test-python: $(STAMP) system-deps shim-install
	$(VENV)/bin/pytest -q

test-shim: $(STAMP) system-deps shim-install
	cd $(SHIM) && npm test

test: lint test-python test-shim

demo: $(STAMP)
	$(PY) -m sidecar demo

bench: $(STAMP) system-deps shim-install
	$(PY) bench/run.py

# The self-contained sidecar (PyInstaller --onedir): dist/media-sidecar/media-sidecar.
dist: $(STAMP)
	$(PY) packaging/build.py

# Build it, then run the copy under `env -i` with no Python on PATH: --version, serve + the
# conformance harness, and the shim's Supervisor through add → list → unsaved/retry → stop.
dist-test: dist shim-install
	cd $(SHIM) && npm run build:test
	MEDIA_SIDECAR_DIST=$(CURDIR)/dist/media-sidecar $(VENV)/bin/pytest -q -o addopts="--strict-markers -ra" tests/frozen

soak: $(STAMP) system-deps
	MEDIA_SIDECAR_SOAK=1 $(VENV)/bin/pytest -q tests/reliability

clean:
	rm -rf $(VENV) $(SHIM)/node_modules $(SHIM)/dist .demo dist build
