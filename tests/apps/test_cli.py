"""`lavr ask` end to end on real experts, and every kind of bad input."""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lavr.apps.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
sys.path.insert(0, str(REPO / "tests"))
from conftest import requires_shapes  # noqa: E402


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- bad input: clear one-line message, exit 2 ------------------------------------------
def _png_bomb(path: Path) -> None:
    buf = io.BytesIO()
    Image.new("L", (8, 8)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", 60000, 60000)
    crc = zlib.crc32(bytes(data[ihdr:ihdr + 17])) & 0xFFFFFFFF
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))


def _truncated(path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(buf, "PNG")
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])


BAD = {
    "missing": (lambda p: None, "no such file"),
    "directory": (lambda p: p.mkdir(), "is a directory"),
    "text": (lambda p: p.write_text("hello, not an image"), "not a recognised image"),
    "empty": (lambda p: p.write_bytes(b""), "empty"),
    "truncated": (_truncated, "truncated"),
    "bomb": (_png_bomb, "too large"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_image_exits_2_with_one_line(kind, tmp_path, capsys):
    make, words = BAD[kind]
    path = tmp_path / f"{kind}.png"
    make(path)
    code, out, err = run_cli(capsys, "ask", str(path), "How many circles are there?")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("lavr: error:")
    assert words in err
    assert "Traceback" not in err


@pytest.mark.parametrize("question,words", [("", "empty"), ("   \n\t ", "empty"),
                                            ("x" * 100_000, "limit is")])
def test_bad_question_exits_2(question, words, capsys):
    code, out, err = run_cli(capsys, "ask", str(EXAMPLES / "sign.png"), question)
    assert code == 2 and words in err and err.count("\n") == 1


def test_usage_error_is_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["ask", "--max-steps", "many", "How many?"])
    assert exc.value.code == 2
    assert main(["ask"]) == 2  # image and question are optional positionals (--resume, threads)
    assert capsys.readouterr().err.strip().endswith("a question is needed")


# -- valid but unusual images get correct answers -----------------------------------------
def _scene_image() -> tuple[np.ndarray, int]:
    from lavr.apps.synthetic_scenes import render_scene

    for seed in range(100):
        scene = render_scene(np.random.default_rng(seed), n_objects=(3, 4), allow_overlap=False)
        n = sum(o.shape == "circle" for o in scene.objects)
        if n >= 1:
            return scene.image, n
    raise AssertionError("no scene")


def _save_variant(img: Image.Image, kind: str, path: Path) -> None:
    if kind == "cmyk":
        img.convert("CMYK").save(path.with_suffix(".jpg"), quality=95)
    elif kind == "rgba":
        rgba = img.convert("RGBA")
        rgba.putalpha(255)
        rgba.save(path)
    elif kind == "palette":
        img.convert("P", palette=Image.ADAPTIVE, colors=64).save(path)
    elif kind == "grayscale":
        img.convert("L").save(path)
    elif kind == "16bit":
        arr = (np.asarray(img.convert("L"), np.uint16) * 257)
        Image.fromarray(arr).save(path)
    elif kind == "exif":
        rotated = img.transpose(Image.ROTATE_90)  # stored sideways ...
        exif = Image.Exif()
        exif[0x0112] = 6  # ... and EXIF says: rotate 90° clockwise to display
        rotated.save(path.with_suffix(".jpg"), exif=exif, quality=95)


@requires_shapes
@pytest.mark.parametrize("kind", ["cmyk", "rgba", "palette", "exif"])
def test_unusual_colour_formats_are_answered(kind, tmp_path, shared_agent):
    arr, n = _scene_image()
    path = tmp_path / f"img_{kind}.png"
    _save_variant(Image.fromarray(arr), kind, path)
    path = path if path.exists() else path.with_suffix(".jpg")
    res = shared_agent.run(path, "How many circles are there?")
    from lavr.apps.evaluate import parse_answer

    assert parse_answer("count", res.answer) == str(n), res.answer
    assert res.image.shape == arr.shape  # EXIF rotation undone


@pytest.mark.parametrize("kind", ["grayscale", "16bit"])
def test_grey_formats_are_read(kind, tmp_path, shared_agent):
    # the shapes detector is trained on colour scenes; grey images are checked with OCR
    path = tmp_path / f"sign_{kind}.png"
    _save_variant(Image.open(EXAMPLES / "sign.png").convert("RGB"), kind, path)
    res = shared_agent.run(path, "What does the sign say?")
    assert '"OPEN DAILY"' in res.answer, res.answer


# -- the main job ---------------------------------------------------------------------------
@requires_shapes
def test_ask_json_on_shapes_example(capsys, tmp_path):
    out_png = tmp_path / "ann.png"
    code, out, err = run_cli(capsys, "ask", str(EXAMPLES / "shapes_1.png"),
                             "How many circles are there?", "--json", "--save-annotated",
                             str(out_png))
    assert code == 0, err
    data = json.loads(out)
    assert data["answer"] == data["answer_plain"] == "There are three circles."
    assert data["style"] == "plain" and data["answer_grounded"].endswith("[s1, s2]")
    assert [e["step_id"] for e in data["answer_evidence"]] == ["s1", "s2"]
    assert len(data["answer_evidence"][0]["boxes"]) == 3  # the boxes stay as structured evidence
    for step in data["steps"]:
        assert set(step) >= {"node", "tool", "args", "summary", "seconds", "error"}
    assert [s["tool"] for s in data["steps"] if s["node"] == "tool"] == ["detect", "count"]
    assert len(data["detections"]) == 3
    assert Image.open(out_png).size == (480, 360)


def test_ask_reads_the_sign_with_real_ocr(capsys):
    code, out, err = run_cli(capsys, "ask", str(EXAMPLES / "sign.png"), "What does the sign say?",
                             "--style", "grounded")
    assert code == 0, err
    assert '"OPEN DAILY"' in out
    answer = [ln for ln in out.splitlines() if ln.startswith("A: ")][0]
    assert re.search(r"\(box \[\d+, \d+, \d+, \d+\]\)\. \[s1(, s\d+)*\]$", answer), answer
    assert "[ocr]" in out or " ocr]" in out


def test_ask_coco_without_weights_says_how_to_get_them(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LAVR_MODEL_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    import ultralytics

    bus = Path(ultralytics.__file__).parent / "assets" / "bus.jpg"
    code, out, err = run_cli(capsys, "ask", str(bus), "How many people are there?")
    assert code == 0
    answer = [ln for ln in out.splitlines() if ln.startswith("A: ")][0]
    from lavr.tools.detect import detector_weights, get_detector

    if detector_weights(get_detector("coco")).present:
        pytest.skip("yolo11n.pt is available on this machine")
    assert "yolo11n.pt" in answer and "LAVR_MODEL_DIR" in answer


def test_console_script_runs(tmp_path):
    lavr = Path(sys.executable).parent / "lavr"
    proc = subprocess.run([str(lavr), "ask", str(tmp_path / "nope.png"), "q"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("no such file")


def test_models_lists_every_expert(capsys):
    code, out, _ = run_cli(capsys, "models", "--json")
    rows = json.loads(out)
    experts = {r["expert"] for r in rows}
    assert {"detect", "ocr"} <= experts
    ocr = next(r for r in rows if r["expert"] == "ocr")
    assert ocr["present"] is True


def test_a_nested_subcommand_error_points_at_its_whole_help(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["eval", "mllm", "--icl-select", "bogus"])
    out, err = capsys.readouterr()
    assert exited.value.code == 2 and out == ""
    assert err.strip().count("\n") == 0
    assert err.strip().endswith("(see 'lavr eval mllm -h')"), err
