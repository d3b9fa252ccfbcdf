"""An OpenAI-compatible chat endpoint over HTTP (llama.cpp server, vLLM, Ollama, hosted APIs).

Only this module talks HTTP. Transport errors, timeouts, 429 and 5xx become a retryable
`EndpointError`; other 4xx a non-retryable one. The schema is sent as OpenAI's
`response_format: json_schema`, or as `json_object` with a `schema` (llama-cpp-python's server).
"""

from __future__ import annotations

from typing import Any

import httpx

from classifiers.llm import ChatResult, EndpointError


class HttpChatEndpoint:
    """POST /v1/chat/completions with a JSON-schema-constrained answer."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        local: bool = False,
        timeout_seconds: float = 60.0,
        response_format: str = "json_schema",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.model = model
        self.local = local
        self.response_format = response_format
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=timeout_seconds,
            transport=transport,
        )

    def complete(
        self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int
    ) -> ChatResult:
        """One chat completion; the answer's text, model and token counts."""
        body = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": 0.0,
            "response_format": self._format(schema),
        }
        try:
            response = self._client.post("/v1/chat/completions", json=body)
        except httpx.HTTPError as exc:
            raise EndpointError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise EndpointError(f"HTTP {response.status_code}: {response.text[:200]}")
        if response.status_code >= 400:
            raise EndpointError(
                f"HTTP {response.status_code}: {response.text[:200]}", retryable=False
            )
        try:
            data = response.json()
            content = data["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise EndpointError(f"malformed response: {exc}", retryable=False) from exc
        usage = data.get("usage") or {}
        return ChatResult(
            content=content,
            model=str(data.get("model") or self.model),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        )

    def _format(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.response_format == "json_object":
            return {"type": "json_object", "schema": schema}
        return {
            "type": "json_schema",
            "json_schema": {"name": "coding", "strict": True, "schema": schema},
        }

    def healthy(self) -> bool:
        """Whether the endpoint lists its models (a cheap liveness probe)."""
        try:
            return self._client.get("/v1/models", timeout=5.0).status_code == 200
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()
