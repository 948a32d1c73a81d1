"""Callback data: what our inline buttons carry, and a strict parser for it.

Telegram caps ``callback_data`` at 64 bytes and anyone can forge it, so every
format is short and every parse is exact; anything else is ``None`` and gets
"This button is no longer valid". The server re-checks every claim the data
makes (which packet, which message, whose draft).

| data            | button                              |
| --------------- | ----------------------------------- |
| ``o:<packet>``  | Open on a packet message            |
| ``d:k``/``d:s``/``d:c`` | draft: switch kind / send / cancel (the draft is the message) |
| ``d:b``/``d:f`` | draft over the balance: daily bonus / look again |
| ``r:<packet>``  | Send again (result view)            |
| ``my``          | My red packets (result view)        |
| ``l:en``/``l:zh``/``l:auto`` | /lang choices          |
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

CALLBACK_DATA_LIMIT = 64


class Action(StrEnum):
    OPEN = "o"
    DRAFT = "d"
    SEND_AGAIN = "r"
    MY_PACKETS = "my"
    LANG = "l"


class DraftButton(StrEnum):
    SWITCH = "k"
    SEND = "s"
    CANCEL = "c"
    BONUS = "b"  # claim the daily bonus (a draft over the balance)
    REFRESH = "f"  # look at the balance again (a draft over the balance)


@dataclass(frozen=True, slots=True)
class Callback:
    action: Action
    arg: str = ""


_PACKET = r"[A-Za-z0-9]{10}"
_FORMATS: dict[Action, re.Pattern[str]] = {
    Action.OPEN: re.compile(rf"o:({_PACKET})"),
    Action.DRAFT: re.compile(r"d:([kscbf])"),
    Action.SEND_AGAIN: re.compile(rf"r:({_PACKET})"),
    Action.MY_PACKETS: re.compile(r"my()"),
    Action.LANG: re.compile(r"l:(en|zh|auto)"),
}
# Prefix patterns for CallbackQueryHandler: each sends its whole family to one
# handler, which then parses strictly (so a malformed "o:..." is answered by us).
PATTERNS: dict[Action, str] = {
    Action.OPEN: r"^o:",
    Action.DRAFT: r"^d:",
    Action.SEND_AGAIN: r"^r:",
    Action.MY_PACKETS: r"^my$",
    Action.LANG: r"^l:",
}


def parse(data: str | None) -> Callback | None:
    """The callback ``data`` names, or ``None`` for anything malformed or oversized."""
    if not data or len(data.encode("utf-8")) > CALLBACK_DATA_LIMIT:
        return None
    for action, pattern in _FORMATS.items():
        match = pattern.fullmatch(data)
        if match:
            return Callback(action, match.group(1))
    return None


def open_packet(packet_id: str) -> str:
    return f"o:{packet_id}"


def draft(button: DraftButton) -> str:
    return f"d:{button.value}"


def send_again(packet_id: str) -> str:
    return f"r:{packet_id}"


def my_packets() -> str:
    return "my"


def lang(code: str) -> str:
    return f"l:{code}"
