# Two commands do all set-up on a fresh Linux machine:
#   make run    - create/update .venv, install everything, start the app on the sample project
#   make test   - the same set-up, then the rules (ruff, import contracts, mypy) and the test suite
# Debian packages Qt needs (xcb libraries, Xvfb for headless runs) are installed when missing and
# we are root; otherwise the missing ones are named.

PY      ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
TORCH   := torch==2.14.1 torchvision==0.29.1

.PHONY: run test test-fast lint bench demo venv sysdeps clean bundle

$(STAMP): pyproject.toml Makefile
	@test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	@# torch first, pinned to the builds this machine holds (any torch>=2.6 works elsewhere)
	$(VPY) -m pip install -q $(TORCH) || $(VPY) -m pip install -q "torch>=2.6" "torchvision>=0.21"
	$(VPY) -m pip install -q -e ".[test]"
	$(VPY) -m pip install -q --no-deps panopticapi-lite
	@touch $(STAMP)

venv: $(STAMP)

sysdeps:
	@bash tools/install_sysdeps.sh

run: venv sysdeps
	$(VPY) main.py $(ARGS)

# the rules first (seconds), then the whole suite: what CI runs (.ci/run)
test: venv sysdeps lint
	QT_QPA_PLATFORM=offscreen $(VPY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# every test not marked slow, in two workers (each takes whole files, so a file's fixtures and its
# windows stay in one process): quick feedback; make test runs everything, one test at a time
test-fast: venv sysdeps
	QT_QPA_PLATFORM=offscreen $(VPY) -m pytest -q -p no:cacheprovider -m "not slow" -n 2 --dist loadfile \
		--durations=5 $(PYTEST_ARGS)

# the rules the machine checks: ruff, the import contracts, mypy on core/
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy core

bench: venv
	$(VPY) -m bench.run_all

demo: venv
	$(VPY) main.py demo

# standalone desktop bundle in dist/$(VARIANT)/ (cpu or gpu; docs/packaging.md); -e keeps the
# editable install that the tests and `make run` use
bundle: venv
	$(VPY) -m pip install -q -e ".[bundle]"
	bash packaging/build_bundle.sh $(or $(VARIANT),cpu)

clean:
	rm -rf $(VENV) build dist
