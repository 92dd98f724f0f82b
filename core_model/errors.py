"""Error hierarchy for the model layer; every lavr error derives from :class:`LavrError`."""

from __future__ import annotations


class LavrError(Exception):
    """Base class of every error lavr raises on purpose.

    The CLI turns a ``LavrError`` into a one-line message and exit code 2.
    """


class InputError(LavrError, ValueError):
    """The user gave input lavr cannot use (bad image, empty question, ...)."""


class ImageError(InputError):
    """An image could not be read or is outside the accepted limits.

    Attributes:
        source: What the user passed (path or a short description).
        reason: Why it was refused.
    """

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class WeightsNotFoundError(LavrError, FileNotFoundError):
    """Model weights are not on this machine and could not be downloaded.

    Attributes:
        filename: The weights file that was looked for.
        searched: The places that were searched, in order.
        hint: How to get the file.
    """

    def __init__(self, filename: str, searched: list[str], hint: str = "") -> None:
        self.filename = filename
        self.searched = list(searched)
        self.hint = hint
        where = ", ".join(self.searched) if self.searched else "nowhere"
        msg = f"weights '{filename}' not found (looked in: {where})"
        if hint:
            msg += f". {hint}"
        super().__init__(msg)


class ModelError(LavrError):
    """A model backend failed (load error, bad output, unreachable server)."""
