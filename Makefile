# Two entry points, each doing its own set-up from a fresh clone:
#   make demo   the main job on the project's own synthetic sample data
#   make test   the whole test suite (under Xvfb, via pytest-xvfb)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test lint setup system-deps bench clean

setup: $(STAMP)

system-deps:
	bash scripts/system-deps.sh

$(STAMP): pyproject.toml constraints.txt
	bash scripts/system-deps.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

# Two pytest processes: TensorFlow and a napari viewer must never share one.
test: $(STAMP)
	@status=0; \
	$(PY) -m pytest tests $(PYTEST_ARGS) || status=$$?; \
	$(PY) -m pytest tests/gui $(PYTEST_ARGS) || status=$$?; \
	exit $$status

demo: $(STAMP)
	xvfb-run -a $(PY) -m napari_sleap.demo --out out/demo

# ruff, then the import rules of pyproject.toml [tool.importlinter]
# (docs/architecture.md draws them).
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) out build *.egg-info
