# Two commands do all the set-up on a fresh machine:
#   make lab    create .venv, install the course with JupyterLab, open JupyterLab on notebooks/
#   make test   the same install plus the test and browser tools, then the whole test suite
# The PyTorch build suits the machine (tools/torch_index.py: the CPU wheels without an NVIDIA GPU),
# and every version is the one CI tested (requirements/lock.txt; LOCK=0 takes the newest allowed).
# CI pins the torch release with:  make test TORCH_SPEC=torch==2.13.0

PYTHON     ?= python3
VENV       ?= .venv
# 1: install the versions in requirements/lock.txt (what CI tested); 0: the newest allowed
LOCK       ?= 1
LOCK_FILE  := requirements/lock.txt
# auto: CPU wheels without an NVIDIA GPU, CUDA wheels with one, MPS wheels on macOS;
# or cpu, pypi (the default index's wheels), cuXYZ (e.g. cu128), an index URL
ifeq ($(origin TORCH_SPEC),undefined)
# the torch release of the lock file, e.g. torch==2.13.0 (LOCK=0: the newest)
TORCH_SPEC := $(if $(filter 1,$(LOCK)),$(shell sed -n 's/^\(torch==[^ ;]*\).*/\1/p' $(LOCK_FILE) 2>/dev/null),torch)
TORCH_INDEX ?= auto
else
# a TORCH_SPEC given by hand is installed as given, from the indexes pip is configured with
TORCH_INDEX ?= pypi
endif
# Extra arguments for `jupyter lab`, e.g. LAB_ARGS="--no-browser --port 8899"
LAB_ARGS   ?=
# Extra arguments for pytest, e.g. PYTEST_ARGS="-k data -x"
PYTEST_ARGS ?=
# The minimum-versions check: its own environment, and what it runs
MIN_VENV   ?= build/venv-min
MIN_PYTEST_ARGS ?= gan_course tests -m "not slow" --ignore=tests/test_make_lab.py --ignore=tests/test_browser.py --ignore=tests/test_browser_diffusion.py

BIN   := $(VENV)/bin
PIP   := $(BIN)/python -m pip
# pip's constraints: the lock file without its torch line (TORCH_SPEC says which torch)
CONSTRAINTS = $(if $(filter 1,$(LOCK)),-c $(VENV)/constraints.txt,)
# jupyter refuses to start as root unless told it may
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

# What each target installs into .venv (pyproject.toml's extras)
EXTRAS_lab  := lab
EXTRAS_test := lab,test,browser,book
EXTRAS_book := lab,book
# `make lab` after `make test` uses the test install, which holds everything lab needs.
LAB_STAMP   := $(if $(wildcard $(VENV)/.installed-test),$(VENV)/.installed-test,$(VENV)/.installed-lab)
BOOK_STAMP  := $(if $(wildcard $(VENV)/.installed-test),$(VENV)/.installed-test,$(VENV)/.installed-book)
# Classroom builds (tools/build_*.py): every notebook in notebooks/ unless NOTEBOOKS names some
# (make slides NOTEBOOKS="03 07"); FAST mode unless GAN_COURSE_FAST=0 (make book GAN_COURSE_FAST=0).
NOTEBOOKS  ?=

# ipywidgets 7.7, the version Colab's frontend renders natively, beside .venv's other packages:
# tests/test_colab.py runs the dashboards with it first on PYTHONPATH (ipywidgets alone, no deps).
IPYWIDGETS7      := build/ipywidgets7
IPYWIDGETS7_PINS := ipywidgets==7.7.5 ipython_genutils==0.2.0

.PHONY: install browser lab test test-min lock clean slides book student ipywidgets7

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Torch first, alone, from the index that serves this machine's build (tools/torch_index.py),
# so that the range in pyproject.toml is already met and pip does not pull another build;
# then the course itself, editable, with the target's extras; both within the lock.
$(VENV)/.installed-lab $(VENV)/.installed-test $(VENV)/.installed-book: $(VENV)/.installed-%: $(BIN)/python pyproject.toml $(LOCK_FILE)
	@grep -v '^torch==' $(LOCK_FILE) > $(VENV)/constraints.txt
	@index_args=$$($(BIN)/python tools/torch_index.py $(TORCH_INDEX)) && set -x && \
	  $(PIP) install --quiet $$index_args $(CONSTRAINTS) "$(TORCH_SPEC)"
	$(PIP) install --quiet $(CONSTRAINTS) -e ".[$(EXTRAS_$*)]"
	@$(BIN)/python -c "import torch; print('installed torch', torch.__version__, 'with CUDA ' + torch.version.cuda if torch.version.cuda else '(no CUDA)')"
	touch $@

install: $(LAB_STAMP)

# The browser tests drive Debian's Chromium through playwright (never `playwright install`).
# Install it when this machine can (root and apt-get); otherwise those tests are skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    (timeout 900 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 900 \
	      apt-get install -y -qq --no-install-recommends chromium >/dev/null) \
	      || echo "chromium could not be installed: the browser tests will be skipped"; \
	  else \
	    echo "chromium not found (sudo apt-get install chromium): the browser tests will be skipped"; \
	  fi; }

# Once per machine (a stamp); cheap: two pure-Python wheels, ~1 MB.
$(IPYWIDGETS7)/.installed: | $(BIN)/python
	rm -rf $(IPYWIDGETS7)
	$(PIP) install --quiet --no-deps --target $(IPYWIDGETS7) $(IPYWIDGETS7_PINS)
	touch $@

ipywidgets7: $(IPYWIDGETS7)/.installed

lab: install
	$(BIN)/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG) $(LAB_ARGS)

test: $(VENV)/.installed-test browser $(IPYWIDGETS7)/.installed
	GAN_COURSE_FAST=$${GAN_COURSE_FAST:-1} $(BIN)/python -m pytest $(PYTEST_ARGS)

# The declared lower bounds, together: every dependency of the course and its tests at the
# oldest version pyproject.toml allows (tools/requirements.py floors), in an environment of its
# own, then the fast tests. Torch: its floor, or TORCH_SPEC (CI: the release it has offline).
test-min:
	rm -rf $(MIN_VENV)
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MIN_VENV)/bin/python tools/requirements.py floors runtime lab test > $(MIN_VENV)/floors.txt
	@index_args=$$($(MIN_VENV)/bin/python tools/torch_index.py $(TORCH_INDEX)) && set -x && \
	  $(MIN_VENV)/bin/python -m pip install --quiet $$index_args -c $(MIN_VENV)/floors.txt \
	    "$(if $(filter command line environment,$(origin TORCH_SPEC)),$(TORCH_SPEC),$$($(MIN_VENV)/bin/python tools/requirements.py floors --torch))"
	$(MIN_VENV)/bin/python -m pip install --quiet -c $(MIN_VENV)/floors.txt -e ".[lab,test]"
	$(MIN_VENV)/bin/python tools/requirements.py check $(MIN_VENV)/floors.txt
	GAN_COURSE_FAST=1 $(MIN_VENV)/bin/python -m pytest $(MIN_PYTEST_ARGS)

# A reveal.js deck per notebook (build/slides/), a static site of the course (build/book/), and
# the notebooks without their solutions (build/student/; CHECK=1 also runs each one).
slides: install
	$(BIN)/python tools/build_slides.py $(NOTEBOOKS)

book: $(BOOK_STAMP)
	$(BIN)/python tools/build_book.py $(NOTEBOOKS)

student: install
	$(BIN)/python tools/build_student.py $(NOTEBOOKS) $(if $(filter 1,$(CHECK)),--check)

# Rewrite the lock file from what .venv holds now, e.g. after `make clean test LOCK=0` passed.
lock:
	$(PIP) freeze --exclude-editable | $(BIN)/python tools/requirements.py lock > $(LOCK_FILE).new
	mv $(LOCK_FILE).new $(LOCK_FILE)

clean:
	rm -rf $(VENV) $(MIN_VENV) .pytest_cache build *.egg-info
