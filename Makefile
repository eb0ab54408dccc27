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

## stop: stop the local services
stop:
	devtools/services stop

## reset: stop the services and delete their data and the trained models, so the demo starts afresh
reset: stop
	rm -rf .run/redis .run/elasticsearch var/models

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
