# Two commands do all the setup on a fresh machine: `make demo` and `make test`.
PY ?= python3
STAMP := .setup.stamp

.PHONY: setup demo test bench clean

# torch==2.13.0 is a local CPU wheel here; any other spec pulls a multi-GB CUDA
# build, so it is installed first and only where no torch is present.
$(STAMP): pyproject.toml
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(PY) -m rudra demo

test: setup
	$(PY) -m pytest -q

bench: setup
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(STAMP) runs build *.egg-info .pytest_cache
