"""A real Tryton server on loopback for the ERP tests.

Once per session: `trytond-admin` makes a template database with account_invoice, and
tests/tryton_setup.py gives it a company, chart, fiscal years, accounts and taxes (about a
minute). Per test: the template is cloned (`CREATE DATABASE ... TEMPLATE`, a fraction of a
second) and a trytond server on a free port serves it; the test may stop and start it again.
Everything is dropped and stopped (by pid, bounded in time) afterwards.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg

VENV_BIN = Path(sys.executable).parent
SETUP_SCRIPT = Path(__file__).with_name("tryton_setup.py")
ADMIN_PASSWORD = "admin-secret-for-tests"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_root(database_url: str) -> str:
    """The server part of a Postgres URL (trytond names the database itself)."""
    parts = urlsplit(database_url)
    return f"{parts.scheme}://{parts.netloc}/"


class TrytonTemplate:
    """The template database and the config file that points trytond at the Postgres server."""

    def __init__(self, database_url: str, workdir: Path) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.name = f"tryton_tpl_{uuid.uuid4().hex[:8]}"
        self.passfile = workdir / "admin.pass"
        self.passfile.write_text(ADMIN_PASSWORD, encoding="utf-8")

    def config(self, port: int) -> Path:
        """A trytond config listening on `port`."""
        path = self.workdir / f"trytond-{port}.conf"
        path.write_text(
            f"[database]\nuri = {server_root(self.database_url)}\n"
            f"path = {self.workdir / 'filestore'}\n"
            f"[web]\nlisten = 127.0.0.1:{port}\n"
            "[session]\nmax_attempt = 1000\n",
            encoding="utf-8",
        )
        return path

    def env(self) -> dict[str, str]:
        """The environment trytond runs in."""
        return {
            **os.environ,
            "TRYTONPASSFILE": str(self.passfile),
            "TRYTOND_DATABASE__URI": server_root(self.database_url),
            "PYTHONWARNINGS": "ignore",
        }

    def create(self, gl_codes: list[str], tax_rates: list[str]) -> None:
        """Make the template: trytond-admin, then the company, chart, accounts and taxes."""
        conf = self.config(0)
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE \"{self.name}\" TEMPLATE template0 ENCODING 'UTF8'")
        self._run(
            [
                str(VENV_BIN / "trytond-admin"),
                "-c",
                str(conf),
                "-d",
                self.name,
                "--all",
                "-u",
                "account_invoice",
                "--activate-dependencies",
                "--email",
                "admin@example.com",
            ]
        )
        self._run(
            [
                sys.executable,
                str(SETUP_SCRIPT),
                str(conf),
                self.name,
                ",".join(gl_codes),
                ",".join(tax_rates),
            ]
        )

    def _run(self, command: list[str]) -> None:
        done = subprocess.run(
            command, env=self.env(), capture_output=True, text=True, timeout=600, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stderr[-3000:]}")

    def clone(self) -> str:
        """A new database cloned from the template; its name."""
        name = f"tryton_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        return name

    def drop(self, name: str) -> None:
        """Drop a database (the template or a clone)."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class TrytonServer:
    """One trytond process serving the clones of a template on a free loopback port."""

    def __init__(self, template: TrytonTemplate, database: str) -> None:
        self.template = template
        self.database = database
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = template.workdir / f"trytond-{self.port}.log"

    def start(self) -> None:
        """Start trytond and wait until it answers (at most 30 s)."""
        conf = self.template.config(self.port)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                # the pool is loaded at start: a first login on a database whose pool is not
                # loaded yet finds an empty one (KeyError 'res.user') in trytond 8.2
                [str(VENV_BIN / "trytond"), "-c", str(conf)],
                env={**self.template.env(), "TRYTOND_DATABASE_NAMES": self.database},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"trytond exited: {self.log.read_text()[-2000:]}")
            try:
                httpx.post(
                    f"{self.url}/",
                    timeout=1,
                    json={"id": 0, "method": "common.server.version", "params": []},
                )
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("trytond did not answer within 30 s")

    def stop(self) -> None:
        """Stop trytond by its pid (SIGTERM, then SIGKILL after 10 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
