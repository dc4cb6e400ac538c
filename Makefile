# leadml: `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
MLFLOW_URI ?= sqlite:///mlflow.db
MLFLOW_PORT ?= 5000
# pytest-xdist workers, one per core; each takes whole test files (module fixtures stay shared)
TEST_WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help venv demo test test-fast lint docs bench bench-features bench-score bench-train bench-trees bench-cli bench-monitoring mlflow-ui report clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP) ## create the virtual environment and install leadml with its dev tools

demo: $(STAMP) ## generate the demo database, train, register, score and export
	$(BIN)/leadml demo --config configs/default.yaml

.PHONY: x-education
x-education: $(STAMP) ## cross-validate on the public X Education leads in ../shared (flat export, leak shown)
	$(BIN)/leadml train --config configs/x_education.yaml

.PHONY: leadforge-data
leadforge-data: $(STAMP) ## a third-party CRM bundle (leadforge, MIT) in data/leadforge for configs/leadforge*.yaml
	$(BIN)/leadforge generate --recipe b2b_saas_procurement_v1 --seed 42 --mode research_instructor \
		--n-leads 3000 --out data/leadforge

test: $(STAMP) ## run the whole test suite (TEST_WORKERS=1 for one process)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-fast: $(STAMP) ## run the tests that train no model
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not slow"

lint: $(STAMP) ## ruff over the package and the tests, then the import contracts of docs/architecture.md
	$(BIN)/ruff check src tests
	$(BIN)/lint-imports --no-cache

bench: bench-features bench-train bench-trees bench-score bench-monitoring bench-cli ## run every benchmark and write benchmarks/results/

bench-features: $(STAMP) ## features vs the DuckDB reference at 100k and 1M leads (needs ../shared)
	$(BIN)/python benchmarks/bench_features.py

bench-train: $(STAMP) ## leadml train end to end on 100k leads, time per stage
	$(BIN)/python benchmarks/bench_train.py

bench-score: $(STAMP) ## leadml score end to end: 1M leads from DuckDB, 100k from PostgreSQL
	$(BIN)/python benchmarks/bench_score.py

bench-trees: $(STAMP) ## what the tree count buys: fewer, larger boosting steps against the default, 100k leads
	$(BIN)/python benchmarks/bench_trees.py

bench-cli: $(STAMP) ## leadml --help and every COMMAND --help, each as its own process
	$(BIN)/python benchmarks/bench_cli.py

bench-monitoring: $(STAMP) ## drift checks and `leadml monitor` beside scoring, 100k leads
	$(BIN)/python benchmarks/bench_monitoring.py

.PHONY: bench-spark
bench-spark: $(STAMP) ## leadml score --engine spark, 2, 4 and 8 buckets of 50k leads: per-bucket cost, fixed costs, sizing (--million adds 1M)
	$(BIN)/python benchmarks/bench_spark.py

docs: $(STAMP) ## regenerate docs/features.md from the feature catalog and docs/mapping.md from the config schema
	$(BIN)/leadml features --list --markdown --config configs/default.yaml > docs/features.md
	$(BIN)/leadml map --reference > docs/mapping.md

mlflow-ui: $(STAMP) ## open the MLflow UI on the project's tracking store (http://127.0.0.1:5000)
	$(BIN)/mlflow ui --backend-store-uri $(MLFLOW_URI) --port $(MLFLOW_PORT) --workers 1

report: $(STAMP) ## write the sales-ops HTML report (data/report.html) of the last export
	$(BIN)/leadml report --config configs/default.yaml

clean: ## remove generated data, MLflow stores and local model copies
	rm -rf data/*.duckdb data/scored_leads* data/report.html mlflow.db mlartifacts models/*/
