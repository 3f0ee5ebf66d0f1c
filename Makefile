# Two commands set everything up from a clean clone: `make demo` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
EXTRAS := test,faces,train,music,ui,video
# Setup reruns only when one of its inputs changes.
STAMP := $(VENV)/.emogen-setup-stamp
SETUP_INPUTS := pyproject.toml scripts/setup.sh scripts/debian-packages.txt
# The optional engines live in a second virtualenv: coqui's torchaudio 2.11 breaks `import diffusers` on a
# CPU-only torch, and piper-tts is GPL-3. `make test` builds it and runs their tests there, so CI runs them too.
OPTIONAL_VENV := .venv-optional
OPTIONAL_PY := $(OPTIONAL_VENV)/bin/python
OPTIONAL_EXTRAS := test,train,coqui,tts
OPTIONAL_STAMP := $(OPTIONAL_VENV)/.emogen-setup-stamp
OPTIONAL_TESTS := tests/test_speech_coqui.py tests/test_train_tts.py tests/test_speech_piper.py

.PHONY: setup setup-optional demo test test-main test-optional test-fast bench clean

setup: $(STAMP)

$(STAMP): $(SETUP_INPUTS)
	EMOGEN_EXTRAS=$(EXTRAS) bash scripts/setup.sh
	touch $@

setup-optional: $(OPTIONAL_STAMP)

$(OPTIONAL_STAMP): $(SETUP_INPUTS)
	VENV=$(OPTIONAL_VENV) EMOGEN_EXTRAS=$(OPTIONAL_EXTRAS) bash scripts/setup.sh
	touch $@

demo: setup
	$(PY) -m emogen.demo --out out

test: test-main test-optional

# Everything except the optional engines' tests, in the main virtualenv.
test-main: setup
	$(PY) -m pytest -q -p no:cacheprovider $(addprefix --ignore=,$(OPTIONAL_TESTS))

# The Coqui and Piper tests in their own virtualenv; EMOGEN_NO_SKIPS turns a skip there (an engine that
# failed to import) into a failure instead of a silent pass.
test-optional: setup-optional
	EMOGEN_NO_SKIPS=1 $(OPTIONAL_PY) -m pytest -q -p no:cacheprovider $(OPTIONAL_TESTS)

# Everything but the tests marked slow.
test-fast: setup
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow"

bench: setup
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) $(OPTIONAL_VENV) out build *.egg-info
