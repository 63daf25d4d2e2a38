# Parley — `make run` starts it, `make test` runs the whole suite. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
TORCH := torch==2.13.0
# On x86, every instruction-set extension this CPU has except AMX, instead of -march=native: on CPUs
# with AMX (Sapphire Rapids) ggml moves the weights to its AMX kernels, which segfault on the first
# decode (llama.cpp issue 20824; seen here on this machine kind).
CPU_FLAGS := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
X86_EXTENSIONS := SSE42:sse4_2 AVX:avx AVX2:avx2 FMA:fma F16C:f16c BMI2:bmi2 AVX_VNNI:avx_vnni \
	AVX512:avx512f AVX512_VBMI:avx512vbmi AVX512_VNNI:avx512_vnni AVX512_BF16:avx512_bf16
LLAMA_X86_ARGS := $(if $(filter avx,$(CPU_FLAGS)),-DGGML_NATIVE=OFF $(foreach e,$(X86_EXTENSIONS),\
	-DGGML_$(word 1,$(subst :, ,$(e)))=$(if $(filter $(word 2,$(subst :, ,$(e))),$(CPU_FLAGS)),ON,OFF)))
# llama-cpp-python compiles from source; these options cut the build to ~5 min on 2 cores.
LLAMA_CMAKE_ARGS := -DMTMD_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
	-DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF $(LLAMA_X86_ARGS)
# The built wheel is kept per build options: pip's own cache would hand back a wheel built with others.
LLAMA_WHEELS := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/parley/llama-cpp-python-0.3.36-$(shell echo '$(LLAMA_CMAKE_ARGS)' | sha1sum | cut -c1-12)
TEST_APT := chromium espeak-ng sox pocketsphinx-testdata iproute2 libportaudio2
TEST_LLM := smollm2-135m-instruct-q4_1

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
	ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" \
		CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(BIN)/pip wheel --no-deps --no-cache-dir -w $(LLAMA_WHEELS) "llama-cpp-python==0.3.36"
	$(BIN)/pip install $(LLAMA_WHEELS)/llama_cpp_python-0.3.36-*.whl
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
	$(BIN)/parley models pull --model $(TEST_LLM)

clean:
	rm -rf $(VENV) .pytest_cache artifacts
