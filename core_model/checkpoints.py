"""Safety check for PyTorch checkpoints before a library unpickles them.

ultralytics loads ``.pt`` files with full unpickling (``torch.load(weights_only=False)``):
a crafted pickle runs any code it names. :func:`check_checkpoint` reads the pickle
inside the checkpoint's zip archive with an unpickler whose every global is an inert
stand-in, so nothing the file names is imported or called, and records which globals
the file refers to and which it would call. The file passes only when every call is
one a real checkpoint needs (tensor rebuilding, ``OrderedDict``, ``set`` ...) and
every other global is a class of an allowed module prefix (``torch.nn.modules.``,
``ultralytics.nn.``), which unpickling only allocates (``__new__``) and fills in.

Checkpoints that other libraries load with ``torch.load(weights_only=True)`` (the
segment-anything weights) use :func:`safe_torch_load` instead.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import threading
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lavr.core_model.errors import UnsafeCheckpointError

logger = logging.getLogger(__name__)

__all__ = ["CheckpointPolicy", "CheckpointReport", "ULTRALYTICS_POLICY", "check_checkpoint",
           "safe_torch_load"]

#: Largest pickle (uncompressed) read from an archive: real ones are a few hundred KB.
MAX_PICKLE_BYTES = 64 * 1024 * 1024

#: Functions and classes a real checkpoint calls while it is unpickled. Each only
#: builds a value from its arguments; none calls an argument or touches files.
_SAFE_CALLS = frozenset({
    "builtins.set", "builtins.frozenset", "builtins.slice", "builtins.complex",
    "builtins.bytearray", "builtins.range",
    "collections.OrderedDict",
    "_codecs.encode",
    "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3", "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state", "torch.Size", "torch.device",
    "torch.serialization._get_layout",
    "numpy.dtype", "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
    "datetime.datetime", "datetime.date", "datetime.timedelta",
    "pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath",
})

#: torch dtypes a checkpoint may name (tensor metadata).
_TORCH_DTYPES = frozenset({
    "float16", "float32", "float64", "bfloat16", "half", "float", "double", "uint8", "int8",
    "int16", "int32", "int64", "long", "int", "bool", "complex64", "complex128"})

#: Python 2 module names that protocol-2 pickles still use.
_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}


@dataclass(frozen=True)
class CheckpointPolicy:
    """What a checkpoint may refer to.

    Attributes:
        class_prefixes: Module prefixes of classes a checkpoint may instantiate
            (allocated with ``__new__`` and filled in; never called).
        calls: Exact ``module.name`` of functions and classes it may call.
    """

    class_prefixes: tuple[str, ...]
    calls: frozenset[str] = _SAFE_CALLS


#: What ultralytics checkpoints (YOLO, YOLO-World, YOLOE, SAM family) need.
ULTRALYTICS_POLICY = CheckpointPolicy(
    class_prefixes=("torch.nn.modules.", "torch.nn.parameter.", "ultralytics.nn.modules.",
                    "ultralytics.nn.tasks.", "ultralytics.models.sam.modules."))


@dataclass
class CheckpointReport:
    """What a checkpoint's pickle refers to.

    Attributes:
        path: The file checked.
        calls: ``module.name`` → how many times unpickling would call it.
        classes: ``module.name`` of classes it would allocate without calling.
        values: Other globals it refers to.
    """

    path: Path
    calls: Counter[str] = field(default_factory=Counter)
    classes: set[str] = field(default_factory=set)
    values: set[str] = field(default_factory=set)

    def problems(self, policy: CheckpointPolicy) -> list[str]:
        """Globals ``policy`` does not allow, each with how it would be used."""
        out = [f"calls {name}" for name in sorted(self.calls) if name not in policy.calls]
        out += [f"creates {name}" for name in sorted(self.classes - set(self.calls))
                if not name.startswith(policy.class_prefixes)]
        out += [f"refers to {name}" for name in sorted(self.values)
                if not _safe_value(name, policy)]
        return out


def _safe_value(name: str, policy: CheckpointPolicy) -> bool:
    if name in policy.calls or name.startswith(policy.class_prefixes):
        return True
    if name in ("numpy.ndarray", "torch.storage.UntypedStorage", "torch.storage.TypedStorage"):
        return True
    module, _, attr = name.rpartition(".")
    return module == "torch" and (attr.endswith("Storage") or attr in _TORCH_DTYPES)


class _Recorder:
    """Collects what a pickle refers to while :class:`_InertUnpickler` reads it."""

    def __init__(self) -> None:
        self.refs: set[str] = set()
        self.calls: Counter[str] = Counter()
        self.news: set[str] = set()

    def stand_in(self, name: str) -> type:
        """An inert class standing for global ``name``: calling or filling it does nothing."""
        rec = self

        class StandIn:
            def __new__(cls, *args: Any, **kwargs: Any) -> Any:
                rec.news.add(name)
                return object.__new__(cls)

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                rec.calls[name] += 1

            def __setstate__(self, state: Any) -> None:
                return None

            def __setitem__(self, key: Any, value: Any) -> None:
                return None

            def append(self, value: Any) -> None:
                return None

            def extend(self, values: Any) -> None:
                return None

            def add(self, value: Any) -> None:
                return None

        StandIn.__qualname__ = StandIn.__name__ = f"StandIn[{name}]"
        return StandIn


class _InertUnpickler(pickle.Unpickler):
    """Reads a pickle with every global replaced by an inert stand-in; imports nothing."""

    def __init__(self, data: bytes, recorder: _Recorder) -> None:
        super().__init__(io.BytesIO(data))
        self._recorder = recorder
        self._classes: dict[str, type] = {}

    def find_class(self, module: str, name: str) -> Any:
        full = f"{_PY2_MODULES.get(module, module)}.{name}"
        self._recorder.refs.add(full)
        if full not in self._classes:
            self._classes[full] = self._recorder.stand_in(full)
        return self._classes[full]

    def persistent_load(self, pid: Any) -> Any:
        return None


def _pickles(path: Path) -> list[tuple[str, bytes]]:
    """The pickles inside a zip-format torch checkpoint.

    Raises:
        UnsafeCheckpointError: Not a zip checkpoint, TorchScript, or too large.
    """
    if not zipfile.is_zipfile(path):
        raise UnsafeCheckpointError(path, "not a zip-format PyTorch checkpoint (legacy or "
                                          "unknown format; re-save it with torch.save)")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if any("/code/" in f"/{n}" for n in names):
            raise UnsafeCheckpointError(path, "a TorchScript archive, not a checkpoint")
        out = []
        for info in archive.infolist():
            if not info.filename.endswith(".pkl"):
                continue
            if info.file_size > MAX_PICKLE_BYTES:
                raise UnsafeCheckpointError(path, f"{info.filename} is {info.file_size} bytes "
                                                  f"(limit {MAX_PICKLE_BYTES})")
            out.append((info.filename, archive.read(info)))
    if not out:
        raise UnsafeCheckpointError(path, "the archive holds no data.pkl")
    return out


def scan_checkpoint(path: str | os.PathLike[str]) -> CheckpointReport:
    """What the pickles in a checkpoint refer to, without running any of it.

    Raises:
        UnsafeCheckpointError: The file is not a readable zip checkpoint.
    """
    p = Path(path)
    report = CheckpointReport(p)
    try:
        pickles = _pickles(p)
    except (OSError, zipfile.BadZipFile, RuntimeError) as exc:
        raise UnsafeCheckpointError(p, f"cannot read it as a checkpoint ({exc})") from exc
    for name, data in pickles:
        rec = _Recorder()
        try:
            _InertUnpickler(data, rec).load()
        except Exception as exc:  # noqa: BLE001 - any failure of a crafted pickle means refuse
            raise UnsafeCheckpointError(
                p, f"{name} is not a plain checkpoint pickle ({type(exc).__name__}: {exc})"
            ) from exc
        report.calls.update(rec.calls)
        report.classes |= rec.news - set(rec.calls)
        report.values |= rec.refs - rec.news - set(rec.calls)
    return report


_checked: dict[tuple[str, int, int, CheckpointPolicy], CheckpointReport] = {}
_checked_lock = threading.Lock()


def check_checkpoint(path: str | os.PathLike[str], *,
                     policy: CheckpointPolicy = ULTRALYTICS_POLICY) -> CheckpointReport:
    """Refuse a checkpoint whose pickle would call or create anything ``policy`` does not allow.

    Results are remembered per (path, size, modification time), so a file is read once.

    Args:
        path: The ``.pt`` file.
        policy: What it may refer to (default: what ultralytics checkpoints need).

    Returns:
        The :class:`CheckpointReport` of a file that passed.

    Raises:
        UnsafeCheckpointError: The file is missing, unreadable, not a zip checkpoint,
            or refers to something outside ``policy`` (the message names it).
    """
    p = Path(path).expanduser().resolve()
    try:
        st = p.stat()
    except OSError as exc:
        raise UnsafeCheckpointError(p, f"cannot read it ({exc.strerror or exc})") from exc
    key = (str(p), st.st_size, st.st_mtime_ns, policy)
    with _checked_lock:
        if key in _checked:
            return _checked[key]
    report = scan_checkpoint(p)
    problems = report.problems(policy)
    if problems:
        shown = ", ".join(problems[:3]) + (f" and {len(problems) - 3} more" if len(problems) > 3
                                           else "")
        logger.warning("refused checkpoint %s: %s", p, "; ".join(problems))
        raise UnsafeCheckpointError(p, f"its pickle {shown}, which a model checkpoint never "
                                       f"needs; refusing to load it")
    logger.debug("checkpoint %s passed (%d calls)", p, sum(report.calls.values()))
    with _checked_lock:
        _checked[key] = report
    return report


def safe_torch_load(path: str | os.PathLike[str], *, map_location: str = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain containers only.

    Raises:
        UnsafeCheckpointError: The file needs more than weights-only loading allows.
    """
    import torch

    p = Path(path)
    try:
        return torch.load(p, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnsafeCheckpointError(p, f"weights-only loading refused it ({first})") from exc
    except (RuntimeError, OSError, EOFError, ValueError) as exc:
        raise UnsafeCheckpointError(p, f"cannot read it as a checkpoint ({exc})") from exc
