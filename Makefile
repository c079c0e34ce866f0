# Huying — `make run` serves the demo, `make test` runs the whole suite, `make bench` measures.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export FLASK_APP := app:create_app

.PHONY: run test bench check-bpmn clean bundles

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python setup.cfg constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $@

# The browser bundles (app/static/dist/, git-ignored) are built from the npm registry: the bpmn-js
# viewer diagram.js, the analysts' modeler.js and their CSS and palette font, and the report page's
# Chart.js charts reports.js, and each text file's .br and .gz beside it (frontend/compress.mjs, for
# app/assets.py). One `npm run build` makes all of them; make asks for each, but once one is built
# the others are up to date.
BUNDLES  := app/static/dist/diagram.js app/static/dist/modeler.js app/static/dist/reports.js \
            app/static/dist/command.js app/static/dist/gridmap.js
FRONTEND := frontend/package.json frontend/package-lock.json frontend/compress.mjs \
            $(wildcard frontend/src/*.js frontend/src/*.json)

$(BUNDLES): $(FRONTEND)
	cd frontend && npm ci --no-audit --no-fund && npm run build

bundles: $(BUNDLES)

run: $(VENV)/.installed $(BUNDLES)
	$(BIN)/flask db upgrade
	HUYING_DEMO=$${HUYING_DEMO:-1} $(BIN)/flask huying setup
	HUYING_DEMO=$${HUYING_DEMO:-1} exec $(BIN)/flask huying serve

test: $(VENV)/.installed-test $(BUNDLES)
	scripts/ensure-browser.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

check-bpmn:
	../shared/tools/bpmnjs/check.sh processes/

clean:
	rm -rf $(VENV) instance .pytest_cache
