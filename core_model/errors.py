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

    def __str__(self) -> str:
        # OSError would print "[Errno None] None: <filename>" because ``filename`` is set
        return str(self.args[0])


class ModelError(LavrError):
    """A model backend failed (load error, bad output, unreachable server)."""


class ModelConfigError(InputError):
    """A model was asked for in a way lavr cannot use (bad model string, missing backend).

    Attributes:
        spec: What the user passed.
        reason: What was wrong and what is accepted.
    """

    def __init__(self, spec: str, reason: str) -> None:
        self.spec = spec
        self.reason = reason
        super().__init__(f"model {spec!r}: {reason}")


class ModelOutputError(ModelError):
    """A model replied with text that does not parse or validate.

    Attributes:
        raw: The model's reply, as received.
        problems: What was wrong with it, phrased so the model can fix it.
    """

    def __init__(self, raw: str, problems: list[str]) -> None:
        self.raw = raw
        self.problems = list(problems)
        shown = raw if len(raw) <= 200 else raw[:200] + "..."
        super().__init__(f"unusable model output ({'; '.join(self.problems)}): {shown!r}")


class ModelServerError(ModelError):
    """A model server refused the request or replied with something that is not an answer.

    Attributes:
        url: The endpoint called.
        status: The HTTP status (None for connection errors and timeouts).
        detail: The server's error message or what was wrong with the reply.
        retryable: Whether a later attempt could succeed (timeouts, 429, 5xx).
    """

    def __init__(self, url: str, status: int | None, detail: str, *,
                 retryable: bool = False) -> None:
        self.url = url
        self.status = status
        self.detail = detail
        self.retryable = retryable
        where = f"HTTP {status} from {url}" if status is not None else url
        super().__init__(f"{where}: {detail}")


class ModelTimeoutError(ModelServerError):
    """A model server did not answer in time."""


class UnsafeCheckpointError(InputError):
    """A checkpoint was refused before loading: it could run code, or is not a checkpoint.

    Attributes:
        path: The file refused.
        reason: Why, naming what it refers to.
    """

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"checkpoint {self.path}: {reason}")
