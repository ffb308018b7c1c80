# Curso de Deep Learning: make run | make test | make lab
# Each target creates .venv (with requirements.txt and course_utils in editable mode) when missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN_ARGS ?=

.PHONY: run test lab install clean colab-check

install: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

## run: ejecuta todo el curso (modo completo) y escribe build/report.md y build/report.json
run: $(STAMP)
	$(PY) -m course_utils run $(RUN_ARGS)

## test: la batería de pruebas (sin internet)
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

## colab-check: ejecuta lecciones y tareas como en Colab (entorno .venv-colab solo con lo que trae Colab)
colab-check: $(STAMP)
	$(PY) tests/colab_check.py $(COLAB_ARGS)

## lab: abre JupyterLab en notebooks/
lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf build .pytest_cache .venv-colab
