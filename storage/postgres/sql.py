"""SQL text shared by both engines: ``?`` placeholders become psycopg's ``%s``."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1024)
def from_qmark(sql: str) -> str:
    """``SELECT ... WHERE id = ? AND name LIKE 'w:%'`` -> psycopg's ``%s`` / ``%%`` style.

    A ``?`` inside a quoted literal stays as it is; every ``%`` is doubled.
    """
    out: list[str] = []
    quote: str | None = None
    for ch in sql:
        if ch == "%":
            out.append("%%")
        elif quote is not None:
            out.append(ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)
