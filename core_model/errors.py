"""Error hierarchy for the model layer; every lavr error derives from :class:`LavrError`."""

from __future__ import annotations

import logging


class LavrError(Exception):
    """Base class of every error lavr raises on purpose.

    The CLI turns a ``LavrError`` into a one-line message: exit code 3 for an
    :class:`UnavailableError` (a backend, device or expert that is not there),
    2 for everything else (bad input or settings).
    """


class UnavailableError(LavrError):
    """Something lavr needs is not available here: a device, an expert, a model server.

    A mixin-style base: the CLI exits 3 for these (2 is for bad input).
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


class SettingsError(InputError):
    """A setting has a value lavr cannot use (checked before the run starts).

    Attributes:
        name: The setting (``device``, ``max_steps``, ``sessions``...).
        value: The value given.
        reason: What is wrong and what would work.
    """

    def __init__(self, name: str, value: object, reason: str) -> None:
        self.name = name
        self.value = value
        self.reason = reason
        shown = repr(value) if not isinstance(value, str) or len(value) <= 120 \
            else repr(value[:120] + "...")
        super().__init__(f"{name}={shown}: {reason}")


class DeviceUnavailableError(SettingsError, UnavailableError):
    """A well-formed device that this machine does not have (``cuda`` without CUDA)."""


class WeightsNotFoundError(UnavailableError, FileNotFoundError):
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


class DeadlineError(ModelError):
    """A run or a model call reached its deadline (the run falls back to the rules).

    Attributes:
        what: What ran out of time (``the run``, ``model call``...).
        seconds: The deadline that was reached, in seconds.
    """

    def __init__(self, what: str, seconds: float) -> None:
        self.what = what
        self.seconds = seconds
        super().__init__(f"{what} reached its deadline of {seconds:g} s")


class RunStoppedError(DeadlineError):
    """A run was stopped on purpose (Stop in the demo, a closed stream) before it finished.

    Attributes:
        what: What was stopped (``the run``).
        seconds: The deadline that was in force, in seconds (``inf`` when none).
    """

    def __init__(self, what: str, seconds: float) -> None:
        super().__init__(what, seconds)
        self.args = (f"{what} was stopped",)


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

    @property
    def unavailable(self) -> bool:
        """Whether the server is unreachable or overloaded (not a refusal of the request)."""
        return self.status is None or self.retryable


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


def log_recovered(logger: logging.Logger, exc: BaseException, msg: str, *args: object) -> None:
    """Log a failure the run recovers from: one WARNING line, the traceback only at DEBUG.

    Args:
        logger: The caller's logger.
        exc: The exception that was handled.
        msg: ``%``-style message (what failed and what happens instead).
        *args: Arguments for ``msg``.
    """
    detail = " ".join(f"{type(exc).__name__}: {exc}".split())
    if len(detail) > 300:
        detail = detail[:297] + "..."
    logger.warning(msg + " (%s)", *args, detail)
    logger.debug("traceback of the recovered failure", exc_info=exc)


class TrainingError(LavrError):
    """``lavr train`` cannot start or continue (bad data, unknown base model, no disk space).

    Attributes:
        what: The file, folder or model concerned.
        reason: Why.
    """

    def __init__(self, what: str, reason: str) -> None:
        self.what = what
        self.reason = reason
        super().__init__(f"{what}: {reason}")
