"""The bot's HTTP client: a ``telegram.request.BaseRequest`` on aiohttp.

Why not PTB's ``HTTPXRequest``: under a crowd the bot has thousands of
``answerCallbackQuery`` requests in flight, and httpcore's connection pool
re-scans every connection for every queued request — work quadratic in the
requests in flight (measured in ``docs/benchmarks.md``). aiohttp's connector
hands out idle connections from a queue, so its cost per request stays flat;
the bound on requests in flight here is ``bot.slots.Slots`` (a FIFO queue).
Calls without a file and without a proxy — nearly all of them, every press's
answer among them — skip aiohttp's session for ``bot.http1.KeepAlivePool``,
which costs about a quarter of the CPU per call; uploads and proxies stay on
aiohttp.

It keeps what ``HTTPXRequest`` gives:

* connect/read/write/pool timeouts, defaults set here and overridable per call
  (``BaseRequest.DEFAULT_NONE`` means "the default"; ``None`` means no limit).
  ``pool`` bounds the wait for a free slot among ``connection_pool_size``;
  ``connect`` the TCP (and TLS) connection; ``read`` the wait between bytes of
  the response. aiohttp has no separate write timeout, so a finite ``write``
  bounds the whole exchange to connect + write + read (uploads use
  ``media_write_timeout`` by default, as in ``HTTPXRequest``);
* form-encoded calls, multipart uploads (``sendPhoto``) with every other
  parameter as a form field, exactly as ``HTTPXRequest`` sends them;
* an HTTP(S) proxy (``proxy=``, or ``HTTPS_PROXY``/``ALL_PROXY`` from the
  environment, like httpx);
* errors as PTB's retry loop expects them: a timeout (any of the four) is
  ``TimedOut``, any other transport failure ``NetworkError``; a request after
  ``shutdown()`` raises ``RuntimeError`` until ``initialize()`` again;
* ``shutdown()`` closes every connection.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote_plus, urlencode

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

from bot.http1 import KeepAlivePool
from bot.slots import Slots

__all__ = ["AiohttpRequest", "FormBody", "POOL_TIMEOUT_MESSAGE", "bot_requests"]

_log = logging.getLogger(__name__)

POOL_TIMEOUT_MESSAGE = (
    "Pool timeout: All connections in the connection pool are occupied. "
    "Request was *not* sent to Telegram. Consider adjusting the connection "
    "pool size or the pool timeout."
)
_FORM_TYPE = "application/x-www-form-urlencoded"
_FORM = {"Content-Type": _FORM_TYPE}


class FormBody(RequestData):  # type: ignore[misc]  # PTB marks it final for its users
    """A call's fields (strings, booleans, integers), form-encoded once.

    PTB builds a ``RequestParameter`` per field, then a dict of JSON values,
    then the form: for a press's answer (``bot.answering``) that is ~5 % of
    what the whole press costs the bot. This holds the same fields (``parameters``
    and ``json_parameters`` are PTB's dicts: a bool is sent as ``true``/``false``,
    an integer as its digits) and the very bytes ``urlencode`` makes of them;
    ``AiohttpRequest`` sends those bytes, any other request reads the fields as
    from PTB's own ``RequestData``.
    """

    __slots__ = ("_values", "_fields", "body")

    def __init__(self, values: dict[str, str | bool | int]) -> None:
        super().__init__()
        self._values = values
        self._fields = {name: _json_value(value) for name, value in values.items()}
        self.body = "&".join(
            f"{_quoted(name)}={_quoted(value)}" for name, value in self._fields.items()
        ).encode()

    @property
    def parameters(self) -> dict[str, Any]:
        return dict(self._values)

    @property
    def json_parameters(self) -> dict[str, str]:
        return dict(self._fields)

    @property
    def multipart_data(self) -> dict[str, Any]:
        return {}


def _json_value(value: str | bool | int) -> str:
    """``RequestParameter.json_value`` of a plain field: a string as it is, else JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(int(value))


# Names and values form-encoded lately: a press's answer says one of a few dozen
# things, so its text is encoded once, not per press.
MAX_QUOTED = 4096
_QUOTED: dict[str, str] = {}


def _quoted(value: str) -> str:
    """``quote_plus(value)``, as ``urlencode`` spells a name or value, remembered."""
    known = _QUOTED.get(value)
    if known is None:
        if len(_QUOTED) >= MAX_QUOTED:
            _QUOTED.clear()
        known = _QUOTED[value] = quote_plus(value)
    return known


class AiohttpRequest(BaseRequest):
    """A PTB request on one ``aiohttp.ClientSession``; arguments as ``HTTPXRequest``'s."""

    __slots__ = (
        "_connect_timeout", "_media_write_timeout", "_pool_size", "_pool_timeout", "_proxy",
        "_env_proxies", "_lean", "_read_timeout", "_session", "_slots", "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        proxy: str | None = None,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._proxy = proxy or None
        self._env_proxies: dict[str, URL | None] = {}
        self._session: aiohttp.ClientSession | None = None
        self._lean: KeepAlivePool | None = None
        self._slots: Slots | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    @property
    def connection_pool_size(self) -> int:
        return self._pool_size

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0,
                                         ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=None),
            # trust_env would look the proxy and .netrc up in a thread for every request;
            # the environment's proxy is resolved once per origin instead (_proxy_for).
            headers={"User-Agent": self.USER_AGENT}, trust_env=False,
        )
        self._lean = KeepAlivePool(self.USER_AGENT, max_idle=self._pool_size)
        self._slots = Slots(self._pool_size)
        return self._session

    def _proxy_for(self, url: str) -> URL | None:
        """``HTTPS_PROXY``/``ALL_PROXY``/``NO_PROXY`` for the URL's origin, as httpx reads them."""
        origin = url.split("/", 3)[2] if url.count("/") >= 2 else url
        key = url.split(":", 1)[0] + "://" + origin
        if key not in self._env_proxies:
            if len(self._env_proxies) > 32:
                self._env_proxies.clear()
            try:
                self._env_proxies[key] = get_env_proxy_for_url(URL(url))[0]
            except LookupError:
                self._env_proxies[key] = None
        return self._env_proxies[key]

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._open()

    async def shutdown(self) -> None:
        session, self._session = self._session, None
        lean, self._lean = self._lean, None
        if lean is not None:
            await lean.close()
        if session is None or session.closed:
            _log.debug("This AiohttpRequest is already shut down. Returning.")
            return
        await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session, slots, lean = self._session, self._slots, self._lean
        if session is None or session.closed or slots is None or lean is None:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        prepared = request_data if isinstance(request_data, FormBody) else None
        files = request_data.multipart_data if request_data and not prepared else None
        fields = request_data.json_parameters if request_data and not prepared else None
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = (
            self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        )
        pool = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
        if isinstance(write_timeout, DefaultValue):
            write = self._media_write_timeout if files else self._write_timeout
        else:
            write = write_timeout

        if not slots.take_now():  # a free slot is taken without yielding
            try:
                await slots.take(pool)
            except TimeoutError as err:
                raise TimedOut(message=POOL_TIMEOUT_MESSAGE) from err
        try:
            proxy = self._proxy or self._proxy_for(url)
            if not files and proxy is None:
                # A form this small is written at once: connect and read bound the exchange.
                body = prepared.body if prepared else urlencode(fields).encode() if fields else None
                return await lean.request(method, url, body, _FORM_TYPE if body else None,
                                          connect=connect, read=read)
            async with asyncio.timeout(_exchange_deadline(connect, write, read)):
                if prepared:
                    fields = prepared.json_parameters
                async with session.request(
                    method, url, data=_body(fields, files),
                    headers=None if files else _FORM if fields else None,
                    timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect,
                                                  sock_read=read),
                    proxy=proxy,
                ) as response:
                    return response.status, await response.read()
        except (TimeoutError, aiohttp.ServerTimeoutError) as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err
        except OSError as err:  # the keep-alive pool's connection failures
            raise NetworkError(f"{err.__class__.__name__}: {err}") from err
        finally:
            slots.give_back()


# Requests in flight at once for the bot's calls. A crowd's answers queue for a
# slot; a slot frees in about a round trip, so even thousands of waiting presses
# get theirs within seconds — and Telegram keeps a press answerable about 15 s,
# hence the pool timeout well above PTB's 1 s default.
CALLS_IN_FLIGHT = 256
CALLS_POOL_TIMEOUT = 10.0


def bot_requests(proxy: str | None = None) -> tuple[AiohttpRequest, AiohttpRequest]:
    """The standalone bot's two requests: Bot API calls, and ``getUpdates`` alone."""
    calls = AiohttpRequest(
        connection_pool_size=CALLS_IN_FLIGHT, pool_timeout=CALLS_POOL_TIMEOUT, proxy=proxy
    )
    # PTB adds the long-poll timeout to read_timeout for every getUpdates.
    updates = AiohttpRequest(connection_pool_size=1, proxy=proxy)
    return calls, updates


def _exchange_deadline(
    connect: float | None, write: float | None, read: float | None
) -> float | None:
    """The whole request's bound: only with a finite write timeout, as aiohttp has none."""
    if write is None or connect is None or read is None:
        return None
    return connect + write + read


def _body(fields: dict[str, str] | None, files: dict[str, Any] | None) -> Any:
    if not files:
        return urlencode(fields).encode() if fields else None
    form = aiohttp.FormData(quote_fields=False)
    for name, value in (fields or {}).items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form
