# Two commands set everything up from a clean clone: `make demo` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
EXTRAS := test,faces,train,music,ui,video
# Setup reruns only when one of its inputs changes.
STAMP := $(VENV)/.emogen-setup-stamp
SETUP_INPUTS := pyproject.toml scripts/setup.sh scripts/debian-packages.txt

.PHONY: setup demo test test-fast bench clean

setup: $(STAMP)

$(STAMP): $(SETUP_INPUTS)
	EMOGEN_EXTRAS=$(EXTRAS) bash scripts/setup.sh
	touch $@

demo: setup
	$(PY) -m emogen.demo --out out

test: setup
	$(PY) -m pytest -q -p no:cacheprovider

# Everything but the tests marked slow.
test-fast: setup
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow"

bench: setup
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) out build *.egg-info
