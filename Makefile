# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint clean qat-env

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): setup.py $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m kerasnas.cli search --data digits --seed 1 --time-budget 150 --epochs 6 --directory demo_output --overwrite

# Two workers (pytest-xdist): most tests trace and fit small models, one core each.
test: $(STAMP)
	$(PY) -m pytest -q -m "not slow" -n 2 --durations=15

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

# Quantization-aware training runs tf_keras + tfmot in a second interpreter (tfmot pins absl-py 1.x):
# .venv-qat adds only those packages and reads everything else (TensorFlow included) from .venv.
qat-env: $(STAMP)
	$(PYTHON) -m venv --without-pip $(VENV)-qat
	$(PY) -c "import site; print(site.getsitepackages()[0])" > \
		"$$($(VENV)-qat/bin/python -c 'import site; print(site.getsitepackages()[0])')/kerasnas_main.pth"
	$(PY) -m pip install --quiet --no-deps --target \
		"$$($(VENV)-qat/bin/python -c 'import site; print(site.getsitepackages()[0])')" \
		"tf-keras~=$$($(PY) -c 'import tensorflow as t; print(t.__version__.rsplit(".", 1)[0])').0" \
		"tensorflow-model-optimization==0.8.1" "absl-py~=1.2" dm-tree

lint: $(STAMP)
	$(VENV)/bin/ruff check kerasnas tests benchmarks tutorials

clean:
	rm -rf $(VENV) $(VENV)-qat *.egg-info .pytest_cache
