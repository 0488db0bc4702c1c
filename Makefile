# Two commands a newcomer needs: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# Execute notebooks/quickstart.ipynb (against the offline simulator when XAI_API_KEY
# is unset) and write notebooks/quickstart.html. It writes only ignored paths: the
# executed copy beside the notebook, the cache in .grok_nb_cache/ (kept by `make clean`).
# GROK_NB_CACHE=replay make demo re-executes it from that cache, asking nothing.
demo: $(STAMP)
	$(BIN)/python notebooks/run.py notebooks/quickstart.ipynb

lint: $(STAMP)
	$(BIN)/ruff check grok_nb tests benchmarks notebooks
	$(BIN)/ruff format --check grok_nb tests benchmarks notebooks
	$(BIN)/mypy

test: lint
	node --test tests/js/
	env -u MPLBACKEND $(BIN)/python -m pytest

clean:
	rm -rf $(VENV) dist build artifacts .pytest_cache .mypy_cache .ruff_cache
