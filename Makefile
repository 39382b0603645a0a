# Two entry points: `make demo` and `make test`. Both create/reuse .venv and are idempotent.
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
VPIP := $(VPY) -m pip
TORCH_VERSION := 2.13.0

.PHONY: demo test lint docs clean venv

$(VPY):
	$(PY) -m venv $(VENV)
	$(VPIP) install -q --upgrade pip

# Keep an installed torch (any version >= 2.2); otherwise install the pinned CPU wheel so that pip never
# resolves an unpinned torch (which would pull several GB of CUDA packages).
$(VENV)/.torch: $(VPY)
	@$(VPY) -c "import torch, sys; v = tuple(int(p) for p in torch.__version__.split('+')[0].split('.')[:2]); sys.exit(0 if v >= (2, 2) else 1)" 2>/dev/null \
	  || $(VPIP) install -q torch==$(TORCH_VERSION)
	@touch $@

$(VENV)/.base: $(VENV)/.torch pyproject.toml
	$(VPIP) install -q -e ".[data,plot]"
	@touch $@

$(VENV)/.test: $(VENV)/.base
	$(VPIP) install -q -e ".[test,data,plot,onnx,distributed,dev]"
	@touch $@

venv: $(VENV)/.base

demo: $(VENV)/.base
	$(VENV)/bin/sdpsolve demo

test: $(VENV)/.test
	$(VPY) -m pytest -q

lint: $(VENV)/.test
	$(VENV)/bin/ruff check sdpsolve certifiers tests bench

docs: $(VENV)/.test
	$(VPIP) install -q -e ".[docs]"
	$(VENV)/bin/mkdocs build --strict

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache site
