# Math Guide: two commands on a fresh machine.
#   make book  - build the static site into _build/html (strict: any warning fails)
#   make test  - unit and property tests, every chapter cell by cell (nbval), then the strict build
# Both create .venv and install requirements.txt first when needed.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Parallel pytest workers; --dist loadfile keeps one chapter's cells in one kernel.
PYTEST_WORKERS ?= 2
# One BLAS thread per process: the chapters do many small matrix operations, and with two pytest
# workers (or a loaded machine) threaded OpenBLAS oversubscribes the cores and runs several times
# slower. The benchmarks in benchmarks/ are run by hand, with the library defaults.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
# JupyterLab refuses to run as root unless told to (containers often run as root).
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: book test pytest test-portable seeds lint pdf tex serve lab clean venv

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# pip runs from the repository root so that `-e .` in requirements.txt means this repository.
	$(BIN)/python -m pip install --quiet -r requirements.txt
	# Build matplotlib's font cache now, so that its one-time notice never lands in a chapter's stderr.
	$(BIN)/python -c 'import matplotlib.pyplot'
	touch $(STAMP)

# Each chapter executes at most once per run: tools/execute_chapters.py executes the chapters that the
# execution store (.jupyter_cache/<key>, keyed on src/ and the pinned requirements) lacks, two at a time;
# the strict build then takes every chapter's outputs from the store.
book: $(STAMP)
	rm -rf _build
	@start=$$(date +%s); $(BIN)/python tools/execute_chapters.py; \
	  echo "stage: execute chapters took $$(( $$(date +%s) - start )) s"
	@start=$$(date +%s); $(BIN)/jupyter-book build . --all -W -n --keep-going; \
	  echo "stage: jupyter-book build took $$(( $$(date +%s) - start )) s"
	@echo "Built: _build/html/index.html"

# The tests of the built site; they skip (saying so) when the book is not built.
SITE_TESTS := tests/test_offline_site.py tests/test_site_browser.py tests/test_pdf.py

# Tests only, without the slow ones (marked `slow`; make test and CI run them) and without a build.
pytest: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile -m "not slow"

# The library's tests and every chapter, cell by cell (nbval); each chapter whose cells all pass goes into
# the execution store, so the strict build that follows executes none again; then the tests of the pages
# of this very build (offline, browser).
test: $(STAMP)
	@start=$$(date +%s); $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile \
	  $(addprefix --ignore=,$(SITE_TESTS)); echo "stage: library tests and chapters took $$(( $$(date +%s) - start )) s"
	$(MAKE) --no-print-directory book
	@start=$$(date +%s); MATHGUIDE_REQUIRE_BUILD=1 $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup \
	  $(SITE_TESTS); echo "stage: site tests took $$(( $$(date +%s) - start )) s"

# Another road through the arithmetic (tools/portable.py): the library's tests and every chapter again,
# under another OpenBLAS kernel, without NumPy's AVX-512 code and with a non-default seed. It prints the
# kernel that OpenBLAS really ran. The site, PDF and harness tests check the build, not arithmetic.
PORTABLE_ARGS := tests chapters --ignore=tests/test_site_browser.py --ignore=tests/test_pdf.py \
	--ignore=tests/test_offline_site.py --ignore=tests/test_harness.py
test-portable: $(STAMP)
	env -u MATHGUIDE_REQUIRE_BROWSER -u MATHGUIDE_REQUIRE_BUILD -u MATHGUIDE_REQUIRE_PDF \
	  $(BIN)/python tools/portable.py -n $(PYTEST_WORKERS) --dist loadfile -m "not slow" $(PORTABLE_ARGS)

# The seed sweep (by hand, see CONTRIBUTING.md): every chapter under SEEDS values of MATHGUIDE_SEED;
# prints each assert that failed and how often. SEED_PATHS="chapters/linalg/svd.md tests/linalg" narrows it.
SEEDS ?= 10
SEED_PATHS ?= chapters
seeds: $(STAMP)
	$(BIN)/python tools/seed_sweep.py --seeds $(SEEDS) $(SEED_PATHS)

# The PDF edition: Sphinx's LaTeX writer and XeLaTeX (Debian's TeX Live, installed here when missing:
# that needs root, as in CI; elsewhere install the packages named below yourself).
TEX_PACKAGES := texlive-xetex texlive-latex-extra texlive-fonts-recommended texlive-lang-chinese \
	texlive-plain-generic latexmk lmodern fonts-noto-cjk fonts-freefont-otf fonts-dejavu-core poppler-utils
tex:
	@command -v xelatex >/dev/null && command -v latexmk >/dev/null && command -v pdftotext >/dev/null || { \
	  test "$$(id -u)" = 0 || { echo "make pdf needs XeLaTeX: apt-get install $(TEX_PACKAGES)"; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEX_PACKAGES) >/dev/null; }

pdf: $(STAMP) tex
	rm -rf _build/latex
	$(BIN)/jupyter-book build . --builder pdflatex -W -n --keep-going
	@echo "Built: _build/latex/math-guide.pdf"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools conftest.py _ext

serve: $(STAMP)
	test -f _build/html/index.html || $(MAKE) book
	@echo "Serving the book on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	$(BIN)/python -m http.server $(PORT) --bind $(HOST) --directory _build/html

lab: $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-lab.txt
	$(BIN)/jupyter lab --ServerApp.ip=$(HOST) $(LAB_ARGS) chapters

clean:
	rm -rf _build .pytest_cache .hypothesis .jupyter_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
