"""The four ways a pickle payload once reached ultralytics (issue 15), each refused.

(1) an approved, edited plan naming an uploaded ``.pt`` (the demo's plan review path);
(2) a model-written plan naming a ``.pt``; (3) a ``yolo11n.pt`` planted in the working
directory (or a configured model folder); (4) ``--detector evil.pt`` on the CLI. Each
payload would create a marker file when unpickled; the tests show it never is.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from langgraph.checkpoint.memory import InMemorySaver
from PIL import Image

from lavr.agents import AgentResult, PlanReview, VisualAgent
from lavr.apps.cli import main
from lavr.core_model.errors import UnsafeCheckpointError
from lavr.core_model.scripted import ScriptedModel
from lavr.planners.errors import PlanValidationError
from lavr.tools import detect
from lavr.tools.base import ExpertPool
from lavr.tools.errors import ExpertUnavailableError, ToolError
from lavr.tools.registry import default_registry
from tests.conftest import requires_shapes
from tests.security.payloads import evil_checkpoint

IMG = np.full((64, 64, 3), 200, np.uint8)


@pytest.fixture
def evil(tmp_path):
    marker = tmp_path / "MARKER"
    return evil_checkpoint(tmp_path / "evil.pt", marker), marker


def test_1_an_edited_plan_naming_a_checkpoint_is_refused_at_resume(evil):
    path, marker = evil
    agent = VisualAgent(checkpointer=InMemorySaver(), verify=False)
    review = list(agent.stream(IMG, "How many circles are there?", thread_id="t",
                               review_plan=True))[-1]
    assert isinstance(review, PlanReview)
    edited = {**review.plan, "steps": [
        {"id": "s1", "tool": "detect", "args": {"labels": ["circle"], "detector": str(path)}}],
        "answer_step": "s1"}
    with pytest.raises(PlanValidationError, match="a plan cannot name a weights file") as info:
        list(agent.resume("t", plan=json.dumps(edited)))
    assert "\n" not in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("value", ["evil.pt", "/tmp/x/evil.pt", "../weights/yolo11n.pt",
                                   "C:\\w\\e.pt", "shapes/../../evil.pt", "x" * 5000])
def test_detect_args_accept_registered_names_only(value):
    reg = default_registry()
    with pytest.raises(ToolError, match="detector"):
        reg.parse_args("detect", {"labels": ["circle"], "detector": value})
    for name in detect.detector_names() + ["yolo11n", "world", "COCO"]:
        reg.parse_args("detect", {"labels": ["circle"], "detector": name})


def test_2_a_model_written_plan_naming_a_checkpoint_is_rejected_and_never_loaded(evil):
    path, marker = evil
    bad = json.dumps({"intent": "count", "target": "circle", "steps": [
        {"tool": "detect", "args": {"labels": ["circle"], "detector": str(path)}}]})
    model = ScriptedModel({"plan": [bad]}, repeat_last=True)
    agent = VisualAgent(model=model, model_roles="plan", verify=False)
    result = agent.run(IMG, "How many circles are there?")
    assert isinstance(result, AgentResult) and result.answer
    rejected = [r for r in result.steps if "weights file" in json.dumps(r.to_dict())]
    assert rejected, "the plan's validation error should be in the trace"
    assert len(model.requests_for("plan")) >= 2  # re-asked with the error, then fell back
    assert not marker.exists()


def test_2b_a_tool_call_built_without_validation_still_refuses_a_path(evil):
    path, marker = evil
    args = detect.DetectArgs.model_construct(labels=["circle"], detector=str(path))
    from lavr.tools.base import ArtifactStore, ToolContext
    ctx = ToolContext(image=IMG, image_hash="h", artifacts=ArtifactStore(), experts=ExpertPool())
    with pytest.raises(ToolError, match="detector must be one of"):
        detect.DetectTool().run(args, ctx)
    assert not marker.exists()


def test_3_a_yolo11n_planted_in_the_working_directory_is_never_used(tmp_path, monkeypatch):
    marker = tmp_path / "MARKER"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    evil_checkpoint(cwd / "yolo11n.pt", marker)
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("LAVR_MODEL_DIR", raising=False)
    monkeypatch.setattr(detect, "_library_weights_dirs", lambda: [tmp_path / "empty"])
    assert not detect.detector_weights(detect.get_detector("coco")).present
    with pytest.raises(ExpertUnavailableError, match="yolo11n.pt"):
        detect.detect_batch([IMG], labels=["person"], detector="coco")
    assert not marker.exists()


def test_3b_a_payload_in_a_configured_model_folder_is_refused_before_loading(tmp_path,
                                                                            monkeypatch):
    marker = tmp_path / "MARKER"
    folder = tmp_path / "models"
    folder.mkdir()
    evil_checkpoint(folder / "yolo11n.pt", marker)
    monkeypatch.setenv("LAVR_MODEL_DIR", str(folder))
    with pytest.raises(ExpertUnavailableError, match="refusing to load it") as info:
        detect.detect_batch([IMG], labels=["person"], detector="coco")
    assert "\n" not in str(info.value)
    assert not marker.exists()


def _write_png(path):
    Image.fromarray(IMG).save(path)
    return path


def test_4_detector_evil_pt_on_the_cli_is_refused(tmp_path, evil, capsys):
    path, marker = evil
    img = _write_png(tmp_path / "img.png")
    code = main(["ask", str(img), "How many circles are there?", "--detector", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "refusing to load it" in err and "Traceback" not in err
    assert not marker.exists()


def test_4b_the_python_api_refuses_the_same_path_up_front(evil):
    path, marker = evil
    with pytest.raises(UnsafeCheckpointError, match="calls io.open"):
        VisualAgent(detector=str(path))
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["junk", "missing", "not_pt"])
def test_bad_detector_settings_are_one_line_errors(tmp_path, capsys, kind):
    img = _write_png(tmp_path / "img.png")
    value = {"junk": tmp_path / "junk.pt", "missing": tmp_path / "nope.pt",
             "not_pt": tmp_path / "img.png"}[kind]
    if kind == "junk":
        value.write_bytes(b"\x00junk" * 10)
    code = main(["ask", str(img), "How many circles?", "--detector", str(value)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


@requires_shapes
def test_an_operator_checkpoint_that_passes_the_check_is_used(tmp_path, built_yolo11n):
    # the real shapes checkpoint, copied to an operator path, loads and runs
    import shutil

    from tests.conftest import SHAPES_WEIGHTS
    path = tmp_path / "my-shapes.pt"
    shutil.copy(SHAPES_WEIGHTS, path)
    agent = VisualAgent(detector=str(path), verify=False)
    result = agent.run(IMG, "How many circles are there?")
    assert "my-shapes.pt" in result.to_json()
    VisualAgent(detector=str(built_yolo11n), verify=False)  # passes the check too
