# Tuanju: every developer and operator task. `make demo` and `make test` are all a newcomer needs.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
SCALE ?= demo
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install demo serve seed test test-sqlite test-postgres lint format bench messages vendor clean

help:
	@echo "make demo   - install, migrate, load demo data, serve on http://$(HOST):$(PORT)"
	@echo "make test   - the whole suite (SQLite; DATABASE_URL=postgres://... for PostgreSQL)"
	@echo "make lint | bench | messages | vendor | clean"

$(BIN)/tuanju: pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(BIN)/tuanju

install: $(BIN)/tuanju

demo: install
	$(BIN)/tuanju migrate --noinput -v0
	$(BIN)/tuanju seed --scale $(SCALE)
	@echo ""
	@echo "Tuanju is serving on http://$(HOST):$(PORT)/  (log in with a demo login above; Ctrl-C stops)"
	@$(BIN)/tuanju run_huey --quiet >var/worker.log 2>&1 & echo $$! > var/worker.pid; \
	  trap 'kill $$(cat var/worker.pid) 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/tuanju runserver --noreload $(HOST):$(PORT)

serve: install
	$(BIN)/tuanju runserver $(HOST):$(PORT)

seed: install
	$(BIN)/tuanju seed --scale $(SCALE)

test: install
	$(BIN)/pytest -n $${TEST_WORKERS:-2} --dist loadfile $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src tests bench scripts

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format src tests bench scripts

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

messages: install
	cd src/tuanju && ../../$(BIN)/tuanju makemessages -l zh_Hans --no-obsolete --add-location file && ../../$(BIN)/tuanju compilemessages -l zh_Hans

vendor:
	$(PY) scripts/vendor.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache src/*.egg-info
