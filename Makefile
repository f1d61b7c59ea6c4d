# keras-grader: the two commands of the quickstart are `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
OUT ?= out/demo

.PHONY: demo test test-all test-fast lint browser-deps bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# Debian's Chromium, for the browser tests (root only; apt-get update first).
browser-deps:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium (browser tests)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "warning: chromium missing and not root: browser tests will be skipped"; fi

# Grade the sample class on the bundled data and print where the dashboard is.
demo: $(STAMP)
	$(VENV)/bin/grader demo --out $(OUT)

# pytest over the tests that match the marker expression $(1); its exit 5 (no tests ran) is a
# failure.
define pytest_marked
	@$(PY) -m pytest -m "$(1)" --durations=25 $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests"; exit 1; fi; exit $$rc
endef

# CI's gate (under 20 minutes): slow tests included, each corpus by its representative cases.
test: $(STAMP) browser-deps
	$(call pytest_marked,not full)

# The complete suite: every corpus case and the long measurements (about 45 minutes).
test-all: $(STAMP) browser-deps
	$(call pytest_marked,slow or not slow)

# The fast tests only (what plain `pytest` runs).
test-fast: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf out test-artifacts .pytest_cache
