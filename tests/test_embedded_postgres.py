"""The private Postgres cluster a new user gets when no DATABASE_URL is set."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from staging import db, embedded

pytestmark = [pytest.mark.slow, pytest.mark.db]


@pytest.fixture
def data_dir():
    folder = Path(tempfile.mkdtemp(prefix="invoices-embedded-"))
    os.chmod(folder, 0o755)  # the postgres server user must reach it when tests run as root
    yield folder
    embedded.stop(folder)
    shutil.rmtree(folder, ignore_errors=True)


def test_private_cluster_starts_migrates_restarts_and_stops(data_dir):
    cluster = embedded.start(data_dir)
    assert cluster.started_here
    assert cluster.pgdata == data_dir / "pgdata"
    conn = db.connect(cluster.url, "ap")
    assert db.upgrade(conn)
    conn.close()
    again = embedded.start(data_dir)  # already running: reused, not restarted
    assert not again.started_here and again.port == cluster.port
    assert embedded.stop(data_dir)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(cluster.url, connect_timeout=2)
    restarted = embedded.start(data_dir)  # data survives a restart
    with psycopg.connect(restarted.url) as c:
        assert c.execute("SELECT count(*) FROM ap.schema_migrations").fetchone()[0] >= 1
    assert not embedded.stop(data_dir / "nowhere")
