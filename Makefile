# Two commands: `make demo` and `make test`. Each sets up everything it needs.
# `make test-integration` prints through LibreOffice and Chromium, reads from a
# throwaway PostgreSQL server and runs on Spark (local mode). It installs PySpark into
# .venv but no system programs: it says what is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-integration lint fmt bench clean tui

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/kpirules check policies
	$(BIN)/kpirules test policies/sales
	$(BIN)/kpirules eval policies/sales --data policies/sales/data.yaml --period 2026-Q4 --as-of 2027-01-04
	mkdir -p build/demo
	$(BIN)/kpirules report policies/sales --data policies/sales/data.yaml --as-of 2027-01-04 -o build/demo/sales-report.xlsx
	$(BIN)/kpirules feedback policies/sales --data policies/sales/data.yaml --as-of 2027-01-04 --manager E1012 --format html -o build/demo/feedback
	@echo ""
	@echo "The sample data has a few rows that are wrong on purpose, as real exports do:"
	@echo "the data-quality warnings above point at them (file, row and column)."
	@echo "Open next:"
	@echo "  build/demo/sales-report.xlsx     the HR workbook: people, ratings, payouts, actions"
	@echo "  build/demo/feedback/index.html   the feedback sheets of manager E1012's team"
	@echo "  make tui                         review the cycle in the terminal"
	@echo "  $(BIN)/kpirules explain policies/sales --data policies/sales/data.yaml --subject E1002 --as-of 2027-01-04"

test: $(STAMP)
	$(BIN)/ruff check kpirules tests bench
	$(BIN)/ruff format --check kpirules tests bench
	$(BIN)/kpirules check policies
	$(BIN)/kpirules lint policies
	$(BIN)/kpirules fmt --check policies
	$(BIN)/kpirules test policies
	$(BIN)/python -m pytest -n 2 --ignore=tests/integration

# Programs and fonts the print tests need (Debian package names): the spreadsheet and
# browser, poppler's pdftotext, Calibri's metric twin and a Chinese font.
INTEGRATION_PACKAGES := libreoffice-calc-nogui poppler-utils chromium fonts-crosextra-carlito fonts-wqy-microhei postgresql openjdk-17-jre-headless
SPARK_STAMP := $(VENV)/.installed-spark

# PySpark (about 450 MB) only for the Spark tests, not for `make test`.
$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	touch $(SPARK_STAMP)

test-integration: $(SPARK_STAMP)
	@missing=""; \
	for tool in soffice pdftotext chromium; do \
	  command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; \
	done; \
	fc-list 2>/dev/null | grep -qi carlito || missing="$$missing the-Carlito-font"; \
	fc-list :lang=zh 2>/dev/null | grep -q . || missing="$$missing a-Chinese-font"; \
	{ command -v initdb || ls /usr/lib/postgresql/*/bin/initdb; } >/dev/null 2>&1 || missing="$$missing PostgreSQL"; \
	command -v java >/dev/null 2>&1 || missing="$$missing Java"; \
	if [ -n "$$missing" ]; then \
	  echo "make test-integration: missing:$$missing" >&2; \
	  echo "install them with: apt-get install --no-install-recommends $(INTEGRATION_PACKAGES)" >&2; \
	  exit 1; \
	fi
	$(BIN)/python -m pytest -n 2 tests/integration

bench: $(STAMP)
	$(BIN)/python bench/bench_parse.py
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_outputs.py
	$(BIN)/python bench/bench_explain.py

tui: $(STAMP)
	$(BIN)/kpirules tui policies/sales --data policies/sales/data.yaml --as-of 2027-01-04

fmt: $(STAMP)
	$(BIN)/ruff format kpirules tests bench
	$(BIN)/kpirules fmt policies

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
