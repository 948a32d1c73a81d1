"""Real parts for every test: a SQLite file in a temp dir, a real PostgreSQL, a real
redis-server and a real Redis Cluster, each started by the tests on loopback ports."""

from __future__ import annotations

import itertools
import os
import queue
import shutil
import threading
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from core.packets import Limits
from core.services import RedPackets
from storage.gate.redis_gate import RedisGate, connect_gate
from storage.postgres.store import PostgresStore
from storage.stores import Store, store_for
from tests.servers import PostgresServer, RedisCluster, free_port, postgres_bindir
from tests.clock import FakeClock  # noqa: F401 - tests import it from here too


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes] | None
    workdir: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    if shutil.which("redis-server"):
        lines.append("redis: real redis-server on a free loopback port")
        lines.append("redis cluster: 3 real masters on free loopback ports")
    else:
        lines.append("redis: NO redis-server found - Redis tests run on the embedded gate only")
        lines.append("redis cluster: NO redis-server found - cluster tests are skipped")
    bindir = postgres_bindir()
    if bindir is not None:
        lines.append(f"postgres: real server from {bindir} on a free loopback port")
    else:
        lines.append("postgres: NO PostgreSQL found - the PostgreSQL half of the storage tests is skipped")
    return lines


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer | None]:
    """A real redis-server for the session; None (embedded gate) where none is installed."""
    if not shutil.which("redis-server"):
        if os.environ.get("REQUIRE_REAL_REDIS") == "1":
            pytest.fail("REQUIRE_REAL_REDIS=1 but redis-server is not installed")
        yield None
        return
    server = RedisServer(free_port(), None, tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_redis(tmp_path: Path, redis_server: RedisServer | None) -> Iterator[RedisServer]:
    """A redis-server of the test's own, to stop, freeze or restart (never the session one)."""
    if redis_server is None:
        pytest.skip("no redis-server here")
    workdir = tmp_path / "own-redis"
    workdir.mkdir()
    server = RedisServer(free_port(), None, workdir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["redis", "embedded"])
def gate_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def gate(gate_kind: str, redis_server: RedisServer | None) -> AsyncIterator[RedisGate]:
    """The gate on real Redis (flushed first) and on the embedded emulation."""
    if gate_kind == "redis":
        if redis_server is None:
            pytest.skip("no redis-server here: the embedded gate covers this run")
        g = connect_gate(redis_server.url)
        await g.client.flushdb()
    else:
        g = connect_gate("")
    yield g
    await g.aclose()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """A real 3-master Redis Cluster for the session."""
    if not (shutil.which("redis-server") and shutil.which("redis-cli")):
        if os.environ.get("REQUIRE_REDIS_CLUSTER") == "1":
            pytest.fail("REQUIRE_REDIS_CLUSTER=1 but redis-server/redis-cli are not installed")
        pytest.skip("no redis-server here: no Redis Cluster")
    cluster = RedisCluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    yield cluster
    cluster.stop()


@dataclass
class Postgres:
    """The session's PostgreSQL server and a migrated template to copy per test.

    A copy for the next test is made, and the last test's dropped, on a thread
    of their own while the current test runs."""

    server: PostgresServer
    template: str = "rp_template"
    numbers: Iterator[int] = field(default_factory=itertools.count)
    spares: queue.Queue[str] = field(default_factory=queue.Queue)
    jobs: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="pg-databases")
    )
    local: threading.local = field(default_factory=threading.local)

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.server.url(), autocommit=True)

    def _execute(self, sql: str) -> None:
        """On this thread's own admin connection, kept for the session."""
        conn = getattr(self.local, "conn", None)
        if conn is None or conn.closed:
            conn = self.local.conn = self.admin()
        conn.execute(sql)

    def _copy_of_template(self) -> str:
        name = f"rp_test_{os.getpid()}_{next(self.numbers)}"
        # FILE_COPY: copies the template's files; quicker than WAL_LOG for a small one.
        self._execute(f"CREATE DATABASE {name} TEMPLATE {self.template} STRATEGY FILE_COPY")
        return name

    def _make_spare(self) -> None:
        self.spares.put(self._copy_of_template())

    def fresh_database(self) -> str:
        """A new empty, migrated database (a copy of the template: fast)."""
        try:
            name = self.spares.get_nowait()
        except queue.Empty:
            name = self._copy_of_template()
        self.jobs.submit(self._make_spare)
        return name

    def empty_database(self) -> str:
        """A new database without any table (what `redpacket migrate` expects)."""
        name = f"rp_empty_{os.getpid()}_{next(self.numbers)}"
        self._execute(f"CREATE DATABASE {name}")
        return name

    def drop(self, name: str) -> None:
        self.jobs.submit(self._execute, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        self.jobs.shutdown(wait=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A real PostgreSQL server for the whole run (one per run)."""
    bindir = postgres_bindir()
    if bindir is None:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("REQUIRE_POSTGRES=1 but no PostgreSQL binaries were found")
        pytest.skip("no PostgreSQL here: the SQLite half of these tests covers this run")
    server = PostgresServer(bindir)
    try:
        server.start()
        pg = Postgres(server)
        with pg.admin() as conn:
            conn.execute(f"CREATE DATABASE {pg.template}")
        from storage.postgres.schema import migrate

        with psycopg.connect(server.url(pg.template), autocommit=True) as conn:
            migrate(conn)
    except BaseException:
        server.stop()
        raise
    yield pg
    pg.close()
    server.stop()


@pytest.fixture
def pg_url(postgres: Postgres) -> Iterator[str]:
    """A fresh migrated PostgreSQL database of the test's own."""
    name = postgres.fresh_database()
    yield postgres.server.url(name)
    postgres.drop(name)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "redpacket.db"


@pytest.fixture(params=["sqlite", "postgres"])
def db_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(db_kind: str, db_path: Path, request: pytest.FixtureRequest) -> str:
    """The test's database on each engine: a SQLite file, or a PostgreSQL database."""
    if db_kind == "sqlite":
        return f"sqlite:///{db_path}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    async with store_for(database_url) as s:
        yield s


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def packets(store: Store, gate: RedisGate, clock: FakeClock) -> RedPackets:
    # The grace the audit gives a grab whose open is still on its way: a
    # PostgreSQL open is a few round trips to another process, not a call.
    grace = 1.0 if isinstance(store, PostgresStore) else 0.1
    return RedPackets(
        store, gate, clock=clock, limits=Limits(), welcome_bonus=100_00, audit_grace_s=grace
    )


async def assert_audit_clean(service: RedPackets) -> None:
    """Every money test ends here: the ledger balances and nothing was made or lost."""
    report = await service.audit(repair=False)
    assert report.ok, report.problems
