"""Chat messages with interleaved images and text: what every model backend reads.

A :class:`Message` has a role and an ordered tuple of parts; each part is a
:class:`TextPart` or an :class:`ImagePart` (``HxWx3 uint8 RGB`` pixels).
Backends translate them to their own wire format (a chat template, an
OpenAI ``content`` list, ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from lavr.core_model.errors import InputError

Role = Literal["system", "user", "assistant"]
ROLES: tuple[str, ...] = ("system", "user", "assistant")


@dataclass(frozen=True)
class TextPart:
    """A piece of text in a message."""

    text: str


@dataclass(frozen=True, eq=False)
class ImagePart:
    """An image in a message.

    Attributes:
        image: ``HxWx3 uint8 RGB`` pixels.
        label: Optional words that name the image for text-only models
            (``"the image"``, ``"crop of s2"``).
    """

    image: np.ndarray
    label: str = "image"

    def __post_init__(self) -> None:
        img = self.image
        if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3 \
                or img.dtype != np.uint8:
            got = (f"array shape={img.shape} dtype={img.dtype}" if isinstance(img, np.ndarray)
                   else type(img).__name__)
            raise InputError(f"an image part must be an HxWx3 uint8 RGB array, got {got}")

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])


Part = TextPart | ImagePart


@dataclass(frozen=True)
class Message:
    """One chat turn.

    Attributes:
        role: ``system``, ``user`` or ``assistant``.
        parts: Text and image parts in order.
    """

    role: Role
    parts: tuple[Part, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise InputError(f"message role must be one of {ROLES}, got {self.role!r}")
        for p in self.parts:
            if not isinstance(p, (TextPart, ImagePart)):
                raise InputError(f"message parts must be TextPart or ImagePart, "
                                 f"got {type(p).__name__}")

    @classmethod
    def make(cls, role: Role, *content: str | np.ndarray | Part) -> Message:
        """A message from strings, ``HxWx3 uint8`` arrays and parts, in order."""
        parts: list[Part] = []
        for c in content:
            if isinstance(c, (TextPart, ImagePart)):
                parts.append(c)
            elif isinstance(c, str):
                parts.append(TextPart(c))
            elif isinstance(c, np.ndarray):
                parts.append(ImagePart(c))
            else:
                raise InputError(f"message content must be text or an image array, "
                                 f"got {type(c).__name__}")
        return cls(role, tuple(parts))

    @classmethod
    def system(cls, text: str) -> Message:
        """A system message."""
        return cls.make("system", text)

    @classmethod
    def user(cls, *content: str | np.ndarray | Part) -> Message:
        """A user message of text and images in order."""
        return cls.make("user", *content)

    @classmethod
    def assistant(cls, text: str) -> Message:
        """An assistant message (a reply, or a few-shot example of one)."""
        return cls.make("assistant", text)

    @property
    def text(self) -> str:
        """The text parts joined by blank lines (images left out)."""
        return "\n\n".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def images(self) -> list[np.ndarray]:
        """The image parts' pixels, in order."""
        return [p.image for p in self.parts if isinstance(p, ImagePart)]

    def without_images(self, placeholder: str | None = "[{label}: not shown]") -> Message:
        """The message with images replaced by a text placeholder (or dropped when None)."""
        parts: list[Part] = []
        for p in self.parts:
            if isinstance(p, ImagePart):
                if placeholder is not None:
                    parts.append(TextPart(placeholder.format(label=p.label)))
            else:
                parts.append(p)
        return Message(self.role, tuple(parts))


def count_images(messages: Iterable[Message]) -> int:
    """How many images the messages carry."""
    return sum(len(m.images) for m in messages)


def check_messages(messages: Sequence[Message]) -> list[Message]:
    """Validate a conversation and return it as a list.

    Raises:
        InputError: Empty, not :class:`Message` objects, or no user turn.
    """
    msgs = list(messages)
    if not msgs:
        raise InputError("a model call needs at least one message")
    for m in msgs:
        if not isinstance(m, Message):
            raise InputError(f"expected Message objects, got {type(m).__name__}")
    if not any(m.role == "user" for m in msgs):
        raise InputError("a model call needs at least one user message")
    return msgs
