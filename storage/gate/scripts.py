"""The Lua scripts, read from this package, shared by Redis and the embedded gate."""

from __future__ import annotations

from importlib.resources import files


def lua(name: str) -> str:
    return files("storage.gate").joinpath(f"{name}.lua").read_text(encoding="utf-8")
