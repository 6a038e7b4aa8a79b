# Two commands do all the set-up on a fresh machine:
#   make lab    create .venv, install the course, open JupyterLab on notebooks/
#   make test   the same install, then the whole test suite (every notebook included)
# CI pins the CPU build of PyTorch with:  make test TORCH_SPEC=torch==2.13.0

PYTHON     ?= python3
VENV       ?= .venv
TORCH_SPEC ?= torch>=2.4
# Extra arguments for `jupyter lab`, e.g. LAB_ARGS="--no-browser --port 8899"
LAB_ARGS   ?=
# Extra arguments for pytest, e.g. PYTEST_ARGS="-k data -x"
PYTEST_ARGS ?=

BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed
# jupyter refuses to start as root unless told it may
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: install browser lab test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Torch first, from TORCH_SPEC, so that the range in pyproject.toml is already met and
# pip does not pull a different build; then the course itself, editable, with test extras.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

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

lab: install
	$(BIN)/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG) $(LAB_ARGS)

test: install browser
	GAN_COURSE_FAST=$${GAN_COURSE_FAST:-1} $(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
