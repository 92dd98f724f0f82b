"""`lavr correct` end to end on the real shapes detector."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lavr.apps.cli import main
from lavr.apps.synthetic_scenes import render_scene

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import requires_shapes  # noqa: E402


@pytest.fixture(scope="module")
def image_path(tmp_path_factory) -> tuple[Path, list]:
    scene = render_scene(np.random.default_rng(1), n_objects=4, allow_overlap=False, text="EXIT",
                         background="plain")
    path = tmp_path_factory.mktemp("correct") / "scene.png"
    Image.fromarray(scene.image).save(path)
    return path, scene.objects


@requires_shapes
def test_json_has_corrected_and_claims_with_text_verdict_boxes(image_path, tmp_path, capsys):
    path, objects = image_path
    n_circles = sum(1 for o in objects if o.shape == "circle")
    assert n_circles == 2
    annotated = tmp_path / "out" / "annotated.png"
    code = main(["correct", str(path), "--text", "There are five circles. [s1]", "--json",
                 "--save-annotated", str(annotated)])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["corrected"].startswith("There are two circles([") and out["corrected"].endswith(
        "]). [s1]")
    (claim,) = out["claims"]
    assert claim["text"] == "there are five circles" and claim["verdict"] == "refuted"
    assert len(claim["boxes"]) == 2 and all(0 <= v <= 1 for b in claim["boxes"] for v in b)
    assert Image.open(annotated).size == Image.open(path).size


@requires_shapes
def test_human_output_lists_claims(image_path, capsys):
    path, _ = image_path
    code = main(["correct", str(path), "--text", "There is a square.", "--no-boxes"])
    out = capsys.readouterr().out
    assert code == 0
    assert "k1 [supported] counting: there is a square" in out
    assert "Corrected: There is a square." in out


@pytest.mark.parametrize("argv,words", [
    (["--text", "   "], "empty"),
    (["--text-file", "/nonexistent/text.txt"], "no such file"),
])
def test_bad_text_exits_2(image_path, argv, words, capsys):
    path, _ = image_path
    code = main(["correct", str(path), *argv])
    err = capsys.readouterr().err
    assert code == 2 and words in err and err.count("\n") == 1


def test_missing_image_exits_2(tmp_path, capsys):
    code = main(["correct", str(tmp_path / "nope.png"), "--text", "A circle."])
    err = capsys.readouterr().err
    assert code == 2 and "no such file" in err
