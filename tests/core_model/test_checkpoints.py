"""The checkpoint safety check: real checkpoints pass, pickle payloads are refused unrun."""

from __future__ import annotations

import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from lavr.core_model.checkpoints import check_checkpoint, safe_torch_load, scan_checkpoint
from lavr.core_model.errors import InputError, UnsafeCheckpointError
from tests.conftest import SHAPES_WEIGHTS, requires_shapes
from tests.security.payloads import (
    CallPayload,
    evil_checkpoint,
    raw_pickle_checkpoint,
)


@requires_shapes
def test_the_shipped_shapes_checkpoint_passes():
    report = check_checkpoint(SHAPES_WEIGHTS)
    assert report.calls["torch._utils._rebuild_tensor_v2"] > 100
    assert "ultralytics.nn.tasks.DetectionModel" in report.classes


def test_a_yolo11n_built_from_ultralytics_yaml_passes(built_yolo11n):
    report = check_checkpoint(built_yolo11n)
    assert "ultralytics.nn.modules.head.Detect" in report.classes


def test_a_plain_state_dict_passes(tmp_path):
    path = tmp_path / "sd.pt"
    torch.save(OrderedDict(w=torch.ones(3), b=torch.zeros(2, dtype=torch.float16)), path)
    assert check_checkpoint(path).calls["collections.OrderedDict"] >= 1


def test_the_payload_is_live_when_fully_unpickled(tmp_path):
    """Proves the test payload would run: torch.load(weights_only=False) creates the marker."""
    marker = tmp_path / "MARKER"
    path = evil_checkpoint(tmp_path / "evil.pt", marker)
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_a_payload_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "MARKER"
    path = evil_checkpoint(tmp_path / "evil.pt", marker)
    with pytest.raises(UnsafeCheckpointError, match=r"calls io\.open") as info:
        check_checkpoint(path)
    assert "\n" not in str(info.value) and isinstance(info.value, InputError)
    assert not marker.exists()


def test_a_payload_hidden_in_a_real_checkpoint_is_refused(tmp_path, built_yolo11n):
    marker = tmp_path / "MARKER"
    ckpt = torch.load(built_yolo11n, weights_only=False)  # our own file, built here
    ckpt["train_args"] = {"note": CallPayload(open, (str(marker), "w"))}
    path = tmp_path / "yolo11n.pt"
    torch.save(ckpt, path)
    with pytest.raises(UnsafeCheckpointError, match=r"calls io\.open"):
        check_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("target", [
    "torch.serialization.load",          # allowed module prefix, dangerous function
    "ultralytics.utils.checks.check_requirements",
    "ultralytics.nn.tasks.torch_safe_load",
    "posix.system",
    "builtins.eval",
    "builtins.getattr",
    "copyreg._reconstructor",
])
def test_calls_outside_the_allowlist_are_refused(tmp_path, target):
    module, name = target.rsplit(".", 1)
    path = raw_pickle_checkpoint(tmp_path / "x.pt", _reduce_pickle(module, name))
    with pytest.raises(UnsafeCheckpointError, match=f"calls {target}"):
        check_checkpoint(path)


def _reduce_pickle(module: str, name: str) -> bytes:
    # GLOBAL module name, MARK, 'x', TUPLE, REDUCE, STOP (protocol 0/1 opcodes)
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n(S'x'\ntR."


def test_python2_module_names_are_normalised(tmp_path):
    path = raw_pickle_checkpoint(tmp_path / "x.pt", _reduce_pickle("__builtin__", "eval"))
    with pytest.raises(UnsafeCheckpointError, match="calls builtins.eval"):
        check_checkpoint(path)


def test_an_allowed_class_may_be_created_but_not_called(tmp_path):
    # NEWOBJ of an allowed class (what real checkpoints do) passes ...
    ok = (b"\x80\x02ctorch.nn.modules.linear\nIdentity\n)\x81}b.")
    assert check_checkpoint(raw_pickle_checkpoint(tmp_path / "ok.pt", ok)).classes == {
        "torch.nn.modules.linear.Identity"}
    # ... calling a class of an allowed prefix runs its __init__ with chosen arguments: refused
    called = _reduce_pickle("ultralytics.nn.autobackend", "AutoBackend")
    with pytest.raises(UnsafeCheckpointError, match="calls ultralytics.nn.autobackend"):
        check_checkpoint(raw_pickle_checkpoint(tmp_path / "call.pt", called))


def test_a_global_passed_as_a_value_outside_the_allowlist_is_refused(tmp_path):
    # set([posix.system]) never calls system, but a value an allowed call could call is refused
    data = b"\x80\x02c__builtin__\nset\n]cposix\nsystem\na\x85R."
    with pytest.raises(UnsafeCheckpointError, match="refers to posix.system"):
        check_checkpoint(raw_pickle_checkpoint(tmp_path / "v.pt", data))


@pytest.mark.parametrize("kind", ["legacy", "text", "empty", "torchscript", "broken_pickle"])
def test_non_checkpoints_are_refused_with_one_line(tmp_path, kind):
    path = tmp_path / "x.pt"
    if kind == "legacy":
        torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    elif kind == "text":
        path.write_text("not a checkpoint")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "torchscript":
        torch.jit.save(torch.jit.script(torch.nn.Identity()), str(path))
    else:
        raw_pickle_checkpoint(path, b"\x80\x02}q\x00(X")
    with pytest.raises(UnsafeCheckpointError) as info:
        check_checkpoint(path)
    assert "\n" not in str(info.value)


def test_a_missing_file_is_a_one_line_error(tmp_path):
    with pytest.raises(UnsafeCheckpointError, match="cannot read it"):
        check_checkpoint(tmp_path / "nope.pt")


def test_results_are_remembered_per_file_version(tmp_path, monkeypatch):
    path = tmp_path / "sd.pt"
    torch.save({"w": torch.ones(1)}, path)
    check_checkpoint(path)
    calls = []
    monkeypatch.setattr("lavr.core_model.checkpoints.scan_checkpoint",
                        lambda p: calls.append(p) or scan_checkpoint(p))
    check_checkpoint(path)
    assert calls == []


def test_safe_torch_load_reads_weights_and_refuses_payloads(tmp_path):
    path = tmp_path / "sd.pt"
    torch.save({"w": torch.arange(3)}, path)
    assert safe_torch_load(path)["w"].tolist() == [0, 1, 2]
    marker = tmp_path / "MARKER"
    with pytest.raises(UnsafeCheckpointError, match="weights-only loading refused"):
        safe_torch_load(evil_checkpoint(tmp_path / "evil.pt", marker))
    assert not marker.exists()


def test_the_scan_reads_only_pickles_inside_the_zip(tmp_path):
    path = tmp_path / "x.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"a": 1}, protocol=2))
        z.writestr("archive/data/0", b"\x00" * 16)
    assert check_checkpoint(path).calls == {}
    assert Path(path).exists()
