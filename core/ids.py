"""Ids of packets and campaigns: short random strings that fit in callback data.

One alphabet and one generator for both, so the callback patterns in the bot
are derived from here instead of being copied.
"""

from __future__ import annotations

import secrets
import string

ID_ALPHABET = string.ascii_letters + string.digits
ID_LENGTH = 10
# The same rule as a regular expression (ASCII letters and digits only), for
# parsers that match ids inside longer strings such as callback data.
ID_PATTERN = rf"[A-Za-z0-9]{{{ID_LENGTH}}}"


def new_id() -> str:
    """A fresh id: ``ID_LENGTH`` characters drawn from ``ID_ALPHABET`` by ``secrets``."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


def is_id(text: str) -> bool:
    """True for exactly what ``new_id`` can return."""
    return len(text) == ID_LENGTH and all(c in ID_ALPHABET for c in text)
