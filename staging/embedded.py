"""A private Postgres cluster under `data/pgdata`, for a user with no DATABASE_URL.

It uses the installed server's `initdb` and `pg_ctl`. Postgres refuses to run as root, so when
this process is root the cluster belongs to the `postgres` system user and every server command
runs as that user. The cluster listens on 127.0.0.1 only, on a port chosen once and kept in its
configuration.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from invoices.errors import DatabaseUnavailable
from invoices.settings import Settings

log = logging.getLogger(__name__)

DATABASE_NAME = "invoices"
SERVER_USER = "postgres"


@dataclass(frozen=True)
class LocalCluster:
    """Where the private cluster lives and how to reach it."""

    pgdata: Path
    port: int
    started_here: bool

    @property
    def url(self) -> str:
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{DATABASE_NAME}"


def _bindir() -> Path:
    """The folder of the installed server's binaries (pg_ctl, initdb)."""
    for candidate in ("pg_ctl", "initdb"):
        found = shutil.which(candidate)
        if found:
            return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if versions:
        return Path(versions[-1])
    raise DatabaseUnavailable(
        "embedded", "no PostgreSQL server installed (initdb/pg_ctl not found): run `make setup`"
    )


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", SERVER_USER, "--", *cmd]


def _run(cmd: list[str], what: str) -> str:
    proc = subprocess.run(_as_server_user(cmd), capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise DatabaseUnavailable(
            "embedded", f"{what} failed: {proc.stderr.strip() or proc.stdout.strip()}"
        )
    return proc.stdout


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _configured_port(pgdata: Path) -> int | None:
    conf = pgdata / "postgresql.auto.conf"
    if not conf.exists():
        return None
    for line in conf.read_text().splitlines():
        if line.strip().startswith("port"):
            return int(line.split("=", 1)[1].strip().strip("'"))
    return None


def _initdb(pgdata: Path, bindir: Path) -> None:
    pgdata.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        user = pwd.getpwnam(SERVER_USER)
        os.chown(pgdata, user.pw_uid, user.pw_gid)
    os.chmod(pgdata, 0o700)
    log.info("creating a private Postgres cluster in %s", pgdata)
    _run(
        [
            str(bindir / "initdb"),
            "-D",
            str(pgdata),
            "-U",
            SERVER_USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        "initdb",
    )


def _write_port(pgdata: Path, port: int) -> None:
    settings = (
        f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
        "fsync = on\nmax_connections = 50\n"
    )
    _run(["sh", "-c", f'printf %s "$0" > {pgdata}/postgresql.auto.conf', settings], "configure")


def _running(pgdata: Path, bindir: Path) -> bool:
    proc = subprocess.run(
        _as_server_user([str(bindir / "pg_ctl"), "-D", str(pgdata), "status"]),
        capture_output=True,
        text=True,
        timeout=30,
    )
    return proc.returncode == 0


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def cluster_dir(data_dir: Path) -> Path:
    """Where the cluster's files live: `data_dir/pgdata`, unless the server user cannot reach it.

    As root in a home folder (mode 700) the `postgres` user cannot enter `data_dir`; then the
    cluster lives in a folder of its own under /var/tmp, named after the project folder.
    """
    preferred = Path(data_dir).resolve() / "pgdata"
    if os.geteuid() != 0:
        return preferred
    probe = subprocess.run(
        _as_server_user(["test", "-x", str(preferred.parent)]), capture_output=True, timeout=30
    )
    if probe.returncode == 0:
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:10]
    fallback = Path("/var/tmp") / f"invoice-pipeline-{digest}" / "pgdata"
    fallback.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(fallback.parent, 0o755)
    log.info(
        "%s is not reachable by the %s user; the cluster lives in %s",
        preferred.parent,
        SERVER_USER,
        fallback,
    )
    return fallback


def start(data_dir: Path) -> LocalCluster:
    """Start (creating it first if needed) the private cluster; returns how to reach it."""
    pgdata = cluster_dir(data_dir)
    bindir = _bindir()
    if not (pgdata / "PG_VERSION").exists():
        _initdb(pgdata, bindir)
    port = _configured_port(pgdata)
    if _running(pgdata, bindir) and port:
        cluster = LocalCluster(pgdata, port, started_here=False)
    else:
        if port is None or not _port_free(port):
            port = _free_port()
            _write_port(pgdata, port)
        log.info("starting the private Postgres on 127.0.0.1:%s", port)
        _run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(pgdata),
                "-l",
                str(pgdata / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            "pg_ctl start",
        )
        cluster = LocalCluster(pgdata, port, started_here=True)
    _ensure_database(cluster)
    return cluster


def _ensure_database(cluster: LocalCluster) -> None:
    admin = f"postgresql://{SERVER_USER}@127.0.0.1:{cluster.port}/postgres"
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
                ).fetchone()
                if not exists:
                    conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
                return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise DatabaseUnavailable(admin, str(exc)) from exc
            time.sleep(0.5)


def stop(data_dir: Path) -> bool:
    """Stop the private cluster if it runs; returns whether it was running."""
    pgdata = cluster_dir(data_dir)
    if not (pgdata / "PG_VERSION").exists():
        return False
    bindir = _bindir()
    if not _running(pgdata, bindir):
        return False
    _run([str(bindir / "pg_ctl"), "-D", str(pgdata), "-w", "-m", "fast", "stop"], "pg_ctl stop")
    return True


@contextmanager
def database(settings: Settings, keep_running: bool = False) -> Iterator[Settings]:
    """Settings with a database URL: DATABASE_URL when set, else the private cluster in data/.

    A private cluster this call started is stopped again at the end, unless asked to keep it.
    """
    if settings.database_url:
        yield settings
        return
    cluster = start(settings.data_dir)
    log.info("using the private Postgres in %s (127.0.0.1:%s)", cluster.pgdata, cluster.port)
    try:
        yield settings.model_copy(update={"database_url": cluster.url})
    finally:
        if cluster.started_here and not keep_running:
            stop(settings.data_dir)
