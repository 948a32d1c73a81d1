"""The embedded home of the gate scripts: the same Lua, run in-process by lupa.

A single bot process needs no Redis server: this keeps the few data types the
scripts use (strings, sets, hashes, expiry) in dictionaries and gives the Lua
code a ``redis.call`` that behaves as Redis's does for those commands. It
offers the subset of the redis-py asyncio client the gates use, so
``RedisGate`` and the shake gate run unchanged on either home.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lupa import LuaError, LuaRuntime
from redis.exceptions import NoScriptError, ResponseError

Value = bytes | set[bytes] | dict[bytes, bytes]


def _b(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).encode()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class _Keyspace:
    """Strings, sets and hashes with millisecond expiry, checked lazily."""

    def __init__(self) -> None:
        self.data: dict[bytes, Value] = {}
        self.expires: dict[bytes, int] = {}

    def get(self, key: bytes) -> Value | None:
        deadline = self.expires.get(key)
        if deadline is not None and deadline <= _now_ms():
            self.delete(key)
        return self.data.get(key)

    def delete(self, key: bytes) -> int:
        self.expires.pop(key, None)
        return 1 if self.data.pop(key, None) is not None else 0

    def put(self, key: bytes, value: Value, *, keep_ttl: bool = True) -> None:
        if not keep_ttl:
            self.expires.pop(key, None)
        self.data[key] = value

    def typed(self, key: bytes, kind: type) -> Any:
        value = self.get(key)
        if value is not None and not isinstance(value, kind):
            raise ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value")
        return value


def _integer(raw: bytes | None) -> int:
    try:
        return int(raw or b"0")
    except ValueError:
        raise ResponseError("ERR value is not an integer or out of range") from None


class _Commands:
    """The Redis commands the gate scripts and their callers use."""

    def __init__(self, space: _Keyspace) -> None:
        self.space = space

    def __call__(self, name: str, *args: bytes) -> Any:
        command = getattr(self, "c_" + name.lower(), None)
        if command is None:
            raise ResponseError(f"ERR unknown command '{name}' in the embedded gate")
        return command(*args)

    def c_get(self, key: bytes) -> bytes | None:
        return self.space.typed(key, bytes)

    def c_set(self, key: bytes, value: bytes, *options: bytes) -> bytes | None:
        words = [o.upper() for o in options]
        exists = self.space.get(key) is not None
        if (b"NX" in words and exists) or (b"XX" in words and not exists):
            return None
        self.space.put(key, value, keep_ttl=False)
        if b"PX" in words:
            self.space.expires[key] = _now_ms() + int(words[words.index(b"PX") + 1])
        return b"OK"

    def c_exists(self, *keys: bytes) -> int:
        return sum(self.space.get(k) is not None for k in keys)

    def c_del(self, *keys: bytes) -> int:
        return sum(self.space.delete(k) for k in keys)

    def c_incrby(self, key: bytes, step: bytes) -> int:
        value = _integer(self.space.typed(key, bytes)) + int(step)
        self.space.put(key, _b(value))
        return value

    def c_incr(self, key: bytes) -> int:
        return self.c_incrby(key, b"1")

    def c_decr(self, key: bytes) -> int:
        return self.c_incrby(key, b"-1")

    def c_pttl(self, key: bytes) -> int:
        if self.space.get(key) is None:
            return -2
        deadline = self.space.expires.get(key)
        return -1 if deadline is None else max(deadline - _now_ms(), 0)

    def c_pexpire(self, key: bytes, ms: bytes) -> int:
        if self.space.get(key) is None:
            return 0
        self.space.expires[key] = _now_ms() + int(ms)
        return 1

    def c_sadd(self, key: bytes, *members: bytes) -> int:
        found = self.space.typed(key, set)
        if found is None:
            found = set()
            self.space.put(key, found)
        before = len(found)
        found.update(members)
        return len(found) - before

    def c_srem(self, key: bytes, *members: bytes) -> int:
        found = self.space.typed(key, set) or set()
        removed = len(found & set(members))
        found.difference_update(members)
        if not found:
            self.space.delete(key)
        return removed

    def c_sismember(self, key: bytes, member: bytes) -> int:
        return int(member in (self.space.typed(key, set) or ()))

    def c_scard(self, key: bytes) -> int:
        return len(self.space.typed(key, set) or ())

    def c_smembers(self, key: bytes) -> set[bytes]:
        return set(self.space.typed(key, set) or ())

    def c_hget(self, key: bytes, field: bytes) -> bytes | None:
        return (self.space.typed(key, dict) or {}).get(field)

    def c_hset(self, key: bytes, *pairs: bytes) -> int:
        found = self.space.typed(key, dict)
        if found is None:
            found = {}
            self.space.put(key, found)
        added = 0
        for field, value in zip(pairs[::2], pairs[1::2]):
            added += field not in found
            found[field] = value
        return added

    def c_hincrby(self, key: bytes, field: bytes, step: bytes) -> int:
        found = self.space.typed(key, dict)
        if found is None:
            found = {}
            self.space.put(key, found)
        value = _integer(found.get(field)) + int(step)
        found[field] = _b(value)
        return value

    def c_hgetall(self, key: bytes) -> dict[bytes, bytes]:
        return dict(self.space.typed(key, dict) or {})


# KEYS and ARGV are built inside Lua: cheaper than filling tables from Python.
_WRAPPER = b"""function(nkeys, ...)
  local KEYS, ARGV = {}, {}
  for i = 1, select('#', ...) do
    local v = select(i, ...)
    if i <= nkeys then KEYS[i] = v else ARGV[i - nkeys] = v end
  end
BODY
end"""


class _LuaHost:
    """Runs scripts as Redis does: KEYS/ARGV tables, redis.call, reply conversion."""

    def __init__(self, commands: _Commands) -> None:
        self.lua = LuaRuntime(unpack_returned_tuples=False, encoding=None)
        self._commands = commands
        self.lua.execute(b"redis = {}; unpack = unpack or table.unpack")  # Redis runs Lua 5.1
        self.lua.globals()[b"redis"][b"call"] = self._call
        self._scripts: dict[str, Any] = {}

    def load(self, source: str | bytes) -> str:
        text = source.decode() if isinstance(source, bytes) else source
        sha = hashlib.sha1(text.encode()).hexdigest()
        if sha not in self._scripts:
            self._scripts[sha] = self.lua.eval(_WRAPPER.replace(b"BODY", text.encode()))
        return sha

    def flush(self) -> None:
        self._scripts.clear()

    def run(self, sha: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        script = self._scripts.get(sha)
        if script is None:
            raise NoScriptError("No matching script. Please use EVAL.")
        try:
            reply = script(len(keys), *(_b(k) for k in keys), *(_b(a) for a in args))
        except LuaError as exc:
            raise ResponseError(f"ERR Error running script: {exc}") from None
        return self._from_lua(reply)

    def _call(self, name: bytes, *args: Any) -> Any:
        result = self._commands(name.decode(), *(_b(a) for a in args))
        return self._to_lua(result)

    def _to_lua(self, value: Any) -> Any:
        if value is None:
            return False  # Redis hands Lua a nil reply as false
        if isinstance(value, (set, list, tuple)):
            return self.lua.table_from(list(value))
        if isinstance(value, dict):
            return self.lua.table_from([x for pair in value.items() for x in pair])
        return value

    def _from_lua(self, value: Any) -> Any:
        if value is None or value is False:
            return None
        if value is True:
            return 1
        if isinstance(value, float):
            return int(value)
        if isinstance(value, (int, bytes)):
            return value
        if isinstance(value, str):
            return value.encode()
        items = []
        for index in range(1, len(value) + 1):
            if value[index] is None:
                break  # a Lua array ends at its first nil, as Redis reads it
            items.append(self._from_lua(value[index]))
        return items


@dataclass(eq=False)
class _Script:
    sha: str
    script: str


class _Pipeline:
    def __init__(self, client: EmbeddedRedis) -> None:
        self._client = client
        self._calls: list[Callable[[], Any]] = []

    async def __aenter__(self) -> _Pipeline:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._calls.clear()

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> _Pipeline:
        keys, args = keys_and_args[:numkeys], keys_and_args[numkeys:]
        self._calls.append(lambda: self._client.host.run(sha, keys, args))
        return self

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        results: list[Any] = []
        for call in self._calls:
            try:
                results.append(call())
            except ResponseError as exc:
                if raise_on_error:
                    raise
                results.append(exc)
        self._calls.clear()
        return results


class EmbeddedRedis:
    """The part of ``redis.asyncio.Redis`` the gates use, in-process."""

    def __init__(self) -> None:
        self._space = _Keyspace()
        self._commands = _Commands(self._space)
        self.host = _LuaHost(self._commands)

    def register_script(self, script: str) -> _Script:
        return _Script(self.host.load(script), script)

    def pipeline(self, transaction: bool = False) -> _Pipeline:
        return _Pipeline(self)

    async def script_load(self, script: str) -> str:
        return self.host.load(script)

    async def script_flush(self) -> bool:
        self.host.flush()
        return True

    async def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any:
        return self.host.run(sha, keys_and_args[:numkeys], keys_and_args[numkeys:])

    async def get(self, key: str) -> bytes | None:
        return self._commands("GET", _b(key))

    async def set(self, key: str, value: Any, px: int | None = None) -> bool:
        extra = (b"PX", _b(px)) if px is not None else ()
        self._commands("SET", _b(key), _b(value), *extra)
        return True

    async def delete(self, *keys: str) -> int:
        return self._commands("DEL", *(_b(k) for k in keys))

    async def srem(self, key: str, *members: Any) -> int:
        return self._commands("SREM", _b(key), *(_b(m) for m in members))

    async def sadd(self, key: str, *members: Any) -> int:
        return self._commands("SADD", _b(key), *(_b(m) for m in members))

    async def smembers(self, key: str) -> set[bytes]:
        return self._commands("SMEMBERS", _b(key))

    async def hgetall(self, key: str) -> dict[bytes, bytes]:
        return self._commands("HGETALL", _b(key))

    async def flushdb(self) -> bool:
        self._space.data.clear()
        self._space.expires.clear()
        return True

    flushall = flushdb

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        await self.flushdb()
