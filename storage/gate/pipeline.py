"""Gathers the script calls of one event-loop turn into one Redis pipeline."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript

from redis.exceptions import NoScriptError, RedisError

from core.errors import GateUnavailable
from storage.gate.health import GateHealth

Call = tuple[AsyncScript, Sequence[str], Sequence[Any]]


class ScriptPipeline:
    """Concurrent callers each await their own result; Redis sees one round trip."""

    def __init__(self, client: Redis, health: GateHealth, max_batch: int = 1000) -> None:
        self._client = client
        self._health = health
        self._max_batch = max_batch
        self._cluster = isinstance(client, RedisCluster)
        self._pending: list[tuple[Call, asyncio.Future[Any]]] = []
        self._flushing = False

    async def call(self, script: AsyncScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append(((script, keys, args), future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self._flush()))
        return await future

    async def _execute(self, calls: list[Call]) -> list[Any]:
        # EVALSHA straight into the pipeline: redis-py's Script objects would
        # add a SCRIPT EXISTS round trip to every batch.
        async with self._client.pipeline(transaction=False) as pipe:
            for script, keys, args in calls:
                if self._cluster:
                    # redis-py's cluster pipeline refuses its evalsha() helper but
                    # routes the raw command by its keys (one slot: the hash tag),
                    # sending each node its calls in one round trip.
                    pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
                else:
                    pipe.evalsha(script.sha, len(keys), *keys, *args)
            return await pipe.execute(raise_on_error=False)

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                await self._send(batch)
        finally:
            self._flushing = False

    async def _send(self, batch: list[tuple[Call, asyncio.Future[Any]]]) -> None:
        try:
            results = await self._execute([call for call, _ in batch])
            missing = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
            if missing:
                # Redis restarted or was flushed with SCRIPT FLUSH: load, then resend
                # only the calls that did not run (the others ran: never run them twice).
                for script in {batch[i][0][0] for i in missing}:
                    script.sha = await self._client.script_load(script.script)
                again = await self._execute([batch[i][0] for i in missing])
                for i, result in zip(missing, again, strict=True):
                    results[i] = result
        except (RedisError, OSError) as exc:  # connection refused, timeout, ...
            # A timed-out call may still run in Redis: callers treat it as uncertain.
            self._health.failed(exc)
            failure = GateUnavailable(f"redis: {exc!r}")
            for _, future in batch:
                if not future.done():
                    future.set_exception(failure)
            return
        self._health.answered()
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(GateUnavailable(f"redis: {result!r}"))
            else:
                future.set_result(result)
