"""The one interface every MLLM backend implements: :class:`MultimodalModel`.

Chat messages with interleaved images and text go in (:mod:`lavr.core_model.messages`);
text comes out, optionally streamed, or a validated pydantic object
(:meth:`MultimodalModel.structured`). A backend subclasses the class and
implements one method, :meth:`MultimodalModel.complete`; streaming and batching
have working defaults it may override.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from pydantic import BaseModel

from lavr.core_model import deadline
from lavr.core_model.errors import LavrError, ModelError, ModelOutputError, log_recovered
from lavr.core_model.messages import Message, check_messages, count_images
from lavr.core_model.structured import (
    Attempt,
    Structured,
    default_reask,
    json_schema_of,
    parse_structured,
    schema_instructions,
)

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)
V = TypeVar("V")

#: Default cap on generated tokens when a caller gives none.
DEFAULT_MAX_NEW_TOKENS = 512


@dataclass(frozen=True)
class GenerationOptions:
    """How to generate one reply.

    Attributes:
        max_new_tokens: Upper bound on generated tokens.
        temperature: 0 means greedy decoding.
        stop: Strings that end the reply (not included in it).
        json_schema: When set, the caller wants one JSON object matching this
            schema; backends that can constrain output (OpenAI
            ``response_format``) do, the others stop once a JSON object is complete.
        schema_name: A short name for the schema (``response_format`` needs one).
        task: What the call is for (``plan``, ``decide``, ``refine``, ``vqa``...);
            used in logs and by scripted models to pick a reply.
    """

    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    json_schema: dict[str, Any] | None = None
    schema_name: str = "output"
    task: str = ""


@dataclass
class ModelStats:
    """Running totals for one model object (what evaluation reports).

    Attributes:
        calls: Conversations answered.
        images: Images sent to the model.
        seconds: Wall time spent generating.
        failures: Calls that raised.
    """

    calls: int = 0
    images: int = 0
    seconds: float = 0.0
    failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, *, calls: int = 0, images: int = 0, seconds: float = 0.0,
            failures: int = 0) -> None:
        with self._lock:
            self.calls += calls
            self.images += images
            self.seconds += seconds
            self.failures += failures


class MultimodalModel:
    """Base class of model backends.

    Subclasses set :attr:`name` and implement :meth:`complete`. Constructors
    must stay cheap: load weights or open connections on first use.

    Attributes:
        name: Short name shown in traces (``openai:gpt-4o``, ``gguf:gemma``...).
        sees_images: False for text-only models; images in their messages are
            replaced by a placeholder naming the image, so prompts must carry
            what the experts found instead.
        native_json_schema: Whether the backend can constrain output to a JSON
            schema itself (else the schema is put in the prompt and parsed).
        compact_prompts: Whether the model was trained on lavr's compact role prompts
            (``lavr-mllm``): the roles then send those instead of their full prompts.
        default_options: Options used where a call does not say otherwise.
    """

    name: str = "model"
    sees_images: bool = True
    native_json_schema: bool = False
    compact_prompts: bool = False

    def __init__(self, *, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
                 temperature: float = 0.0) -> None:
        self.default_options = GenerationOptions(max_new_tokens=max_new_tokens,
                                                 temperature=temperature)
        self.stats = ModelStats()

    # -- the one method a backend implements ------------------------------------------
    def complete(self, messages: list[Message], options: GenerationOptions) -> str:
        """Generate the assistant's reply to ``messages``.

        Args:
            messages: The conversation (already checked; images removed for
                text-only models).
            options: How to generate.

        Returns:
            The reply text (stop strings removed).

        Raises:
            ModelError: The backend failed (load error, server error...).
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement complete()")

    def complete_stream(self, messages: list[Message],
                        options: GenerationOptions) -> Iterator[str]:
        """Yield the reply in pieces; the default yields :meth:`complete` in one piece."""
        yield self.complete(messages, options)

    def complete_batch(self, conversations: list[list[Message]],
                       options: GenerationOptions) -> list[str]:
        """Replies to several conversations; the default answers them one by one."""
        return [self.complete(c, options) for c in conversations]

    # -- the public API -----------------------------------------------------------------
    def options(self, **overrides: Any) -> GenerationOptions:
        """:attr:`default_options` with ``overrides`` applied (None values ignored)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if "stop" in given:
            given["stop"] = tuple(given["stop"])
        return replace(self.default_options, **given)

    def prepare(self, messages: Sequence[Message]) -> list[Message]:
        """Check ``messages``; for text-only models replace images by placeholders."""
        msgs = check_messages(messages)
        if not self.sees_images and count_images(msgs):
            msgs = [m.without_images() for m in msgs]
        return msgs

    def generate(self, messages: Sequence[Message], **options: Any) -> str:
        """The reply to ``messages`` as text.

        Args:
            messages: The conversation.
            **options: :class:`GenerationOptions` fields (``max_new_tokens``,
                ``temperature``, ``stop``, ``json_schema``, ``task``...).

        Raises:
            InputError: Bad messages.
            DeadlineError: The run's deadline (:mod:`lavr.core_model.deadline`) has passed.
            ModelError: The backend failed.
        """
        msgs = self.prepare(messages)
        opts = self.options(**options)
        deadline.check()  # past the run's deadline no model is asked
        t0 = time.perf_counter()
        try:
            text = self.complete(msgs, opts)
        except Exception:
            self.stats.add(failures=1, seconds=time.perf_counter() - t0)
            raise
        seconds = time.perf_counter() - t0
        self.stats.add(calls=1, images=count_images(msgs), seconds=seconds)
        logger.debug("%s %s: %d chars in %.2fs", self.name, opts.task or "call", len(text),
                     seconds)
        return text

    def stream(self, messages: Sequence[Message], **options: Any) -> Iterator[str]:
        """The reply to ``messages`` in pieces as they are generated."""
        msgs = self.prepare(messages)
        opts = self.options(**options)
        deadline.check()
        t0 = time.perf_counter()
        try:
            yield from self.complete_stream(msgs, opts)
        except Exception:
            self.stats.add(failures=1, seconds=time.perf_counter() - t0)
            raise
        self.stats.add(calls=1, images=count_images(msgs), seconds=time.perf_counter() - t0)

    def generate_batch(self, conversations: Sequence[Sequence[Message]],
                       **options: Any) -> list[str]:
        """Replies to several conversations (batched where the backend can)."""
        convs = [self.prepare(c) for c in conversations]
        if not convs:
            return []
        opts = self.options(**options)
        deadline.check()
        t0 = time.perf_counter()
        try:
            out = self.complete_batch(convs, opts)
        except Exception:
            self.stats.add(failures=1, seconds=time.perf_counter() - t0)
            raise
        self.stats.add(calls=len(convs), images=sum(count_images(c) for c in convs),
                       seconds=time.perf_counter() - t0)
        return out

    def structured(self, messages: Sequence[Message], output: type[T] | Callable[[str], V], *,
                   retries: int = 1, instructions: bool | None = None,
                   reask: Callable[[list[str]], str] = default_reask, what: str = "reply",
                   usable: str = "usable", **options: Any) -> Structured[Any]:
        """Ask until a reply is usable, at most ``retries + 1`` times; every model role uses this.

        Args:
            messages: The conversation.
            output: A pydantic class (its JSON schema goes to the backend as
                ``json_schema``) or a function that turns the reply into the value and
                raises :class:`ModelOutputError` with the ``problems`` of an unusable
                one (it may check more than the form: a plan's tools, an answer's
                citations).
            retries: Re-asks after an unusable reply.
            instructions: Append the schema as prompt text (default: for a pydantic class).
            reask: The user turn sent after an unusable reply, from its problems.
            what: What is asked for, in the attempts' summaries (``plan``, ``answer``).
            usable: How a usable reply is called in the summaries.
            **options: Generation options (``task``, ``max_new_tokens``, ``json_schema``...).

        Returns:
            The value and the attempts (:class:`Structured`); it never raises for an
            unusable reply or a failing model (``failure``): the caller decides, and
            :meth:`Structured.unwrap` raises.
        """
        msgs = list(messages)
        if isinstance(output, type) and issubclass(output, BaseModel):
            model_type = output
            parse: Callable[[str], Any] = lambda raw: parse_structured(raw, model_type)  # noqa: E731
            options.setdefault("json_schema", json_schema_of(output))
            options.setdefault("schema_name", output.__name__)
            if instructions is not False:
                msgs.append(Message.user(schema_instructions(output)))
        else:
            parse = output
        total = max(int(retries), 0) + 1
        attempts: list[Attempt] = []
        problems: list[str] = []
        raw = ""

        def note(i: int, t0: float, error: str | None, reply: str = "") -> None:
            verdict = usable if error is None else "rejected"
            attempts.append(Attempt(i, total, f"{self.name} {what} attempt {i}/{total}: {verdict}",
                                    time.perf_counter() - t0, reply[:1000], error))

        for i in range(1, total + 1):
            t0 = time.perf_counter()
            try:
                raw = self.generate(msgs, **options)
            except Exception as exc:  # noqa: BLE001 - a backend bug must not end the run
                failure = exc if isinstance(exc, LavrError) else ModelError(
                    f"{self.name} crashed: {type(exc).__name__}: {exc}")
                if not isinstance(exc, LavrError):
                    log_recovered(logger, exc, "%s crashed while asked for a %s", self.name, what)
                error = f"model {'failed' if isinstance(exc, LavrError) else 'crashed'}: {exc}"
                note(i, t0, error)
                return Structured(None, tuple(attempts), False, (error,), raw, failure)
            try:
                value = parse(raw)
            except ModelOutputError as exc:
                problems = list(exc.problems)
                note(i, t0, "; ".join(problems), raw)
                logger.info("%s %s attempt %d/%d rejected: %s", self.name, what, i, total, problems)
                msgs = msgs + [Message.assistant(raw), Message.user(reask(problems))]
                continue
            note(i, t0, None, raw)
            return Structured(value, tuple(attempts), True, (), raw)
        return Structured(None, tuple(attempts), False, tuple(problems), raw)

    def close(self) -> None:
        """Release connections or memory (no-op by default)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to the first stop string (the stop string removed)."""
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if i != -1:
                cut = min(cut, i)
    return text[:cut]


def stream_until_stop(pieces: Iterator[str], stop: Sequence[str]) -> Iterator[str]:
    """Re-yield streamed ``pieces``, ending before the first stop string.

    Text that could be the start of a stop string is held back until it is
    known not to be one, so a stop string split across pieces is still caught.
    """
    stops = [s for s in stop if s]
    if not stops:
        yield from pieces
        return
    hold = max(len(s) for s in stops) - 1
    buf = ""
    for piece in pieces:
        buf += piece
        cut = cut_at_stop(buf, stops)
        if len(cut) < len(buf):
            if cut:
                yield cut
            return
        safe = len(buf) - hold
        if safe > 0:
            yield buf[:safe]
            buf = buf[safe:]
    if buf:
        yield buf
