"""Callback data: what our inline buttons carry, and a strict parser for it.

Telegram caps ``callback_data`` at 64 bytes and anyone can forge it, so every
format is short and every parse is exact; anything else is ``None`` and gets
"This button is no longer valid". The server re-checks every claim the data
makes (which packet, which message, whose draft).

| data            | button                              |
| --------------- | ----------------------------------- |
| ``o:<packet>``  | Open on a packet message            |
| ``d:k:<cmd>``   | draft: switch kind (``s``: send, ``c``: cancel); see below |
| ``d:b:<cmd>``/``d:f:<cmd>`` | draft over the balance: daily bonus / look again |
| ``r:<packet>``  | Send again (result view)            |
| ``sk:<campaign>`` | Shake on a campaign message       |
| ``rec:<page>``  | /records: newer / older page (0 = newest) |
| ``my``          | My red packets (result view)        |
| ``l:en``/``l:zh``/``l:auto`` | /lang choices          |

A draft button names the draft itself (``<cmd>``: its command's message id), not
the message that shows it: when the response that posted the draft is lost, the
bot never learns that message's id, yet the draft still works. Drafts posted
before carry ``d:k``/``d:s``/``d:c`` and are found by their message.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum

from core.ids import ID_PATTERN

CALLBACK_DATA_LIMIT = 64
MAX_RECORDS_PAGE = 9999


class Action(StrEnum):
    OPEN = "o"
    DRAFT = "d"
    SEND_AGAIN = "r"
    MY_PACKETS = "my"
    LANG = "l"
    SHAKE = "sk"
    RECORDS_PAGE = "rec"


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


# Packet and campaign ids, as core.ids makes them. ``sk:`` is also the prefix
# of the shake gate's Redis keys; the two never meet (button data, keys in
# Redis) and neither is renamed: posted campaign messages carry ``sk:<id>``.
_PACKET = ID_PATTERN
FORMATS: dict[Action, re.Pattern[str]] = {
    Action.OPEN: re.compile(rf"o:({_PACKET})"),
    Action.DRAFT: re.compile(r"d:([kscbf](?::[1-9][0-9]{0,18})?)"),
    Action.SEND_AGAIN: re.compile(rf"r:({_PACKET})"),
    Action.MY_PACKETS: re.compile(r"my()"),
    Action.LANG: re.compile(r"l:(en|zh|auto)"),

    Action.SHAKE: re.compile(rf"sk:({_PACKET})"),
    Action.RECORDS_PAGE: re.compile(rf"rec:([0-9]{{1,{len(str(MAX_RECORDS_PAGE))}}})"),
}
PARSED_REMEMBERED = 1024  # distinct button data parsed lately, at most

# Prefix patterns for CallbackQueryHandler: each sends its whole family to one
# handler, which then parses strictly (so a malformed "o:..." is answered by us).
PATTERNS: dict[Action, str] = {
    Action.OPEN: r"^o:",
    Action.DRAFT: r"^d:",
    Action.SEND_AGAIN: r"^r:",
    Action.MY_PACKETS: r"^my$",
    Action.LANG: r"^l:",
    Action.SHAKE: r"^sk:",
    Action.RECORDS_PAGE: r"^rec:",
}


@functools.lru_cache(maxsize=PARSED_REMEMBERED)
def parse(data: str | None) -> Callback | None:
    """The callback ``data`` names, or ``None`` for anything malformed or oversized.

    Remembered (a ``Callback`` is frozen): a crowd presses one button, and each
    press is parsed by the welcome handler and by the press's own."""
    if not data or len(data.encode("utf-8")) > CALLBACK_DATA_LIMIT:
        return None
    for action, pattern in FORMATS.items():
        match = pattern.fullmatch(data)
        if match:
            return Callback(action, match.group(1))
    return None


def argument(action: Action, data: str | None) -> str | None:
    """The argument of ``data`` if it is a well-formed ``action`` button, else ``None``."""
    if not data or len(data.encode("utf-8")) > CALLBACK_DATA_LIMIT:
        return None
    match = FORMATS[action].fullmatch(data)
    return match.group(1) if match else None


def open_packet(packet_id: str) -> str:
    return f"o:{packet_id}"


def draft(button: DraftButton, command_message_id: int | None = None) -> str:
    if command_message_id is None:
        return f"d:{button.value}"
    return f"d:{button.value}:{command_message_id}"


def draft_parts(arg: str) -> tuple[DraftButton, int | None]:
    """A parsed draft button's argument: which button, and the draft's command message."""
    button, _, command = arg.partition(":")
    return DraftButton(button), int(command) if command else None


def send_again(packet_id: str) -> str:
    return f"r:{packet_id}"


def my_packets() -> str:
    return "my"


def lang(code: str) -> str:
    return f"l:{code}"


def shake(campaign_id: str) -> str:
    return f"sk:{campaign_id}"


def records_page(page: int) -> str:
    """A /records page button; the page is clamped to what the format holds."""
    return f"rec:{min(max(page, 0), MAX_RECORDS_PAGE)}"
