"""A Prefect server for one machine: `prefect server start` on 127.0.0.1, its database in the
project's Postgres (its own database), SQLite under the data folder only when there is none.

The server is a child process in its own process group, started and stopped by its pid.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from invoices.errors import DatabaseUnavailable
from invoices.settings import Settings
from staging import db

log = logging.getLogger(__name__)


@dataclass
class PrefectServer:
    """A running `prefect server start`: its process and API URL."""

    process: subprocess.Popen[bytes]
    api_url: str
    log_path: Path

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM its process group, then SIGKILL after `timeout` seconds."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)


def server_database_url(settings: Settings) -> str:
    """The Prefect server's database: `prefect_database` on the staging Postgres (asyncpg
    driver), else SQLite under `data_dir/prefect`."""
    if settings.database_url:
        try:
            url = db.ensure_database(settings.database_url, settings.prefect_database)
            return "postgresql+asyncpg://" + url.split("://", 1)[1]
        except DatabaseUnavailable as exc:
            log.warning("Prefect server falls back to SQLite: %s", exc)
    folder = Path(settings.data_dir) / "prefect"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{folder / 'prefect.db'}"


def server_environment(settings: Settings, api_url: str) -> dict[str, str]:
    """The environment of the server and of every process that talks to it."""
    env = dict(os.environ)
    env.update(
        {
            "PREFECT_API_URL": api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(settings.heartbeat_seconds),
        }
    )
    return env


def broker_environment(settings: Settings) -> dict[str, str]:
    """The server's event broker and cache: on Redis when `prefect_redis_url` names one (the
    in-memory broker drops events past about 10,000 queued), else Prefect's defaults."""
    if not settings.prefect_redis_url:
        return {}
    return {
        "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
        "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
        "PREFECT_REDIS_MESSAGING_URL": settings.prefect_redis_url,
    }


def start_server(settings: Settings, timeout: float = 90.0) -> PrefectServer:
    """Start `prefect server start` on 127.0.0.1:`prefect_port` and wait until it is healthy."""
    api_url = f"http://127.0.0.1:{settings.prefect_port}/api"
    env = server_environment(settings, api_url)
    env["PREFECT_API_DATABASE_CONNECTION_URL"] = server_database_url(settings)
    env.update(broker_environment(settings))
    log_path = Path(settings.data_dir) / "prefect" / f"server-{settings.prefect_port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    prefect = Path(sys.executable).with_name("prefect")
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [str(prefect), "server", "start", "--host", "127.0.0.1"]
            + ["--port", str(settings.prefect_port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own group: stopped as one, SIGTERM not ignored
        )
    server = PrefectServer(process, api_url, log_path)
    try:
        wait_healthy(api_url, timeout, process)
    except BaseException:
        server.stop()
        raise
    log.info("Prefect server %s up (pid %d, log %s)", api_url, process.pid, log_path)
    return server


def wait_healthy(
    api_url: str, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Wait until the API answers its health check; raise when it does not in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the Prefect server exited with {process.returncode}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the Prefect server at {api_url} was not healthy in {timeout:.0f} s")


@contextmanager
def api_or_throwaway(timeout: float = 5.0) -> Iterator[str | None]:
    """Within: the Prefect API named in the settings when it answers, else none, so that a
    run started by hand while the server is down (or being restarted) still runs, on a
    throwaway server of its own; yields the API URL used (None: throwaway)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    url = PREFECT_API_URL.value()
    if not url:
        yield None
        return
    try:
        wait_healthy(url, timeout)
    except TimeoutError:
        log.warning(
            "the Prefect server at %s does not answer: this run uses a throwaway server", url
        )
        with temporary_settings(restore_defaults={PREFECT_API_URL}):
            yield None
        return
    yield url
