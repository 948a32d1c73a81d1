"""An offline Telegram Bot API for PTB tests, in the manner of PTB's own suite.

``RecordingRequest`` is a ``telegram.request.BaseRequest`` that records every
call, answers with Telegram-shaped JSON and refuses what Telegram refuses
(oversized callback data or answers, double answers, bad HTML, unchanged
edits), so our bugs surface as the ``BadRequest`` a real bot would get.
``UpdateFactory`` builds raw update dicts for ``Update.de_json``.
"""

from __future__ import annotations

import asyncio
import copy
import html
import itertools
import json
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, NamedTuple

from telegram.ext import Application, ApplicationBuilder
from telegram.request import BaseRequest, RequestData

JSON = dict[str, Any]
Handler = Callable[[JSON], Any]

BOT_ID = 999
BOT_USERNAME = "redpacket_test_bot"
BOT_TOKEN = "123:ABC"
BOT_USER: JSON = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Red Packet",
    "username": BOT_USERNAME,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

CALLBACK_DATA_LIMIT = 64
CALLBACK_ANSWER_LIMIT = 200
MESSAGE_TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply "
    "markup are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
CANT_INITIATE = "Forbidden: bot can't initiate conversation with a user"


class Call(NamedTuple):
    method: str
    params: JSON


class TelegramReply(Exception):
    """Raised inside a served method to answer with a Telegram error."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass
class _Failure:
    code: int
    description: str
    parameters: JSON | None
    chat_id: int | str | None


# --- Telegram HTML ----------------------------------------------------------

_HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
     "tg-spoiler", "span", "blockquote", "tg-emoji"}
)


class _TelegramHTML(HTMLParser):
    """Refuses what Telegram's HTML parse mode refuses (tags, nesting, stray '<')."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.error: str | None = None

    def _fail(self, reason: str) -> None:
        if self.error is None:
            self.error = reason

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag not in _HTML_TAGS:
            self._fail(f'Unsupported start tag "{tag}"')
        elif tag == "span" and attributes.get("class") != "tg-spoiler":
            self._fail('Tag "span" must have class "tg-spoiler"')
        elif tag == "tg-emoji" and not attributes.get("emoji-id"):
            self._fail('Tag "tg-emoji" must have attribute "emoji-id"')
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._fail(f'Unsupported start tag "{tag}/"')

    def handle_endtag(self, tag: str) -> None:
        if not self.open:
            self._fail(f'Unexpected end tag "{tag}"')
        elif self.open[-1] != tag:
            self._fail(f'Unmatched end tag "{tag}", expected "</{self.open[-1]}>"')
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data:
            self._fail("Unsupported start tag \"\"")

    def handle_comment(self, data: str) -> None:
        self._fail("Unsupported start tag \"!--\"")

    def handle_decl(self, decl: str) -> None:
        self._fail("Unsupported start tag \"!\"")

    def handle_pi(self, data: str) -> None:
        self._fail("Unsupported start tag \"?\"")

    def unknown_decl(self, data: str) -> None:
        self._fail("Unsupported start tag \"![\"")


def html_error(text: str) -> str | None:
    """Why Telegram would refuse ``text`` in HTML parse mode, or ``None``."""
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.error is None and parser.open:
        parser.error = f'Can\'t find end tag corresponding to start tag "{parser.open[-1]}"'
    return parser.error


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


# --- the fake server -------------------------------------------------------


class RecordingRequest(BaseRequest):
    """Records Bot API calls and serves Telegram-shaped results offline.

    ``latency`` (seconds) delays every answer, to expose handlers that run
    presses one at a time. ``strict_not_modified`` refuses edits that change
    nothing, as Telegram does.
    """

    def __init__(self, *, latency: float = 0.0, strict_not_modified: bool = True) -> None:
        self.latency = latency
        self.strict_not_modified = strict_not_modified
        self.calls: list[Call] = []
        self.errors: list[tuple[Call, int, str]] = []
        self.messages: dict[tuple[int, int], JSON] = {}
        self.answered: set[str] = set()
        self.members: dict[tuple[int, int], str] = {}
        self.member_counts: dict[int, int] = {}
        self.chats: dict[int, JSON] = {}
        self.unreachable: set[int] = set()
        self.parse_modes: dict[tuple[int, int], str] = {}
        self._next_message_id: dict[int, int] = defaultdict(lambda: 1)
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._custom: dict[str, Handler] = {}
        self._served: dict[str, Handler] = {
            "getMe": lambda p: dict(BOT_USER),
            "getUpdates": lambda p: [],
            "setWebhook": lambda p: True,
            "deleteWebhook": lambda p: True,
            "getWebhookInfo": lambda p: {"url": "", "has_custom_certificate": False,
                                         "pending_update_count": 0},
            "setMyCommands": lambda p: True,
            "deleteMyCommands": lambda p: True,
            "getMyCommands": lambda p: [],
            "setMyDescription": lambda p: True,
            "setMyShortDescription": lambda p: True,
            "setChatMenuButton": lambda p: True,
            "sendChatAction": lambda p: True,
            "answerPreCheckoutQuery": lambda p: True,
            "answerCallbackQuery": self._answer_callback_query,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "sendPhoto": self._send_photo,
            "sendInvoice": self._send_invoice,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatMemberCount": lambda p: self.member_counts.get(int(p["chat_id"]), 50),
        }

    # BaseRequest plumbing

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    @property
    def read_timeout(self) -> float:
        return 1.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if self.latency:
            await asyncio.sleep(self.latency)
        api = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        call = Call(api, params)
        self.calls.append(call)
        try:
            self._take_failure(api, params)
            self._check_markup(params.get("reply_markup"))
            handler = self._custom.get(api) or self._served.get(api)
            if handler is None:
                raise TelegramReply(
                    400, f"Bad Request: fake_telegram does not serve {api}; use req.serve()"
                )
            result = handler(params)
        except KeyError as missing:
            refusal = TelegramReply(400, f"Bad Request: parameter {missing} is required")
            return self._refuse(call, refusal)
        except TelegramReply as refusal:
            return self._refuse(call, refusal)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _refuse(self, call: Call, refusal: TelegramReply) -> tuple[int, bytes]:
        self.errors.append((call, refusal.code, refusal.description))
        body: JSON = {"ok": False, "error_code": refusal.code, "description": refusal.description}
        if refusal.parameters:
            body["parameters"] = refusal.parameters
        return refusal.code, json.dumps(body).encode()

    # programming the fake

    def fail_next(
        self,
        method: str,
        code: int,
        description: str,
        *,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chat_id`` if given) with an error.

        ``fail_next("editMessageText", 429, "Too Many Requests: retry after 1", retry_after=1)``
        makes PTB raise ``RetryAfter``.
        """
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        for _ in range(times):
            self._failures[method].append(_Failure(code, description, parameters, chat_id))

    def serve(self, method: str, handler: Handler) -> None:
        """Answer ``method`` with ``handler(params)``; it may raise ``TelegramReply``."""
        self._custom[method] = handler

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """``status``: creator, administrator, member, restricted, left or kicked."""
        self.members[(chat_id, user_id)] = status

    def never_started(self, user_id: int) -> None:
        """Every message to ``user_id``'s private chat fails 403, as for a user who never
        pressed Start."""
        self.unreachable.add(user_id)

    def set_member_count(self, chat_id: int, count: int) -> None:
        self.member_counts[chat_id] = count

    def add_chat(self, chat: JSON) -> None:
        """Make getChat and sent messages describe ``chat`` (an UpdateFactory chat)."""
        self.chats[int(chat["id"])] = dict(chat)

    def clear(self) -> None:
        """Forget recorded calls and errors; messages and programmed state stay."""
        self.calls.clear()
        self.errors.clear()

    # reading what happened

    def calls_of(self, method: str, **match: Any) -> list[JSON]:
        """Params of every call of ``method`` whose params match ``match``."""
        return [c.params for c in self.calls if c.method == method and _matches(c.params, match)]

    def last(self, method: str, **match: Any) -> JSON:
        """Params of the latest matching call; ``AssertionError`` if none."""
        found = self.calls_of(method, **match)
        assert found, f"no {method} call matching {match}; calls: {self.methods()}"
        return found[-1]

    def methods(self) -> list[str]:
        return [c.method for c in self.calls]

    def message(self, chat_id: int, message_id: int) -> JSON:
        """The message as the chat sees it now (latest text and reply_markup)."""
        return self.messages[(int(chat_id), int(message_id))]

    def text(self, chat_id: int, message_id: int) -> str:
        """The text (or caption) as sent, HTML tags included."""
        msg = self.message(chat_id, message_id)
        return str(msg.get("text", msg.get("caption", "")))

    def plain_text(self, chat_id: int, message_id: int) -> str:
        """The text as a member reads it: for HTML messages, tags dropped and entities decoded."""
        text = self.text(chat_id, message_id)
        if self.parse_modes.get((int(chat_id), int(message_id))) != "HTML":
            return text
        return html.unescape(re.sub(r"<[^>]*>", "", text))

    def buttons(self, chat_id: int, message_id: int) -> list[JSON]:
        """Every inline button of the message, row by row flattened."""
        markup = self.message(chat_id, message_id).get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    def messages_in(self, chat_id: int) -> list[JSON]:
        return [m for (c, _), m in sorted(self.messages.items()) if c == int(chat_id)]

    # checks shared by several methods

    def _take_failure(self, api: str, params: JSON) -> None:
        queue = self._failures.get(api)
        if not queue:
            return
        for failure in queue:
            if failure.chat_id is None or _same(params.get("chat_id"), failure.chat_id):
                queue.remove(failure)
                raise TelegramReply(failure.code, failure.description, failure.parameters)

    @staticmethod
    def _check_markup(markup: Any) -> None:
        if isinstance(markup, str):
            markup = json.loads(markup)
        if not isinstance(markup, dict):
            return
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and len(str(data).encode()) > CALLBACK_DATA_LIMIT:
                    raise TelegramReply(400, "Bad Request: BUTTON_DATA_INVALID")

    @staticmethod
    def _check_text(params: JSON, field: str, limit: int) -> str:
        text = str(params.get(field, ""))
        if field == "text" and not text.strip():
            raise TelegramReply(400, "Bad Request: message text is empty")
        if len(text) > limit:
            raise TelegramReply(400, f"Bad Request: {'message' if field == 'text' else field}"
                                     " is too long")
        if str(params.get("parse_mode", "")).upper() == "HTML":
            reason = html_error(text)
            if reason is not None:
                raise TelegramReply(400, f"Bad Request: can't parse entities: {reason}")
        return text

    def _reachable(self, params: JSON) -> None:
        if _int_or_none(params.get("chat_id")) in self.unreachable:
            raise TelegramReply(403, CANT_INITIATE)

    def _chat(self, chat_id: Any) -> JSON:
        cid = int(chat_id)
        if cid in self.chats:
            return dict(self.chats[cid])
        if cid > 0:
            return {"id": cid, "type": "private", "first_name": f"User{cid}"}
        return {"id": cid, "type": "supergroup", "title": f"Group {cid}"}

    def _new_message(self, params: JSON, **content: Any) -> JSON:
        self._reachable(params)
        chat = self._chat(params["chat_id"])
        message_id = self._next_message_id[chat["id"]]
        self._next_message_id[chat["id"]] += 1
        message: JSON = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": dict(BOT_USER),
            **content,
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.messages[(chat["id"], message_id)] = message
        self._remember_parse_mode((chat["id"], message_id), params)
        return message

    def _remember_parse_mode(self, key: tuple[int, int], params: JSON) -> None:
        self.parse_modes[key] = str(params.get("parse_mode") or "").upper()

    def _existing(self, params: JSON) -> JSON:
        if "inline_message_id" in params:
            raise TelegramReply(400, "Bad Request: inline messages are not served")
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages:
            # A message the fake never sent (e.g. built by UpdateFactory): adopt it.
            self.messages[key] = {
                "message_id": key[1], "date": int(time.time()) - 1,
                "chat": self._chat(key[0]), "from": dict(BOT_USER), "text": "",
            }
        return self.messages[key]

    # served methods

    def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params["callback_query_id"])
        if len(str(params.get("text", ""))) > CALLBACK_ANSWER_LIMIT:
            raise TelegramReply(400, "Bad Request: MESSAGE_TOO_LONG")
        if query_id in self.answered:
            raise TelegramReply(400, QUERY_TOO_OLD)
        self.answered.add(query_id)
        return True

    def _send_message(self, params: JSON) -> JSON:
        text = self._check_text(params, "text", MESSAGE_TEXT_LIMIT)
        return self._new_message(params, text=text)

    def _edit_message_text(self, params: JSON) -> JSON:
        text = self._check_text(params, "text", MESSAGE_TEXT_LIMIT)
        message = self._existing(params)
        markup = params.get("reply_markup")
        if self.strict_not_modified and message.get("text") == text and (
            message.get("reply_markup") == markup
        ):
            raise TelegramReply(400, NOT_MODIFIED)
        message["text"] = text
        self._remember_parse_mode((message["chat"]["id"], message["message_id"]), params)
        _set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _edit_message_reply_markup(self, params: JSON) -> JSON:
        message = self._existing(params)
        markup = params.get("reply_markup")
        if self.strict_not_modified and message.get("reply_markup") == markup:
            raise TelegramReply(400, NOT_MODIFIED)
        _set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _delete_message(self, params: JSON) -> bool:
        self.messages.pop((int(params["chat_id"]), int(params["message_id"])), None)
        return True

    def _send_photo(self, params: JSON) -> JSON:
        caption = self._check_text(params, "caption", CAPTION_LIMIT)
        sizes = [
            {"file_id": f"photo-{side}", "file_unique_id": f"u-{side}",
             "width": side, "height": side * 3 // 4, "file_size": side * 100}
            for side in (90, 320, 800)
        ]
        content: JSON = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return self._new_message(params, **content)

    def _send_invoice(self, params: JSON) -> JSON:
        prices = params.get("prices") or []
        invoice = {
            "title": params.get("title", ""),
            "description": params.get("description", ""),
            "start_parameter": params.get("start_parameter", ""),
            "currency": params.get("currency", "XTR"),
            "total_amount": sum(int(p["amount"]) for p in prices),
        }
        return self._new_message(params, invoice=invoice)

    def _get_chat(self, params: JSON) -> JSON:
        return {**self._chat(params["chat_id"]), "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False,
                                        "unique_gifts": False, "premium_subscription": False,
                                        "gifts_from_channels": False}}

    def _get_chat_member(self, params: JSON) -> JSON:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        status = self.members.get((chat_id, user_id), "member")
        user = {"id": user_id, "is_bot": user_id == BOT_ID, "first_name": f"User{user_id}"}
        member: JSON = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                {flag: True for flag in (
                    "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                    "can_restrict_members", "can_promote_members", "can_change_info",
                    "can_invite_users", "can_post_stories", "can_edit_stories",
                    "can_delete_stories")},
                can_be_edited=False, is_anonymous=False,
            )
        elif status == "restricted":
            member.update({flag: True for flag in (
                "is_member", "can_send_messages", "can_send_audios", "can_send_documents",
                "can_send_photos", "can_send_videos", "can_send_video_notes",
                "can_send_voice_notes", "can_send_polls", "can_send_other_messages",
                "can_add_web_page_previews", "can_change_info", "can_invite_users",
                "can_pin_messages", "can_manage_topics")}, until_date=0)
        elif status == "kicked":
            member["until_date"] = 0
        return member


def _set_markup(message: JSON, markup: Any) -> None:
    if markup:
        message["reply_markup"] = markup
    else:
        message.pop("reply_markup", None)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _same(a: Any, b: Any) -> bool:
    return a == b or str(a) == str(b)


def _matches(params: JSON, match: JSON) -> bool:
    return all(_same(params.get(k), v) for k, v in match.items())


def application_builder(req: RecordingRequest) -> ApplicationBuilder:
    """A builder wired to ``req`` for both request slots; add handlers after ``build()``."""
    return Application.builder().token(BOT_TOKEN).request(req).get_updates_request(req)


# --- raw updates -------------------------------------------------------------

_MENTION = re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{4,31}\b")
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")


class UpdateFactory:
    """Builds raw update dicts; every build gets a fresh, growing ``update_id``."""

    def __init__(self, *, first_update_id: int = 1000) -> None:
        self._update_ids: Iterator[int] = itertools.count(first_update_id)
        self._query_ids: Iterator[int] = itertools.count(4_000_000_000_000_000_001)
        self._message_ids: dict[int, Iterator[int]] = defaultdict(
            lambda: itertools.count(100_000)
        )
        self._group_ids: Iterator[int] = itertools.count(1_000_000_000_001)

    # people and chats

    @staticmethod
    def user(
        id: int, first_name: str, username: str | None = None, language_code: str = "en"
    ) -> JSON:
        user: JSON = {"id": id, "is_bot": False, "first_name": first_name,
                      "language_code": language_code}
        if username:
            user["username"] = username
        return user

    def group(self, title: str = "Red packet test group", id: int | None = None) -> JSON:
        chat_id = id if id is not None else -next(self._group_ids)
        return {"id": chat_id, "type": "supergroup", "title": title}

    @staticmethod
    def private_chat(user: JSON) -> JSON:
        chat: JSON = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        if "username" in user:
            chat["username"] = user["username"]
        return chat

    # messages

    def message(
        self,
        chat: JSON,
        user: JSON,
        text: str,
        *,
        reply_to: JSON | None = None,
        text_mentions: Iterable[JSON] = (),
    ) -> JSON:
        """A message dict (not an update); entities for commands and mentions."""
        message: JSON = {
            "message_id": next(self._message_ids[chat["id"]]),
            "date": int(time.time()),
            "chat": dict(chat),
            "from": dict(user),
            "text": text,
        }
        entities = _entities(text, text_mentions)
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            if "message_id" not in reply_to:  # a user: reply to something they said
                reply_to = self.message(chat, reply_to, "🧧")
            message["reply_to_message"] = reply_to
        return message

    def text(self, chat: JSON, user: JSON, text: str, **kwargs: Any) -> JSON:
        return self._update(message=self.message(chat, user, text, **kwargs))

    def command(
        self,
        chat: JSON,
        user: JSON,
        text: str,
        reply_to: JSON | None = None,
        *,
        text_mentions: Iterable[JSON] = (),
    ) -> JSON:
        """``reply_to``: a message dict, or a user dict (a message of theirs is made).

        ``text_mentions``: users without a username whose first name appears in
        ``text``; each occurrence becomes a ``text_mention`` entity.
        """
        return self.text(chat, user, text, reply_to=reply_to, text_mentions=text_mentions)

    def private_command(self, user: JSON, text: str) -> JSON:
        return self.command(self.private_chat(user), user, text)

    def callback(
        self,
        chat: JSON,
        user: JSON,
        message_id: int,
        data: str,
        message_text: str = "🧧",
        *,
        reply_markup: JSON | None = None,
    ) -> JSON:
        """A press on an inline button of the bot's message ``message_id`` in ``chat``."""
        message: JSON = {
            "message_id": message_id,
            "date": int(time.time()) - 5,
            "chat": dict(chat),
            "from": dict(BOT_USER),
            "text": message_text,
        }
        if reply_markup is not None:
            message["reply_markup"] = reply_markup
        query = {
            "id": str(next(self._query_ids)),
            "from": dict(user),
            "chat_instance": f"ci{chat['id']}",
            "message": message,
            "data": data,
        }
        return self._update(callback_query=query)

    def pre_checkout_query(
        self, user: JSON, payload: str, total_amount: int, currency: str = "XTR"
    ) -> JSON:
        query = {"id": str(next(self._query_ids)), "from": dict(user), "currency": currency,
                 "total_amount": total_amount, "invoice_payload": payload}
        return self._update(pre_checkout_query=query)

    def successful_payment(
        self, user: JSON, payload: str, total_amount: int, currency: str = "XTR",
        charge_id: str | None = None,
    ) -> JSON:
        message = self.message(self.private_chat(user), user, "")
        del message["text"]
        message["successful_payment"] = {
            "currency": currency,
            "total_amount": total_amount,
            "invoice_payload": payload,
            "telegram_payment_charge_id": charge_id or f"charge-{message['message_id']}",
            "provider_payment_charge_id": "",
        }
        return self._update(message=message)

    @staticmethod
    def replay(update: JSON) -> JSON:
        """The same update delivered again (same ``update_id``), as after a restart."""
        return copy.deepcopy(update)

    def _update(self, **content: JSON) -> JSON:
        return {"update_id": next(self._update_ids), **content}


def _entities(text: str, text_mentions: Iterable[JSON]) -> list[JSON]:
    found: list[tuple[int, int, JSON]] = []
    command = _COMMAND.match(text)
    if command:
        found.append((command.start(), command.end(), {"type": "bot_command"}))
    for mention in _MENTION.finditer(text):
        found.append((mention.start(), mention.end(), {"type": "mention"}))
    for user in text_mentions:
        name = user["first_name"]
        for hit in re.finditer(re.escape(name), text):
            found.append((hit.start(), hit.end(), {"type": "text_mention", "user": dict(user)}))
    found.sort(key=lambda item: item[0])
    return [
        {**extra, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:end])}
        for start, end, extra in found
    ]
