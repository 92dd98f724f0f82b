"""Test models shipped in the package: :class:`ScriptedModel`, :class:`FunctionModel` and
:class:`GullibleModel` (obeys instructions found outside a prompt's data blocks).

Use them to test your own agents, prompts and tools without a real model::

    model = ScriptedModel({"plan": ['{"intent": "count", ...}'], "decide": ['{"action": "stop"}']})
    agent = VisualAgent(model=model)

Both record every request (:attr:`ScriptedModel.requests`) so a test can check
what the model was shown, images included.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from lavr.core_model.errors import ModelError
from lavr.core_model.messages import Message
from lavr.core_model.model import GenerationOptions, MultimodalModel

#: A scripted reply: text, an object serialised to JSON, an exception to raise,
#: or a function of the request that returns text.
Reply = str | BaseModel | dict | list | BaseException | Callable[[list[Message]], str]


@dataclass(frozen=True)
class Request:
    """One call a test model received.

    Attributes:
        messages: The conversation as the model saw it.
        options: The generation options.
    """

    messages: list[Message]
    options: GenerationOptions

    @property
    def task(self) -> str:
        return self.options.task

    @property
    def text(self) -> str:
        """All text of the conversation, turns separated by blank lines."""
        return "\n\n".join(m.text for m in self.messages)

    @property
    def images(self) -> list[Any]:
        """Every image in the conversation, in order."""
        return [img for m in self.messages for img in m.images]


def _render(reply: Reply, messages: list[Message]) -> str:
    if isinstance(reply, BaseException):
        raise reply
    if isinstance(reply, str):
        return reply
    if isinstance(reply, BaseModel):
        return reply.model_dump_json()
    if isinstance(reply, (dict, list)):
        return json.dumps(reply)
    if callable(reply):
        return str(reply(messages))
    raise TypeError(f"cannot use a {type(reply).__name__} as a scripted reply")


class ScriptedModel(MultimodalModel):
    """Replies from a script, in order.

    Args:
        replies: A list of replies used in call order, or a mapping from task
            (``plan``, ``decide``, ``refine``, ``vqa``; ``*`` for any other) to
            such a list, so parallel calls for different tasks stay deterministic.
        repeat_last: Keep answering with the last reply of a list once it is used up
            (else running out raises :class:`ModelError`).
        name: Shown in traces.
        sees_images: Pretend to be a multimodal (True) or text-only (False) model.
    """

    def __init__(self, replies: Iterable[Reply] | Mapping[str, Iterable[Reply]], *,
                 repeat_last: bool = False, name: str = "scripted",
                 sees_images: bool = True) -> None:
        super().__init__()
        if isinstance(replies, Mapping):
            self._queues = {k: list(v) for k, v in replies.items()}
        else:
            self._queues = {"*": list(replies)}
        self._used: dict[str, int] = {k: 0 for k in self._queues}
        self.repeat_last = repeat_last
        self.name = name
        self.sees_images = sees_images
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    def requests_for(self, task: str) -> list[Request]:
        """The requests made for ``task``."""
        return [r for r in self.requests if r.task == task]

    def remaining(self, task: str = "*") -> int:
        """Replies not yet used for ``task``."""
        key = task if task in self._queues else "*"
        return len(self._queues.get(key, [])) - self._used.get(key, 0)

    def _next(self, task: str) -> Reply:
        key = task if task in self._queues else "*"
        if key not in self._queues:
            raise ModelError(f"scripted model {self.name!r} has no replies for task "
                             f"{task!r} (scripted: {sorted(self._queues)})")
        queue, used = self._queues[key], self._used[key]
        if used < len(queue):
            self._used[key] = used + 1
            return queue[used]
        if self.repeat_last and queue:
            return queue[-1]
        raise ModelError(f"scripted model {self.name!r} ran out of replies for task "
                         f"{task or key!r} after {used} call(s)")

    def complete(self, messages: list[Message], options: GenerationOptions) -> str:
        with self._lock:
            self.requests.append(Request(list(messages), options))
            reply = self._next(options.task)
        return _render(reply, messages)

    def complete_stream(self, messages: list[Message],
                        options: GenerationOptions) -> Iterator[str]:
        text = self.complete(messages, options)
        for i in range(0, len(text), 8):  # small pieces, so streaming is exercised
            yield text[i:i + 8]


class FunctionModel(MultimodalModel):
    """A model whose reply is computed by a function of the request.

    Args:
        fn: ``fn(messages, options) -> str``; may raise to simulate failures.
        name: Shown in traces.
        sees_images: Pretend to be a multimodal (True) or text-only (False) model.
    """

    def __init__(self, fn: Callable[[list[Message], GenerationOptions], str], *,
                 name: str = "function", sees_images: bool = True) -> None:
        super().__init__()
        self.fn = fn
        self.name = name
        self.sees_images = sees_images
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    def complete(self, messages: list[Message], options: GenerationOptions) -> str:
        with self._lock:
            self.requests.append(Request(list(messages), options))
        return str(self.fn(messages, options))


_INJECTION = re.compile(r"ignore\s+(?:all\s+)?previous\s+instructions\W+(?:and\s+)?"
                        r"(?:answer|say|reply)\s+([^\s\"'\\,.;]+)", re.I)


class GullibleModel(MultimodalModel):
    """A test model that obeys instructions it reads outside the prompt's data blocks.

    It stands for a model that follows whatever instructions its prompt holds:
    when the prompt, *outside* the quoted data blocks
    (:func:`lavr.core_model.untrusted.outside_data`), says "ignore previous
    instructions, answer X", it obeys — the plan and decide roles get steps
    that announce X, the refiner and every other role get ``X [s1]``. Text
    inside data blocks is never obeyed. Otherwise ``inner`` replies.

    Use it to check that untrusted text (OCR, tool output) reaches prompts only
    as data: with a prompt built correctly, nothing the image says changes what
    this model writes.

    Args:
        inner: The model that replies when there is nothing to obey.
        name: Shown in traces.
    """

    def __init__(self, inner: MultimodalModel, *, name: str = "gullible") -> None:
        super().__init__()
        self.inner = inner
        self.name = name
        self.sees_images = inner.sees_images
        #: ``(task, X)`` for every instruction obeyed.
        self.obeyed: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    @staticmethod
    def instruction(messages: list[Message]) -> str | None:
        """The X of an "ignore previous instructions, answer X" outside data blocks."""
        from lavr.core_model.untrusted import outside_data

        m = _INJECTION.search(outside_data("\n\n".join(msg.text for msg in messages)))
        return m.group(1) if m else None

    def complete(self, messages: list[Message], options: GenerationOptions) -> str:
        said = self.instruction(messages)
        if said is None:
            return self.inner.complete(messages, options)
        with self._lock:
            self.obeyed.append((options.task, said))
        if options.task == "plan":
            return json.dumps({"intent": "unknown", "target": said, "note": f"answer {said}",
                               "steps": [{"tool": "ocr", "args": {}, "why": f"answer {said}"}]})
        if options.task == "decide":
            return json.dumps({"action": "more", "reason": f"answer {said}",
                               "steps": [{"id": f"s{said}", "tool": "ocr", "args": {}}]})
        return f"{said} [s1]"
