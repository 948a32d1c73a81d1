"""A minimal Telegram Bot API over real HTTP on loopback, for process tests and the bench.

It serves what ``redpacket run`` calls, with Telegram-shaped results (message ids
that grow per chat, ``date`` in seconds, 400s where Telegram refuses), records
every call, takes updates from its caller and can be told to fail.

Run it in its own process (the bench does, so the bot's CPU is its own)::

    python -m bot.loopback_api --port 8081 [--token 123:ABC] [--answer-window 15]

or from a test, in a thread (``serve_in_thread()``) or a process
(``serve_in_process()``); both return a handle with ``.url``, ``.api_base_url``
(the value for ``TELEGRAM_API_BASE_URL``), ``.control`` and ``.stop()``.

Bot API: ``POST|GET /bot<token>/<method>``, form-encoded, multipart or JSON bodies
(PTB sends every non-string parameter JSON-encoded; the server decodes them).
With ``--token`` another token gets 401 "Unauthorized"; without, any token goes.

* ``getMe``, ``getUpdates`` (``offset``/``limit``/``timeout``: an update is
  confirmed — and forgotten — only by a later call whose ``offset`` is above its
  id, so a restarted bot gets every unconfirmed update again; a second poller
  ends the first with 409 Conflict, as Telegram does; 409 while a webhook is set),
  ``setWebhook``/``deleteWebhook``/``getWebhookInfo`` (updates are then pushed,
  at most ``max_connections`` at a time, with ``X-Telegram-Bot-Api-Secret-Token``;
  one is confirmed by a 2xx reply, else pushed again a second later),
* ``sendMessage``, ``sendPhoto`` (multipart; the upload is recorded as
  ``{"filename", "content_type", "size", "sha256"}``), ``editMessageText``,
  ``editMessageReplyMarkup`` (400 "message is not modified" / "message to edit
  not found" as Telegram), ``deleteMessage``, ``setMessageReaction``,
* ``answerCallbackQuery``: only for a query delivered by an update, once, within
  the answer window, text of at most 200 characters — else 400 as Telegram,
* ``setMyCommands``/``deleteMyCommands``, ``getChatMemberCount``,
  ``getChatAdministrators``, ``getChatMember``, ``getChat``; any other method 404.

Control API (JSON in and out, plus the sync client ``LoopbackControl``):

* ``POST /control/updates`` — one update or a list; ``update_id`` is assigned
  when missing. Callback queries and messages in them become known to the server
  (answerable, editable). Returns ``{"update_ids": [...]}``.
* ``POST /control/queries`` — ``{"ids": [...]}``: callback query ids that may be
  answered without an update (the bench's floor measurement).
* ``GET /control/calls?method=M&since=SEQ`` — recorded calls, oldest first:
  ``{"seq", "method", "params", "files", "status", "at"}`` (``at``: ``time.time()``).
  Returns ``{"calls": [...], "next": SEQ}``.
* ``GET /control/answers`` — every answered callback query: ``{"id", "text",
  "show_alert", "available_at", "answered_at"}`` (``time.monotonic()`` of this
  host: the moment the update could be fetched, the moment it was answered), and
  ``"unanswered"``: the count of delivered queries nobody answered yet.
* ``GET /control/messages?chat_id=C`` — the messages as they are now
  (``text``, ``reply_markup``, ``edits``, ``deleted``).
* ``POST /control/faults`` — ``{"method": "sendMessage" | "*", "kind": "429" |
  "5xx" | "drop" | "latency", "times": N (default 1), "retry_after": s,
  "status": 5xx, "seconds": s}``: the next N calls of the method fail so (latency:
  answered normally after ``seconds``). ``DELETE /control/faults`` clears them.
* ``POST /control/chats`` — ``{"chat_id", "member_count", "administrators":
  [user ids], "members": {user id: status}}`` for the chat-member methods.
* ``POST /control/webhook`` — ``{"deliver_to": URL}``: push webhook updates
  there instead of the URL the bot registered (which is not reachable in tests).
* ``GET /control/state`` — pending updates, confirmed offset, webhook, pollers.
* ``POST /control/reset`` — forget updates, calls, messages and faults.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

__all__ = [
    "LoopbackBotApi",
    "LoopbackControl",
    "LoopbackHandle",
    "main",
    "serve_in_process",
    "serve_in_thread",
]

BOT_USER = {
    "id": 999_000, "is_bot": True, "first_name": "Red", "username": "rp_bot",
    "can_join_groups": True, "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
_PATH = re.compile(r"^/bot(?P<token>[^/]*)/(?P<method>[A-Za-z]+)$")
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply "
    "markup are exactly the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
_MAX_CALLS = 500_000
_FREE_TEXT = frozenset({"text", "caption", "url", "secret_token", "callback_query_id",
                        "inline_message_id", "parse_mode", "language_code", "description"})
_MAX_LIMIT = 100


class _Refused(Exception):
    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters


@dataclass
class _Fault:
    method: str
    kind: str
    times: int = 1
    retry_after: int = 1
    status: int = 502
    seconds: float = 1.0


@dataclass
class _Message:
    chat_id: int
    message_id: int
    text: str | None
    reply_markup: Any = None
    edits: int = 0
    deleted: bool = False
    from_bot: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "chat_id": self.chat_id, "message_id": self.message_id, "text": self.text,
            "reply_markup": self.reply_markup, "edits": self.edits, "deleted": self.deleted,
            "from_bot": self.from_bot,
        }


@dataclass
class _Chat:
    member_count: int = 1_000
    administrators: list[int] = field(default_factory=lambda: [1])
    members: dict[int, str] = field(default_factory=dict)


@dataclass
class _Query:
    available_at: float
    answered_at: float | None = None
    text: str | None = None
    show_alert: bool = False


class LoopbackBotApi:
    """The server's state and its aiohttp application; one instance per event loop."""

    def __init__(self, *, token: str | None = None, answer_window: float = 15.0) -> None:
        self.token = token
        self.answer_window = answer_window
        self.calls: deque[dict[str, Any]] = deque(maxlen=_MAX_CALLS)
        self.seq = 0
        self.updates: deque[dict[str, Any]] = deque()
        self.next_update_id = 1
        self.confirmed = 0  # every update below this id was confirmed
        self.queries: dict[str, _Query] = {}
        self.answered: set[str] = set()  # ids of the queries answered, counted cheaply
        self.messages: dict[tuple[int, int], _Message] = {}
        self.last_message_id: dict[int, int] = {}
        self.chats: dict[int, _Chat] = {}
        self.faults: list[_Fault] = []
        self.webhook: dict[str, Any] | None = None
        self.deliver_to: str | None = None
        self._arrived = asyncio.Event()
        self._poller: asyncio.Future[None] | None = None
        self._pusher: asyncio.Task[None] | None = None
        self._pushing: set[int] = set()
        self._session: ClientSession | None = None
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_route("*", "/bot{token}/{method}", self._bot_api)
        control = self.app.router
        control.add_post("/control/updates", self._c_updates)
        control.add_post("/control/queries", self._c_queries)
        control.add_get("/control/calls", self._c_calls)
        control.add_get("/control/answers", self._c_answers)
        control.add_get("/control/messages", self._c_messages)
        control.add_post("/control/faults", self._c_add_fault)
        control.add_delete("/control/faults", self._c_clear_faults)
        control.add_post("/control/chats", self._c_chats)
        control.add_post("/control/webhook", self._c_webhook)
        control.add_get("/control/state", self._c_state)
        control.add_post("/control/reset", self._c_reset)
        self.app.on_cleanup.append(self._cleanup)

    # -- the Bot API ---------------------------------------------------------

    async def _bot_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params, files = await _read_params(request)
        self.seq += 1
        call = {"seq": self.seq, "method": method, "params": params, "files": files,
                "status": 200, "at": time.time()}
        self.calls.append(call)
        if self.token is not None and request.match_info["token"] != self.token:
            call["status"] = 401
            return _error(401, "Unauthorized")
        fault = self._take_fault(method)
        if fault is not None:
            call["fault"] = fault.kind
            if fault.kind == "latency":
                await asyncio.sleep(fault.seconds)
            elif fault.kind == "drop":
                call["status"] = 0
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError
            elif fault.kind == "429":
                call["status"] = 429
                return _error(429, f"Too Many Requests: retry after {fault.retry_after}",
                              {"retry_after": fault.retry_after})
            else:
                call["status"] = fault.status
                return _error(fault.status, "Bad Gateway" if fault.status == 502 else
                              "Internal Server Error")
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            call["status"] = 404
            return _error(404, "Not Found: method not found")
        try:
            result = await handler(params, files)
        except _Refused as refused:
            call["status"] = refused.status
            return _error(refused.status, refused.description, refused.parameters)
        return web.json_response({"ok": True, "result": result})

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self.faults:
            if fault.method in (method, "*") and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                return fault
        return None

    async def _m_getMe(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        return BOT_USER

    async def _m_logOut(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        return True

    async def _m_close(self, params: dict[str, Any], files: Any) -> Any:
        return True

    async def _m_getUpdates(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        if self.webhook is not None:
            raise _Refused(409, "Conflict: can't use getUpdates method while webhook is "
                                "active; use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = max(1, min(_MAX_LIMIT, int(params.get("limit") or _MAX_LIMIT)))
        timeout = max(0.0, float(params.get("timeout") or 0))
        if offset < 0:
            keep = list(self.updates)[offset:]
            offset = keep[0]["update_id"] if keep else self.next_update_id
        self._confirm_below(offset)
        if self._poller is not None and not self._poller.done():
            self._poller.set_result(None)  # the older request ends with 409
        poller: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._poller = poller
        deadline = time.monotonic() + timeout
        while not self.updates:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._arrived.clear()
            arrived = asyncio.ensure_future(self._arrived.wait())
            await asyncio.wait({arrived, poller}, timeout=left,
                               return_when=asyncio.FIRST_COMPLETED)
            arrived.cancel()
            if poller.done():
                raise _Refused(409, "Conflict: terminated by other getUpdates request; "
                                    "make sure that only one bot instance is running")
        if self._poller is poller:
            self._poller = None
        return [update for _, update in zip(range(limit), self.updates)]

    def _confirm_below(self, offset: int) -> None:
        while self.updates and self.updates[0]["update_id"] < offset:
            self.updates.popleft()
        self.confirmed = max(self.confirmed, offset)

    async def _m_setWebhook(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        url = str(params.get("url") or "")
        if not url:
            return await self._m_deleteWebhook(params, files)
        if params.get("drop_pending_updates"):
            self._confirm_below(self.next_update_id)
        self.webhook = {
            "url": url, "secret_token": params.get("secret_token"),
            "max_connections": int(params.get("max_connections") or 40),
        }
        if self._pusher is None or self._pusher.done():
            self._pusher = asyncio.ensure_future(self._push_updates())
        self._arrived.set()
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        if params.get("drop_pending_updates"):
            self._confirm_below(self.next_update_id)
        self.webhook = None
        if self._pusher is not None:
            self._pusher.cancel()
            self._pusher = None
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        hook = self.webhook or {}
        return {"url": hook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self.updates),
                "max_connections": hook.get("max_connections", 40)}

    async def _m_sendMessage(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        chat_id = _chat_id(params)
        text = str(params.get("text") or "")
        if not text.strip():
            raise _Refused(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise _Refused(400, "Bad Request: message is too long")
        message = self._new_message(chat_id, text, params.get("reply_markup"))
        return self._message_json(message)

    async def _m_sendPhoto(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        chat_id = _chat_id(params)
        if not files and not params.get("photo"):
            raise _Refused(400, "Bad Request: there is no photo in the request")
        message = self._new_message(chat_id, None, params.get("reply_markup"))
        result = self._message_json(message)
        result.pop("text", None)
        if params.get("caption"):
            result["caption"] = params["caption"]
        file_id = f"photo-{chat_id}-{message.message_id}"
        result["photo"] = [{"file_id": file_id, "file_unique_id": file_id, "width": 800,
                            "height": 600, "file_size": (files or [{}])[0].get("size", 0)}]
        return result

    async def _m_editMessageText(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        message = self._editable(params)
        text = str(params.get("text") or "")
        if not text.strip():
            raise _Refused(400, "Bad Request: message text is empty")
        markup = params.get("reply_markup")
        if message.text == text and message.reply_markup == markup:
            raise _Refused(400, _NOT_MODIFIED)
        message.text, message.reply_markup = text, markup
        message.edits += 1
        return self._message_json(message)

    async def _m_editMessageReplyMarkup(  # noqa: N802
        self, params: dict[str, Any], files: Any
    ) -> Any:
        message = self._editable(params)
        markup = params.get("reply_markup")
        if message.reply_markup == markup:
            raise _Refused(400, _NOT_MODIFIED)
        message.reply_markup = markup
        message.edits += 1
        return self._message_json(message)

    def _editable(self, params: dict[str, Any]) -> _Message:
        if params.get("inline_message_id"):
            raise _Refused(400, "Bad Request: MESSAGE_ID_INVALID")
        key = (_chat_id(params), int(params.get("message_id") or 0))
        message = self.messages.get(key)
        if message is None or message.deleted:
            raise _Refused(400, "Bad Request: message to edit not found")
        if not message.from_bot:
            raise _Refused(400, "Bad Request: message can't be edited")
        return message

    async def _m_deleteMessage(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        key = (_chat_id(params), int(params.get("message_id") or 0))
        message = self.messages.get(key)
        if message is None or message.deleted:
            raise _Refused(400, "Bad Request: message to delete not found")
        message.deleted = True
        return True

    async def _m_setMessageReaction(  # noqa: N802
        self, params: dict[str, Any], files: Any
    ) -> Any:
        key = (_chat_id(params), int(params.get("message_id") or 0))
        if key not in self.messages:
            raise _Refused(400, "Bad Request: message to react not found")
        return True

    async def _m_answerCallbackQuery(  # noqa: N802
        self, params: dict[str, Any], files: Any
    ) -> Any:
        query = self.queries.get(str(params.get("callback_query_id") or ""))
        now = time.monotonic()
        if query is None or query.answered_at is not None or (
            now - query.available_at > self.answer_window
        ):
            raise _Refused(400, _QUERY_TOO_OLD)
        text = str(params.get("text") or "")
        if len(text) > 200:
            raise _Refused(400, "Bad Request: MESSAGE_TOO_LONG")
        query.answered_at, query.text = now, text
        self.answered.add(str(params.get("callback_query_id")))
        query.show_alert = params.get("show_alert") in (True, "true", "True")
        return True

    async def _m_setMyCommands(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        return True

    async def _m_deleteMyCommands(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        return True

    async def _m_getChat(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        return _chat_json(_chat_id(params))

    async def _m_getChatMemberCount(  # noqa: N802
        self, params: dict[str, Any], files: Any
    ) -> Any:
        return self._chat(_chat_id(params)).member_count

    async def _m_getChatAdministrators(  # noqa: N802
        self, params: dict[str, Any], files: Any
    ) -> Any:
        chat = self._chat(_chat_id(params))
        admins = [_member_json(uid, "creator" if i == 0 else "administrator")
                  for i, uid in enumerate(chat.administrators)]
        return [*admins, _member_json(BOT_USER["id"], "administrator")]

    async def _m_getChatMember(self, params: dict[str, Any], files: Any) -> Any:  # noqa: N802
        chat = self._chat(_chat_id(params))
        user_id = int(params.get("user_id") or 0)
        if user_id == BOT_USER["id"]:
            return _member_json(user_id, "administrator")
        if user_id in chat.administrators:
            status = "creator" if chat.administrators[0] == user_id else "administrator"
        else:
            status = chat.members.get(user_id, "member")
        return _member_json(user_id, status)

    def _chat(self, chat_id: int) -> _Chat:
        return self.chats.setdefault(chat_id, _Chat())

    def _new_message(self, chat_id: int, text: str | None, markup: Any) -> _Message:
        message_id = self.last_message_id.get(chat_id, 0) + 1
        self.last_message_id[chat_id] = message_id
        message = _Message(chat_id, message_id, text, markup)
        self.messages[(chat_id, message_id)] = message
        return message

    def _message_json(self, message: _Message) -> dict[str, Any]:
        result: dict[str, Any] = {
            "message_id": message.message_id, "date": int(time.time()),
            "chat": _chat_json(message.chat_id), "from": BOT_USER, "text": message.text,
        }
        if message.edits:
            result["edit_date"] = int(time.time())
        if message.reply_markup:
            result["reply_markup"] = message.reply_markup
        return result

    # -- updates -------------------------------------------------------------

    def enqueue(self, updates: Iterable[dict[str, Any]]) -> list[int]:
        now, ids = time.monotonic(), []
        for update in updates:
            update = dict(update)
            update_id = int(update.get("update_id") or self.next_update_id)
            update["update_id"] = update_id
            self.next_update_id = max(self.next_update_id, update_id + 1)
            query = update.get("callback_query")
            if query:
                self._await_answer(str(query["id"]), now)
            message = update.get("message") or update.get("edited_message")
            if message and "chat" in message:
                self._remember_user_message(message)
            self.updates.append(update)
            ids.append(update_id)
        self._arrived.set()
        return ids

    def _await_answer(self, query_id: str, now: float) -> None:
        self.queries[query_id] = _Query(available_at=now)
        self.answered.discard(query_id)

    def _remember_user_message(self, message: dict[str, Any]) -> None:
        chat_id, message_id = int(message["chat"]["id"]), int(message.get("message_id") or 0)
        if message_id:
            self.last_message_id[chat_id] = max(self.last_message_id.get(chat_id, 0), message_id)
            self.messages[(chat_id, message_id)] = _Message(
                chat_id, message_id, message.get("text"), from_bot=False
            )

    async def _push_updates(self) -> None:
        self._session = self._session or ClientSession(timeout=ClientTimeout(total=60))
        while self.webhook is not None:
            hook = self.webhook
            waiting = [u for u in self.updates if u["update_id"] not in self._pushing]
            room = hook["max_connections"] - len(self._pushing)
            for update in waiting[:max(0, room)]:
                self._pushing.add(update["update_id"])
                asyncio.ensure_future(self._push_one(hook, update))
            self._arrived.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout=0.5)

    async def _push_one(self, hook: dict[str, Any], update: dict[str, Any]) -> None:
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(hook["secret_token"])
        delivered = False
        try:
            async with self._session.post(self.deliver_to or hook["url"], data=json.dumps(update),
                                          headers=headers) as response:
                delivered = 200 <= response.status < 300
        except (ClientError, OSError, asyncio.TimeoutError):  # pushed again a second later
            delivered = False
        if delivered:
            with contextlib.suppress(ValueError):
                self.updates.remove(update)
        else:
            await asyncio.sleep(1.0)
        self._pushing.discard(update["update_id"])
        self._arrived.set()

    async def _cleanup(self, app: web.Application) -> None:
        if self._pusher is not None:
            self._pusher.cancel()
        if self._session is not None:
            await self._session.close()

    # -- control -------------------------------------------------------------

    async def _c_updates(self, request: web.Request) -> web.Response:
        body = await request.json()
        ids = self.enqueue(body if isinstance(body, list) else [body])
        return web.json_response({"ok": True, "update_ids": ids})

    async def _c_queries(self, request: web.Request) -> web.Response:
        body = await request.json()
        now = time.monotonic()
        for query_id in body.get("ids", []):
            self._await_answer(str(query_id), now)
        return web.json_response({"ok": True})

    async def _c_calls(self, request: web.Request) -> web.Response:
        method = request.query.get("method")
        since = int(request.query.get("since") or 0)
        calls = [c for c in self.calls if c["seq"] > since and (not method or c["method"] == method)]
        return web.json_response({"ok": True, "calls": calls, "next": self.seq})

    async def _c_answers(self, request: web.Request) -> web.Response:
        if request.query.get("count"):  # polled while a crowd presses: no list to build
            return web.json_response({"ok": True, "answered": len(self.answered),
                                      "unanswered": len(self.queries) - len(self.answered)})
        answered = [
            {"id": qid, "text": q.text, "show_alert": q.show_alert,
             "available_at": q.available_at, "answered_at": q.answered_at}
            for qid, q in self.queries.items() if q.answered_at is not None
        ]
        return web.json_response({"ok": True, "answers": answered,
                                  "unanswered": len(self.queries) - len(answered)})

    async def _c_messages(self, request: web.Request) -> web.Response:
        chat = request.query.get("chat_id")
        messages = [m.as_dict() for m in self.messages.values()
                    if chat is None or m.chat_id == int(chat)]
        return web.json_response({"ok": True, "messages": messages})

    async def _c_add_fault(self, request: web.Request) -> web.Response:
        body = await request.json()
        kind = str(body.get("kind", "5xx"))
        if kind not in ("429", "5xx", "drop", "latency"):
            return web.json_response({"ok": False, "description": f"unknown kind {kind}"},
                                     status=400)
        self.faults.append(_Fault(
            method=str(body.get("method", "*")), kind=kind, times=int(body.get("times", 1)),
            retry_after=int(body.get("retry_after", 1)), status=int(body.get("status", 502)),
            seconds=float(body.get("seconds", 1.0)),
        ))
        return web.json_response({"ok": True})

    async def _c_clear_faults(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return web.json_response({"ok": True})

    async def _c_chats(self, request: web.Request) -> web.Response:
        body = await request.json()
        chat = self._chat(int(body["chat_id"]))
        if "member_count" in body:
            chat.member_count = int(body["member_count"])
        if "administrators" in body:
            chat.administrators = [int(a) for a in body["administrators"]]
        if "members" in body:
            chat.members.update({int(k): str(v) for k, v in body["members"].items()})
        return web.json_response({"ok": True})

    async def _c_webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.deliver_to = body.get("deliver_to") or None
        self._arrived.set()
        return web.json_response({"ok": True})

    async def _c_state(self, request: web.Request) -> web.Response:
        return web.json_response({
            "ok": True, "pending_updates": len(self.updates), "confirmed_offset": self.confirmed,
            "next_update_id": self.next_update_id, "webhook": self.webhook,
            "deliver_to": self.deliver_to, "calls": self.seq,
            "polling": self._poller is not None and not self._poller.done(),
        })

    async def _c_reset(self, request: web.Request) -> web.Response:
        self.calls.clear()
        self.updates.clear()
        self.queries.clear()
        self.answered.clear()
        self.messages.clear()
        self.last_message_id.clear()
        self.faults.clear()
        return web.json_response({"ok": True})


# -- parsing and shapes --------------------------------------------------------


async def _read_params(request: web.Request) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    params: dict[str, Any] = dict(request.query)
    files: list[dict[str, Any]] = []
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
            return params, files
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                data = value.file.read()
                files.append({"field": name, "filename": value.filename,
                              "content_type": value.content_type, "size": len(data),
                              "sha256": hashlib.sha256(data).hexdigest()})
            else:
                params[name] = _decode(name, str(value))
    else:
        params = {k: _decode(k, v) for k, v in params.items()}
    return params, files


def _decode(name: str, value: str) -> Any:
    """PTB JSON-encodes every non-string parameter; free-text ones stay as sent."""
    if name in _FREE_TEXT:
        return value
    if value[:1] in ("{", "[") or value in ("true", "false", "null"):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def _chat_id(params: dict[str, Any]) -> int:
    try:
        return int(params.get("chat_id") or 0)
    except (TypeError, ValueError):
        raise _Refused(400, "Bad Request: chat not found") from None


def _chat_json(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"user{chat_id}"}
    return {"id": chat_id, "type": "supergroup", "title": f"group {chat_id}"}


def _member_json(user_id: int, status: str) -> dict[str, Any]:
    user = BOT_USER if user_id == BOT_USER["id"] else {
        "id": user_id, "is_bot": False, "first_name": f"user{user_id}"}
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "administrator":
        member.update(can_be_edited=False, is_anonymous=False, can_manage_chat=True,
                      can_delete_messages=True, can_manage_video_chats=False,
                      can_restrict_members=True, can_promote_members=False,
                      can_change_info=True, can_invite_users=True, can_post_stories=False,
                      can_edit_stories=False, can_delete_stories=False)
    elif status == "creator":
        member["is_anonymous"] = False
    return member


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


# -- running it ----------------------------------------------------------------


class LoopbackControl:
    """A blocking client for the control API (usable from any process or thread)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _call(self, verb: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=verb,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def enqueue(self, *updates: dict[str, Any]) -> list[int]:
        return self._call("POST", "/control/updates", list(updates))["update_ids"]

    def allow_queries(self, ids: list[str]) -> None:
        self._call("POST", "/control/queries", {"ids": ids})

    def calls(self, method: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        query = f"?since={since}" + (f"&method={method}" if method else "")
        return self._call("GET", "/control/calls" + query)["calls"]

    def answers(self) -> dict[str, Any]:
        return self._call("GET", "/control/answers")

    def answer_counts(self) -> tuple[int, int]:
        """(answered, unanswered) callback queries, without the list of answers."""
        counts = self._call("GET", "/control/answers?count=1")
        return int(counts["answered"]), int(counts["unanswered"])

    def messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        query = "" if chat_id is None else f"?chat_id={chat_id}"
        return self._call("GET", "/control/messages" + query)["messages"]

    def fault(self, method: str, kind: str, times: int = 1, **options: Any) -> None:
        self._call("POST", "/control/faults",
                   {"method": method, "kind": kind, "times": times, **options})

    def clear_faults(self) -> None:
        self._call("DELETE", "/control/faults")

    def chat(self, chat_id: int, **config: Any) -> None:
        self._call("POST", "/control/chats", {"chat_id": chat_id, **config})

    def deliver_webhook_to(self, url: str | None) -> None:
        self._call("POST", "/control/webhook", {"deliver_to": url})

    def state(self) -> dict[str, Any]:
        return self._call("GET", "/control/state")

    def reset(self) -> None:
        self._call("POST", "/control/reset", {})


@dataclass
class LoopbackHandle:
    """A running loopback Bot API: where it is, and how to stop it."""

    port: int
    _stop: Any
    pid: int | None = None  # the server's process, when it has its own

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base_url(self) -> str:
        """The value for ``TELEGRAM_API_BASE_URL`` (the token is appended)."""
        return f"{self.url}/bot"

    @property
    def control(self) -> LoopbackControl:
        return LoopbackControl(self.url)

    def stop(self) -> None:
        self._stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def serve(port: int, *, token: str | None = None, answer_window: float = 15.0,
                stop: asyncio.Event | None = None, ready: threading.Event | None = None) -> None:
    """Serve on ``127.0.0.1:port`` until ``stop`` is set (forever when None)."""
    api = LoopbackBotApi(token=token, answer_window=answer_window)
    runner = web.AppRunner(api.app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096, reuse_address=True)
    await site.start()
    if ready is not None:
        ready.set()
    try:
        await (stop or asyncio.Event()).wait()
    finally:
        await runner.cleanup()


def serve_in_thread(port: int | None = None, **options: Any) -> LoopbackHandle:
    """Start the server in a daemon thread of this process (its own event loop)."""
    port = port or free_port()
    loop = asyncio.new_event_loop()
    stop, ready = asyncio.Event(), threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve(port, stop=stop, ready=ready, **options))
        loop.close()

    thread = threading.Thread(target=run, name="loopback-bot-api", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the loopback Bot API did not start")

    def halt() -> None:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)

    return LoopbackHandle(port, halt)


async def _serve_until_signal(port: int, options: dict[str, Any]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve(port, stop=stop, **options)


def serve_in_process(
    port: int | None = None, *, token: str | None = None, answer_window: float = 15.0
) -> LoopbackHandle:
    """Start the server as ``python -m bot.loopback_api`` in its own process."""
    port = port or free_port()
    command = [sys.executable, "-m", "bot.loopback_api", "--port", str(port),
               "--answer-window", str(answer_window)]
    if token is not None:
        command += ["--token", token]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    control = LoopbackControl(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while True:
        try:
            control.state()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("the loopback Bot API did not start") from None
            time.sleep(0.05)

    def halt() -> None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    return LoopbackHandle(port, halt, process.pid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.loopback_api", description=(
        "A minimal Telegram Bot API on 127.0.0.1 for tests and benchmarks "
        "(control API: see the module docstring)."))
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument("--token", default=None, help="accept only this bot token")
    parser.add_argument("--answer-window", type=float, default=15.0,
                        help="seconds a callback query can be answered (Telegram: about 15)")
    args = parser.parse_args(argv)
    asyncio.run(_serve_until_signal(
        args.port, {"token": args.token, "answer_window": args.answer_window}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
