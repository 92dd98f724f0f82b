"""The OpenAI-compatible backend: any server that speaks ``POST /chat/completions``.

vLLM, SGLang, Ollama, llama.cpp's ``llama-server``, LM Studio, TGI and the
OpenAI API itself. Images travel as base64 ``data:`` URLs in ``image_url``
parts. Structured output uses ``response_format`` with a JSON schema where the
server accepts it; a server that refuses it is remembered and asked in the
prompt instead (the reply is parsed either way). Timeouts, connection errors,
429 and 5xx are retried a bounded number of times with exponential backoff;
other errors fail at once with the server's own message.

Time is bounded in total, not per read: ``timeout`` is the most one HTTP attempt
may take from sending to the last byte of the reply (a server trickling a byte every
half second cannot stretch it), ``deadline`` the most one reply may take with every
retry and wait, and both end earlier when the run's deadline
(:mod:`lavr.core_model.deadline`) comes first. A ``Retry-After`` longer than what is
left is not waited for. An attempt runs in a worker thread that is told to stop, and
its connection dropped, when its time is up.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from lavr.core_model import deadline
from lavr.core_model.errors import ModelConfigError, ModelServerError, ModelTimeoutError
from lavr.core_model.messages import ImagePart, Message, TextPart
from lavr.core_model.model import (
    DEFAULT_MAX_NEW_TOKENS,
    GenerationOptions,
    MultimodalModel,
    cut_at_stop,
    stream_until_stop,
)

logger = logging.getLogger(__name__)

#: Environment variables read for the API key, in order.
API_KEY_ENV = ("LAVR_OPENAI_API_KEY", "OPENAI_API_KEY")
#: Environment variables read for the base URL when none is given, in order.
BASE_URL_ENV = ("LAVR_OPENAI_BASE_URL", "OPENAI_BASE_URL")
DEFAULT_BASE_URL = "https://api.openai.com/v1"
#: Extra base URLs (comma-separated) the operator allows to receive the key from the environment.
KEY_URLS_ENV = "LAVR_OPENAI_KEY_URLS"
#: HTTP statuses worth another attempt.
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
STRUCTURED_MODES = ("auto", "json_schema", "json_object", "prompt")
#: Longest wait honoured from a ``Retry-After`` header, in seconds.
MAX_RETRY_AFTER = 30.0
#: Largest reply body read, in bytes.
MAX_REPLY_BYTES = 8 * 1024 * 1024
#: Default for the ``deadline`` option: the most one reply may take, retries included.
DEFAULT_CALL_DEADLINE = 300.0


def default_base_url() -> str:
    """``$LAVR_OPENAI_BASE_URL``, ``$OPENAI_BASE_URL`` or the OpenAI API."""
    for var in BASE_URL_ENV:
        value = os.environ.get(var, "").strip()
        if value:
            return value
    return DEFAULT_BASE_URL


def _origin(url: str) -> str:
    """``scheme://host:port`` of ``url``, lower-cased, default ports made explicit."""
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
    except ValueError:  # a malformed port: matches nothing
        return ""
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def key_urls() -> list[str]:
    """Base URLs the operator configured, the only ones the key from the environment goes to.

    The base URL from ``$LAVR_OPENAI_BASE_URL`` / ``$OPENAI_BASE_URL`` (or the
    OpenAI API when neither is set) and every URL listed in ``$LAVR_OPENAI_KEY_URLS``.
    """
    urls = [default_base_url()]
    urls += [u.strip() for u in os.environ.get(KEY_URLS_ENV, "").split(",") if u.strip()]
    return urls


def env_api_key(base_url: str, names: Sequence[str] = API_KEY_ENV) -> str | None:
    """The first set variable of ``names``, if ``base_url`` may receive it (else None).

    A key from the environment belongs to the server the operator configured
    (:func:`key_urls`), never to whatever URL a model string names: a model
    string can come from a less trusted place (a config shared around, a web
    form) and must not be able to send the key elsewhere.
    """
    for var in names:
        value = os.environ.get(var, "").strip()
        if not value:
            continue
        if _origin(base_url) in {_origin(u) for u in key_urls()}:
            return value
        logger.warning("not sending $%s to %s: the key from the environment goes only to "
                       "$LAVR_OPENAI_BASE_URL (or the OpenAI API) and the URLs in $%s",
                       var, base_url, KEY_URLS_ENV)
        return None
    return None


def image_data_url(image: np.ndarray, *, max_side: int = 1024, fmt: str = "png",
                   quality: int = 90) -> str:
    """``HxWx3 uint8 RGB`` pixels as a ``data:image/...;base64,`` URL.

    The longer side is capped at ``max_side`` pixels (aspect ratio kept).
    """
    from PIL import Image

    pil = Image.fromarray(image)
    if max(pil.size) > max_side:
        scale = max_side / max(pil.size)
        pil = pil.resize((max(1, round(pil.width * scale)), max(1, round(pil.height * scale))),
                         Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    fmt = fmt.lower()
    if fmt in ("jpg", "jpeg"):
        pil.save(buf, format="JPEG", quality=quality)
        mime = "image/jpeg"
    else:
        pil.save(buf, format="PNG")
        mime = "image/png"
    return f"data:{mime};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


class _TimeUp(Exception):
    """Raised inside an attempt's worker when its time is up or it was cancelled."""


def _safe_text(resp: Any) -> str:
    """A reply body as text, whatever its encoding ("" when it cannot be read)."""
    try:
        return str(resp.text)
    except Exception:  # noqa: BLE001 - a body that cannot be decoded is shown as empty
        return ""


def _error_detail(body: Any, text: str) -> str:
    """The server's error message from an error body (OpenAI style or plain)."""
    if isinstance(body, dict):
        err = body.get("error", body.get("detail", body.get("message")))
        if isinstance(err, dict):
            return str(err.get("message") or err)
        if err:
            return str(err)
    return (text or "").strip()[:300] or "no error message"


class OpenAICompatibleModel(MultimodalModel):
    """A model behind an OpenAI-compatible ``/chat/completions`` endpoint.

    Args:
        model: The server's model name (``gpt-4o-mini``, ``Qwen/Qwen2.5-VL-7B-Instruct``...).
        base_url: Endpoint root ending in ``/v1`` (default: ``$LAVR_OPENAI_BASE_URL``,
            ``$OPENAI_BASE_URL`` or the OpenAI API).
        api_key: The key. Local servers need none. Without it, the first set
            variable of ``api_key_env`` is read once, here, and only when the base
            URL is one the operator configured (see :func:`env_api_key`).
        api_key_env: Environment variables tried for the key, in order.
        timeout: Most seconds one attempt may take in total, from sending the request to
            the last byte of the reply (not a per-read timeout).
        deadline: Most seconds one reply may take, every retry and wait included.
        max_retries: Extra attempts after a timeout, connection error, 429 or 5xx.
        backoff: First retry waits this many seconds; each later one twice as long.
        max_backoff: Longest wait between attempts.
        structured: ``auto`` (JSON schema ``response_format``, falling back to the
            prompt if refused), ``json_schema``, ``json_object`` or ``prompt``.
        sees_images: False for text-only models behind the server.
        max_image_side: Longer-side cap for images sent, in pixels.
        image_format: ``png`` (lossless) or ``jpeg`` (smaller).
        max_new_tokens: Default reply length (``max_tokens``).
        temperature: Default sampling temperature.
        extra_body: Extra JSON fields for every request (server-specific options).
        name: Shown in traces (default ``openai:<model>``).
        sleep: Called to wait between attempts (tests pass a recorder).
        transport: An ``httpx`` transport (tests and proxies).
    """

    def __init__(self, model: str, base_url: str | None = None, *, api_key: str | None = None,
                 api_key_env: Sequence[str] = API_KEY_ENV, timeout: float = 120.0,
                 deadline: float = DEFAULT_CALL_DEADLINE,
                 max_retries: int = 2, backoff: float = 0.5, max_backoff: float = 8.0,
                 structured: str = "auto", sees_images: bool = True,
                 max_image_side: int = 1024, image_format: str = "png",
                 max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS, temperature: float = 0.0,
                 extra_body: dict[str, Any] | None = None, name: str | None = None,
                 sleep: Callable[[float], None] = time.sleep, transport: Any = None) -> None:
        super().__init__(max_new_tokens=max_new_tokens, temperature=temperature)
        if not model:
            raise ModelConfigError("openai:", "no model name given (openai:<model>@<base_url>)")
        if structured not in STRUCTURED_MODES:
            raise ModelConfigError(model, f"structured must be one of {STRUCTURED_MODES}, "
                                   f"got {structured!r}")
        if timeout <= 0 or deadline <= 0 or max_retries < 0:
            raise ModelConfigError(model, "timeout and deadline must be > 0 and max_retries "
                                   ">= 0")
        base = (base_url or default_base_url()).rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ModelConfigError(model, f"base URL must start with http:// or https://, "
                                   f"got {base!r}")
        self.model = model
        self._base_url = base
        self.api_key_env = tuple(api_key_env)
        # bound now, to this URL: never looked up again for another one
        self._api_key = api_key or env_api_key(base, self.api_key_env)
        self.timeout = float(timeout)
        self.deadline = float(deadline)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.structured_mode = structured
        self.native_json_schema = structured in ("auto", "json_schema")
        self.sees_images = sees_images
        self.max_image_side = int(max_image_side)
        self.image_format = image_format
        self.extra_body = dict(extra_body or {})
        self.name = name or f"openai:{model}"
        self._sleep = sleep
        self._transport = transport
        self._client: Any = None
        self._lock = threading.Lock()

    # -- request building ---------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The endpoint root (fixed when the model is made: the key is bound to it)."""
        return self._base_url

    @property
    def url(self) -> str:
        """The ``/chat/completions`` URL every request goes to."""
        return self._base_url + "/chat/completions"

    @property
    def api_key(self) -> str | None:
        """The key sent to :attr:`base_url` (bound when the model was made), or None."""
        return self._api_key

    def _content(self, message: Message) -> str | list[dict[str, Any]]:
        if not message.images:
            return message.text
        parts: list[dict[str, Any]] = []
        for p in message.parts:
            if isinstance(p, TextPart):
                parts.append({"type": "text", "text": p.text})
            elif isinstance(p, ImagePart):
                url = image_data_url(p.image, max_side=self.max_image_side, fmt=self.image_format)
                parts.append({"type": "image_url", "image_url": {"url": url}})
        return parts

    def payload(self, messages: Sequence[Message], options: GenerationOptions, *,
                stream: bool = False) -> dict[str, Any]:
        """The JSON body sent for ``messages`` (exposed for inspection and tests)."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": self._content(m)} for m in messages],
            "max_tokens": options.max_new_tokens,
            "temperature": options.temperature,
        }
        if options.stop:
            body["stop"] = list(options.stop)[:4]  # the API accepts at most four
        if options.json_schema is not None and self.structured_mode != "prompt":
            if self.structured_mode == "json_object":
                body["response_format"] = {"type": "json_object"}
            else:
                body["response_format"] = {"type": "json_schema", "json_schema": {
                    "name": options.schema_name or "output", "schema": options.json_schema,
                    "strict": False}}
        if stream:
            body["stream"] = True
        body.update(self.extra_body)
        return body

    # -- HTTP ---------------------------------------------------------------------------
    def _http(self) -> Any:
        import httpx

        with self._lock:
            if self._client is None:
                headers = {"Content-Type": "application/json"}
                key = self.api_key
                if key:
                    headers["Authorization"] = f"Bearer {key}"
                self._client = httpx.Client(
                    timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
                    headers=headers, transport=self._transport)
            return self._client

    def _drop_client(self, client: Any) -> None:
        """Close ``client`` (abandoned by a timed-out attempt) so its sockets stop reading."""
        with self._lock:
            if self._client is client:
                self._client = None
        with contextlib.suppress(Exception):
            client.close()

    def _wait(self, attempt: int, retry_after: str | None) -> bool:
        """Wait before the next attempt; False when the wait would pass the deadline."""
        delay = min(self.backoff * (2 ** attempt), self.max_backoff)
        if retry_after:
            try:
                asked = float(retry_after)
            except ValueError:
                asked = 0.0
            if asked == asked:  # not NaN
                delay = min(max(asked, delay), MAX_RETRY_AFTER)
        left = deadline.remaining()
        if left is not None and delay >= left:
            return False
        if delay > 0:
            self._sleep(delay)
        return True

    def _attempt(self, client: Any, body: dict[str, Any], *, stream: bool) -> Any:
        """One POST that takes at most ``min(timeout, time left)`` seconds in total.

        The request runs in a worker thread. Without ``stream`` the whole body is read
        there (at most :data:`MAX_REPLY_BYTES`), checking the clock after every chunk;
        with ``stream`` only the headers are (the caller reads the body with
        :meth:`_chunks`). When time is up the caller gets ``ModelTimeoutError`` at
        once; the worker is told to stop and its connection is closed.
        """
        import httpx

        limit = deadline.budget(self.timeout)
        if limit <= 0:
            raise ModelTimeoutError(self.url, None, "no time left before the deadline",
                                    retryable=False)
        end = time.monotonic() + limit
        cancel = threading.Event()
        box: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            resp = None
            try:
                request = client.build_request(
                    "POST", self.url, json=body,
                    timeout=httpx.Timeout(limit, connect=min(limit, 10.0)))
                resp = client.send(request, stream=True)
                box["resp"] = resp
                if not stream or resp.status_code >= 400:
                    data = bytearray()
                    for chunk in resp.iter_bytes():
                        if cancel.is_set() or time.monotonic() > end:
                            raise _TimeUp
                        data += chunk
                        if len(data) > MAX_REPLY_BYTES:
                            raise ModelServerError(self.url, resp.status_code, "reply larger "
                                                   f"than {MAX_REPLY_BYTES} bytes")
                    resp.close()
                    box["resp"] = httpx.Response(resp.status_code, headers=resp.headers,
                                                 content=bytes(data), request=resp.request)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                box["error"] = exc
                if resp is not None:
                    with contextlib.suppress(Exception):
                        resp.close()
            finally:
                done.set()

        worker = threading.Thread(target=work, name="lavr-http", daemon=True)
        worker.start()
        if not deadline.wait(done, until=end + 0.05):  # also ends at once on a cancel
            cancel.set()
            resp = box.get("resp")
            if resp is not None:
                with contextlib.suppress(Exception):
                    resp.close()
            self._drop_client(client)
            run = deadline.current()
            if run is not None and run.cancelled():
                raise run.error()  # stopped on purpose: no retry; the connection is closed
            raise ModelTimeoutError(self.url, None, f"no reply within {limit:.3g} s",
                                    retryable=True)
        error = box.get("error")
        if isinstance(error, _TimeUp) or isinstance(error, httpx.TimeoutException):
            raise ModelTimeoutError(self.url, None, f"no reply within {limit:.3g} s "
                                    f"({type(error).__name__})", retryable=True) from error
        if error is not None:
            raise error
        return box["resp"]

    def _send(self, body: dict[str, Any], *, stream: bool = False) -> Any:
        """POST ``body`` with retries; returns the ``httpx.Response`` of a 2xx reply.

        With ``stream`` the response body is left unread (the caller closes it). All
        attempts and waits end by ``deadline`` seconds (or the run's deadline).

        Raises:
            ModelServerError: Refused, unreachable, or no usable reply in time
                (``ModelTimeoutError``).
        """
        import httpx

        last: ModelServerError | None = None
        with deadline.deadline_scope(self.deadline, "the model call"):
            for attempt in range(self.max_retries + 1):
                retry_after = None
                try:
                    resp = self._attempt(self._http(), body, stream=stream)
                except ModelServerError as exc:
                    last = exc
                except httpx.TransportError as exc:
                    last = ModelServerError(self.url, None, f"cannot connect: {exc}",
                                            retryable=True)
                except (httpx.HTTPError, httpx.StreamError, ValueError) as exc:
                    last = ModelServerError(self.url, None, f"broken reply: {exc}",
                                            retryable=True)
                else:
                    if resp.status_code < 400:
                        return resp
                    try:
                        err_body: Any = resp.json()
                    except (ValueError, UnicodeDecodeError):
                        err_body = None
                    detail = _error_detail(err_body, _safe_text(resp))
                    last = ModelServerError(self.url, resp.status_code, detail,
                                            retryable=resp.status_code in RETRY_STATUSES)
                    retry_after = resp.headers.get("retry-after")
                if not last.retryable or attempt == self.max_retries:
                    break
                if not self._wait(attempt, retry_after):
                    last.args = (f"{last} (no time left to retry before the deadline)",)
                    last.retryable = True
                    raise last
                logger.warning("%s: %s; retrying (%d/%d)", self.name, last, attempt + 1,
                               self.max_retries)
        if last is not None and last.retryable and self.max_retries:
            last.args = (f"{last} (gave up after {self.max_retries + 1} attempts)",)
        raise last if last is not None else ModelServerError(self.url, None, "no attempt made")

    def _refuses_response_format(self, exc: ModelServerError) -> bool:
        detail = exc.detail.lower()
        return exc.status in (400, 422) and any(
            w in detail for w in ("response_format", "json_schema", "response format",
                                  "structured", "guided"))

    def _post(self, messages: Sequence[Message], options: GenerationOptions, *,
              stream: bool = False) -> Any:
        body = self.payload(messages, options, stream=stream)
        try:
            return self._send(body, stream=stream)
        except ModelServerError as exc:
            if "response_format" in body and self.structured_mode == "auto" \
                    and self._refuses_response_format(exc):
                logger.info("%s refuses response_format (%s); asking in the prompt from now on",
                            self.name, exc.detail)
                self.structured_mode = "prompt"
                self.native_json_schema = False
                body.pop("response_format")
                return self._send(body, stream=stream)
            raise

    def _parse(self, resp: Any) -> str:
        try:
            data = resp.json()
        except ValueError as exc:
            raise ModelServerError(self.url, resp.status_code,
                                   f"reply is not JSON: {_safe_text(resp)[:200]!r}",
                                   retryable=True) from exc
        try:
            choice = data["choices"][0]
            content = choice["message"].get("content")
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ModelServerError(self.url, resp.status_code,
                                   f"reply has no choices[0].message: {str(data)[:200]}") from exc
        if content is None:
            refusal = choice["message"].get("refusal")
            if refusal:
                raise ModelServerError(self.url, resp.status_code, f"model refused: {refusal}")
            content = ""
        if isinstance(content, list):  # some servers return content parts
            content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        return str(content)

    # -- MultimodalModel ----------------------------------------------------------------
    def complete(self, messages: list[Message], options: GenerationOptions) -> str:
        last: ModelServerError | None = None
        with deadline.deadline_scope(self.deadline, "the model call"):
            for attempt in range(self.max_retries + 1):
                resp = self._post(messages, options)
                try:
                    return cut_at_stop(self._parse(resp), options.stop).strip()
                except ModelServerError as exc:  # a garbled 200 reply: worth another try
                    last = exc
                    if attempt == self.max_retries or not self._wait(attempt, None):
                        break
                    logger.warning("%s: %s; retrying", self.name, exc)
        raise last if last is not None else ModelServerError(self.url, None, "no reply")

    def complete_stream(self, messages: list[Message],
                        options: GenerationOptions) -> Iterator[str]:
        yield from stream_until_stop(self._stream_pieces(messages, options), options.stop)

    def _stream_pieces(self, messages: list[Message],
                       options: GenerationOptions) -> Iterator[str]:
        import httpx

        end = time.monotonic() + deadline.budget(self.deadline)
        resp = self._post(messages, options, stream=True)
        try:
            if "text/event-stream" not in resp.headers.get("content-type", ""):
                body = b"".join(self._chunks(resp, end))  # the server ignored stream=True
                yield self._parse(httpx.Response(resp.status_code, headers=resp.headers,
                                                 content=body, request=resp.request))
                return
            for line in self._lines(resp, end):
                line = line.strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                try:
                    chunk = json.loads(data)
                    delta = chunk["choices"][0].get("delta", {}).get("content")
                except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
                    raise ModelServerError(self.url, resp.status_code,
                                           f"bad stream chunk: {data[:200]!r}") from exc
                if delta:
                    yield delta
        except httpx.TimeoutException as exc:
            raise ModelTimeoutError(self.url, None, f"stream stalled for {self.timeout:g} s "
                                    f"({type(exc).__name__})") from exc
        except (httpx.TransportError, httpx.StreamError) as exc:
            raise ModelServerError(self.url, None, f"stream broken: {exc}") from exc
        finally:
            resp.close()

    def _chunks(self, resp: Any, end: float) -> Iterator[bytes]:
        """A streamed body's bytes, stopping with ``ModelTimeoutError`` at monotonic ``end``."""
        size = 0
        for chunk in resp.iter_bytes():
            if time.monotonic() > end or deadline.expired():
                raise ModelTimeoutError(self.url, None, "the streamed reply did not finish "
                                        "before the deadline")
            size += len(chunk)
            if size > MAX_REPLY_BYTES:
                raise ModelServerError(self.url, resp.status_code,
                                       f"reply larger than {MAX_REPLY_BYTES} bytes")
            yield chunk

    def _lines(self, resp: Any, end: float) -> Iterator[str]:
        """A streamed body's lines (UTF-8, bad bytes replaced), with :meth:`_chunks`' limits."""
        buf = b""
        for chunk in self._chunks(resp, end):
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                yield line.decode("utf-8", "replace")
        if buf:
            yield buf.decode("utf-8", "replace")

    def close(self) -> None:
        """Close the HTTP connection pool."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
