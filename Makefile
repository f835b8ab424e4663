# Policy Gradients, Executable: build, test and run the book.
# `make book` and `make test` are all a newcomer needs; both create .venv on first use.

SHELL := /bin/bash
.DEFAULT_GOAL := book

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HTML := _build/html
# Seconds a notebook cell may run: the book's `execute: timeout` in _config.yml.
CELL_TIMEOUT ?= $(shell $(BIN)/python tools/notebook_exec.py --cell-timeout)
# apt-get needs root; use sudo when run as an ordinary user.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# Run notebooks in the kernel of this virtualenv, never one registered elsewhere.
export JUPYTER_PATH := $(CURDIR)/$(VENV)/share/jupyter
export MPLBACKEND := Agg
# Selenium must never download a browser or driver: the test uses the Debian packages.
export SE_OFFLINE := true

.PHONY: book pdf test claims lab launch-check notebooks workbook install lint unit nbval book-strict browser browser-deps bench bench-sb3 bench-sweeps clean

# Re-installs only when pyproject.toml is newer than the stamp.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing pgkit, CPU-only torch, Jupyter Book and the test tools into $(VENV)"
	@echo "(about a minute and 1.5 GB on first use; each package is listed as it is fetched)."
	@# pip's own lines show the progress; this machine's "Location ... is ignored" notices do not.
	@set -o pipefail; $(BIN)/python -m pip install -e ".[dev,cluster]" 2>&1 \
		| { grep --line-buffered -v -e 'is ignored' -e '^Requirement already satisfied' || true; }
	@touch $@

install: $(STAMP)

# -q: warnings and errors only, without Sphinx's page-by-page status and settings dumps.
book: $(STAMP)
	$(BIN)/jupyter-book build . -q
	@echo "Book: $(CURDIR)/$(HTML)/index.html"

# The whole book as one PDF, printed by headless Chromium from a single-page build (no LaTeX).
# A later `make book` copies it into the site and offers it in every page's download menu.
pdf: $(STAMP) browser-deps
	$(BIN)/jupyter-book build . --builder singlehtml -q
	$(BIN)/python tools/book_pdf.py

test: $(STAMP) browser-deps lint unit nbval launch-check pdf book-strict browser

lint: $(STAMP)
	$(BIN)/ruff check pgkit tests bench tools
	$(BIN)/ruff format --check pgkit tests bench tools
	@# Chapter code is linted like the library, and kept to 80 characters a line, the width of the
	@# rendered book's code column. The notebooks are named one by one: pyproject.toml excludes
	@# *.ipynb from directory walks.
	$(BIN)/ruff check --line-length 80 --extend-select E501 chapters/*.ipynb
	$(BIN)/ruff format --check --line-length 80 chapters/*.ipynb

unit: $(STAMP)
	$(BIN)/pytest -q tests

# Margin lines printed by pgkit.claims.claim are not compared (tools/nbval_sanitize.cfg).
NBVAL = $(BIN)/pytest -q --nbval-lax --nbval-current-env --nbval-cell-timeout=$(CELL_TIMEOUT) \
	--nbval-sanitize-with tools/nbval_sanitize.cfg
# The seed offset `make claims` runs the chapters under: every checked claim must hold there too.
CLAIMS_SEED_OFFSET ?= 1000

# pytest exits 5 when it collects nothing, so an empty chapters/ is handled explicitly.
nbval: $(STAMP)
	@if compgen -G "chapters/*.ipynb" > /dev/null; then \
		$(NBVAL) chapters/; \
	else \
		echo "nbval: no notebooks in chapters/"; \
	fi

# Every chapter again, with every seed moved by CLAIMS_SEED_OFFSET (pgkit.seeds.seed): a
# checked verdict that flips is a claim that needed its lucky seeds.
claims: $(STAMP)
	@if compgen -G "chapters/*.ipynb" > /dev/null; then \
		PGKIT_SEED_OFFSET=$(CLAIMS_SEED_OFFSET) $(NBVAL) chapters/; \
	else \
		echo "claims: no notebooks in chapters/"; \
	fi

# A clean rebuild: warnings from unchanged pages are not missed, and pages whose source was
# removed or moved do not linger for the browser check to find.
book-strict: $(STAMP)
	rm -rf $(HTML)
	$(BIN)/jupyter-book build . --all -W -n --keep-going

browser: $(STAMP) browser-deps
	$(BIN)/pytest -q -rA -m browser tests/test_book_browser.py tests/test_book_widths.py tests/test_book_pdf.py \
		tests/test_lab_browser.py

browser-deps:
	@command -v chromium > /dev/null && command -v chromedriver > /dev/null || \
		($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver)

# Opened at the top of the repository, so that chapters/ and workbook/ are both reachable.
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=$(CURDIR) $(if $(SUDO),,--allow-root)

# Chapter 1 as Colab, Binder or a download meet it: in a new virtualenv without pgkit, its install
# cell (tools/install_cell.py) installs pgkit from a copy of this checkout, then the chapter runs.
launch-check: $(STAMP)
	$(BIN)/pytest -q -rA -m bare_venv tests/test_install_cell.py

notebooks: $(STAMP)
	$(BIN)/python tools/run_notebooks.py --timeout $(CELL_TIMEOUT) chapters/*.ipynb

# Exercise stubs for self-study; notebooks you have edited are kept (FORCE=1 overwrites them).
workbook: $(STAMP)
	$(BIN)/python -m pgkit workbook $(if $(FORCE),--force,)

bench: $(STAMP)
	$(BIN)/python bench/book_timing.py

# Parallel speed-up and per-job overhead of pgkit.sweeps' local and Ray backends.
bench-sweeps: $(STAMP)
	$(BIN)/python bench/sweep_speed.py

# pgkit against Stable-Baselines3, which lives in its own virtualenv so that it never
# touches the book's environment (torch stays pinned to the local CPU wheel).
bench-sb3:
	@test -x .venv-bench/bin/python || $(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install -qq "torch==2.13.0" -e ".[bench]"
	.venv-bench/bin/python bench/ppo_vs_sb3.py

clean:
	rm -rf _build
