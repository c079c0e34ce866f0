# Huying — `make run` serves the demo, `make test` runs the whole suite, `make bench` measures.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export FLASK_APP := app:create_app

.PHONY: run test bench check-bpmn clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python setup.cfg constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $@

# The bpmn-js viewer bundle (app/static/dist/, git-ignored) is built from the npm registry.
app/static/dist/diagram.js: frontend/package.json frontend/package-lock.json frontend/src/diagram.js
	cd frontend && npm ci --no-audit --no-fund && npm run build

run: $(VENV)/.installed app/static/dist/diagram.js
	$(BIN)/flask db upgrade
	HUYING_DEMO=$${HUYING_DEMO:-1} $(BIN)/flask huying setup
	HUYING_DEMO=$${HUYING_DEMO:-1} exec $(BIN)/flask huying serve

test: $(VENV)/.installed-test app/static/dist/diagram.js
	scripts/ensure-browser.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

check-bpmn:
	../shared/tools/bpmnjs/check.sh processes/

clean:
	rm -rf $(VENV) instance .pytest_cache
