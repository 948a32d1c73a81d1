"""Real parts for every test: a SQLite file in a temp dir and a real redis-server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.packets import Limits
from core.services import RedPackets
from storage.gate.redis_gate import RedisGate, connect_gate
from storage.sqlite.store import SqliteStore
from tests.clock import FakeClock  # noqa: F401 - tests import it from here too


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def pytest_report_header(config: pytest.Config) -> str:
    if shutil.which("redis-server"):
        return "redis: real redis-server on a free loopback port"
    return ("redis: NO redis-server found - tests needing real Redis are skipped; "
            "the embedded gate's run")


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


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "redpacket.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(db_path) as s:
        yield s


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def packets(store: SqliteStore, gate: RedisGate, clock: FakeClock) -> RedPackets:
    return RedPackets(
        store, gate, clock=clock, limits=Limits(), welcome_bonus=100_00, audit_grace_s=0.1
    )


async def assert_audit_clean(service: RedPackets) -> None:
    """Every money test ends here: the ledger balances and nothing was made or lost."""
    report = await service.audit(repair=False)
    assert report.ok, report.problems
