# Two set-up commands: `make demo` and `make test`. Both create .venv and install what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-browser fuzz lint bench clean constraints

$(STAMP): pyproject.toml constraints/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints/dev.txt -e '.[dev,all,google-legacy]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python example_project/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q -m "not browser"

# The HTML report in headless Chromium (apt-get install chromium chromium-driver); skips without them unless CI=true.
test-browser: $(STAMP)
	$(BIN)/python -m pytest -q -p no:randomly -m browser -rs tests/test_report_browser.py

# The fuzz tests alone, thousands of generated inputs each (make test runs a few dozen of each).
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -n 2 -q tests/test_fuzz.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check pytest_llmversion tests
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/providers.py

# Pin what the dev environment resolves to today (after changing dependencies in pyproject.toml).
constraints:
	rm -rf .constraints-venv
	$(PYTHON) -m venv .constraints-venv
	.constraints-venv/bin/python -m pip install -q --upgrade pip
	.constraints-venv/bin/python -m pip install -q -e '.[dev,all,google-legacy]'
	{ sed -n '1,2p' constraints/dev.txt; .constraints-venv/bin/python -m pip freeze --exclude-editable; } > constraints/dev.new
	mv constraints/dev.new constraints/dev.txt
	rm -rf .constraints-venv

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
