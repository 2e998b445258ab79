# The two commands a user needs: `make run` and `make test`.
# Both set the project up first (Debian packages, .venv); see scripts/setup.sh.
PY := .venv/bin/python

.PHONY: setup run test bench goldens robustness clean

setup:
	@bash scripts/setup.sh

run: setup
	$(PY) -m flows.main

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/run.py

goldens: setup
	$(PY) -m pipeline.goldens --write

robustness: setup
	$(PY) scripts/robustness.py

clean:
	rm -rf outputs/releases outputs/current .cache
