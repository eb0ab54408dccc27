# tailor: personalized storefront search on Elasticsearch.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)


.PHONY: install services stop reset index import train eval bench demo test lint

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## install: create .venv with the runtime and test dependencies
install: $(VENV)/.installed

## services: start the local Elasticsearch node and Redis on 127.0.0.1
services: install
	devtools/services start

RUN_DIR := $(or $(TAILOR_RUN_DIR),$(CURDIR)/.run)
MODEL_DIR := $(or $(TAILOR_MODEL_DIR),$(CURDIR)/var/models)

## stop: stop a running demo's API and worker, then the local services
stop:
	@if [ -f "$(RUN_DIR)/supervisor/supervisord.pid" ] && kill -TERM "$$(cat "$(RUN_DIR)/supervisor/supervisord.pid")" 2>/dev/null; then \
		echo "demo: stopping the API and the worker"; \
		for _ in $$(seq 1 30); do kill -0 "$$(cat "$(RUN_DIR)/supervisor/supervisord.pid" 2>/dev/null)" 2>/dev/null || break; sleep 1; done; \
	fi
	devtools/services stop

## reset: stop everything and delete the services' data and the trained models, so the demo starts afresh
reset: stop
	rm -rf "$(RUN_DIR)/redis" "$(RUN_DIR)/elasticsearch" "$(MODEL_DIR)"

## index: build a new catalog index version and swap the alias to it
index: services
	$(PY) -m indexing build

## import: import the purchase history as events and consume them with a burst worker
import: services
	$(PY) -m workers import-history --shift-to-now
	$(PY) -m workers drain

## train: train, save and activate a ranking model
train: services
	$(PY) -m rankers train

## eval: print MRR, NDCG@10 and Recall@10 and write docs/evaluation.md
eval: index
	$(PY) -m rankers eval

## bench: compare plain retrieval with the full search and write docs/benchmarks.md
bench: services
	$(PY) bench/search_latency.py --write docs/benchmarks.md

## demo: run the whole product on the sample data and serve the API on 127.0.0.1:8000
demo: install
	devtools/demo

## test: run the test suite against the real local services
test: install
	devtools/services start
	$(PY) -m pytest

## lint: run ruff and mypy
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy indexing rankers search_api workers sample_data settings.py wsgi.py
