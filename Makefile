# Parley — `make run` starts it, `make test` runs the whole suite. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
TORCH := torch==2.13.0
# llama-cpp-python compiles from source; these options cut the build to ~5 min on 2 cores.
LLAMA_CMAKE_ARGS := -DMTMD_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
	-DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF
TEST_APT := chromium espeak-ng sox pocketsphinx-testdata iproute2 libportaudio2
TEST_LLM := smollm2-135m-instruct-q4_1
TEST_ASR := moonshine-base-en

.PHONY: run test test-fast install install-test apt-run apt-test models models-test clean

run: install models
	$(BIN)/parley up

# pytest's exit status 5 means it collected nothing: a run that tested nothing fails.
pytest = @set +e; PARLEY_TEST_DATABASE_URL=$${PARLEY_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test} \
	PARLEY_TEST_REDIS_URL=$${PARLEY_TEST_REDIS_URL:-redis://127.0.0.1:6379/0} \
	$(BIN)/python -m pytest -ra $(1) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests"; exit 1; fi; exit $$rc

test: install-test models-test
	$(call pytest)

# A developer's quick loop: everything but the `slow` tests (real models, browsers, real-time media); no model files.
test-fast: install-test
	$(call pytest,-m "not slow")

$(BIN)/python: | apt-run
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip wheel

# torch first: anything that depends on it must find the CPU build already installed.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install $(TORCH)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip install "llama-cpp-python==0.3.36"
	$(BIN)/pip install -e ".[inference,api]"
	touch $@

install: $(VENV)/.installed

$(VENV)/.installed-test: $(VENV)/.installed
	$(MAKE) apt-test
	$(BIN)/pip install -e ".[inference,api,livekit,test]"
	touch $@

install-test: $(VENV)/.installed-test

# What a fresh Debian/Ubuntu lacks for the install: venv support, and a compiler for llama-cpp-python.
apt-run:
	@missing=""; \
	$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	command -v c++ >/dev/null 2>&1 || missing="$$missing build-essential"; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

apt-test:
	@missing=""; for p in $(TEST_APT); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

models: install
	$(BIN)/parley models pull

models-test: install
	$(BIN)/parley models pull
	$(BIN)/parley models pull --model $(TEST_LLM) --model $(TEST_ASR)

clean:
	rm -rf $(VENV) .pytest_cache artifacts
