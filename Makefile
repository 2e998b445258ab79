# The two commands a user needs: `make run` and `make test`.
# Both set the project up first (Debian packages, .venv); see scripts/setup.sh.
PY := .venv/bin/python
# Prefect keeps its state (temporary server database, logs) inside the project
# unless the user points it elsewhere, so runs never share a database by accident.
export PREFECT_HOME ?= $(CURDIR)/.cache/prefect
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: setup run test bench variants goldens robustness clean

setup:
	@mkdir -p "$(PREFECT_HOME)" 2>/dev/null || true
	@bash scripts/setup.sh

run: setup
	$(PY) -m flows.cli run

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/run.py

# Whole-report re-renderings and their scans, scored against the generator's gold.
variants: setup
	$(PY) benchmarks/variants.py

# Accept an intended extraction change: rewrite samples/goldens from a fresh extraction,
# then review it with `git diff samples/goldens` (make test fails until the goldens match).
goldens: setup
	$(PY) -m pipeline.review.goldens --write

robustness: setup
	$(PY) scripts/robustness.py

clean:
	rm -rf outputs/releases outputs/current .cache
