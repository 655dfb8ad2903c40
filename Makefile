# Two entry points, kept in step with README.md and .ci/run.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# argostranslate -> stanza -> torch: install the CPU build first, or pip fetches a multi-GB CUDA build.
# (Outside this project's machines: TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu")
TORCH_SPEC ?= torch==2.13.0

.PHONY: venv run test lint bench postgres browser

# The tests start their own PostgreSQL (initdb + pg_ctl) and CI never skips them: install Debian's
# package when no server binaries are found (on PATH or in /usr/lib/postgresql/*/bin).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
postgres:
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql; }

# The web interface's tests drive Debian's chromium (headless) and CI never skips them; a CJK font
# so that Chinese renders in the screenshots.
browser:
	@command -v chromium >/dev/null || \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-wqy-zenhei; }

$(BIN)/monitor: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH_SPEC)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/monitor

venv: $(BIN)/monitor

run: venv
	-$(BIN)/monitor --config feeds.yaml models install --needed  # needs network; says so plainly when offline
	$(BIN)/monitor --config feeds.yaml fetch
	$(BIN)/monitor --config feeds.yaml feeds list

test: venv postgres browser
	$(BIN)/ruff check monitor tests bench
	$(BIN)/mypy monitor
	MONITOR_REQUIRE_POSTGRES=1 MONITOR_REQUIRE_BROWSER=1 $(BIN)/pytest -q -n 2

bench: venv
	$(BIN)/python bench/bench_pipeline.py
