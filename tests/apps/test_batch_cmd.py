"""``lavr batch``: inputs, the append-only results file, resuming, and a kill -9 mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lavr.apps.batch import BatchItem, done_ids, load_items, result_record
from lavr.apps.cli import main
from lavr.apps.synthetic_scenes import render_scene
from lavr.core_model.errors import InputError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import requires_shapes  # noqa: E402

QUESTION = "How many circles are there?"


def _scenes(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"scene{i:02d}.png"
        Image.fromarray(render_scene(np.random.default_rng([3, i]), width=224, height=224,
                                     max_size=60).image).save(p)
        paths.append(p)
    return paths


def _jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# -- inputs ------------------------------------------------------------------------------------
def test_jsonl_items_resolve_images_next_to_the_file(tmp_path):
    src = _jsonl(tmp_path / "q.jsonl", [{"id": 1, "image": "a.png", "question": "q1", "gt": 2},
                                        {"id": "b", "image": "/abs/b.png", "question": "q2"}])
    items = load_items(src)
    assert items[0] == BatchItem("1", str(tmp_path / "a.png"), "q1")
    assert items[0].extra == {"gt": 2} and items[1].image == "/abs/b.png"
    assert load_items(src, image_dir="/imgs")[0].image == "/imgs/a.png"


def test_pope_files_are_recognised(tmp_path):
    src = _jsonl(tmp_path / "coco_pope_random.json", [
        {"question_id": 7, "image": "x.jpg", "text": "Is there a dog in the image?",
         "label": "yes"}])
    (item,) = load_items(src, image_dir=tmp_path / "val")
    assert item.id == "random-7" and item.question == "Is there a dog in the image?"
    assert item.image == str(tmp_path / "val" / "x.jpg") and item.extra == {"label": "yes"}


def test_a_folder_needs_one_question(tmp_path):
    _scenes(tmp_path / "imgs", 2)
    with pytest.raises(InputError, match="--question"):
        load_items(tmp_path / "imgs")
    items = load_items(tmp_path / "imgs", question=QUESTION)
    assert [it.id for it in items] == ["scene00.png", "scene01.png"]


@pytest.mark.parametrize("records,message", [
    ([{"id": 1, "image": "a.png"}], "record 1 lacks question"),
    ([{"id": 1, "image": "a.png", "question": "q"}, {"id": 1, "image": "b.png", "question": "q"}],
     "id '1' appears more than once"),
    ([], "no records"),
])
def test_bad_inputs_are_one_line_errors(tmp_path, records, message):
    with pytest.raises(InputError, match=message):
        load_items(_jsonl(tmp_path / "q.jsonl", records))


def test_missing_input_and_bad_options_exit_2(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
    src = _jsonl(tmp_path / "q.jsonl", [{"id": 1, "image": "a.png", "question": "q"}])
    assert main(["batch", str(src), "--out", str(tmp_path / "o"), "--workers", "0"]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # refused while parsing, as every negative number
        main(["batch", str(src), "--out", str(tmp_path / "o"), "--lanes", "-1"])
    assert "argument --lanes: expected a whole number 0 or more" in capsys.readouterr().err


def test_the_lanes_help_states_the_automatic_cap(capsys):
    from lavr.tools.detect import lane_plan

    with pytest.raises(SystemExit):
        main(["batch", "-h"])
    shown = " ".join(capsys.readouterr().out.split())
    cap = lane_plan("cpu", cores=1024)[0]  # what 0 gives on a machine with many cores
    assert cap < 1024 and f"one per CPU core up to {cap}," in shown


def test_configure_batching_chooses_lanes_from_the_cores():
    from lavr.agents import VisualAgent
    from lavr.apps.batch import configure_batching

    agent = VisualAgent(detector="shapes", verify=False, device="cpu")
    assert configure_batching(agent, batch_size=8, batch_wait_ms=5, cores=2) == (2, 1)
    assert agent.context.settings["batch_lanes"] == 2
    assert agent.context.settings["batch_threads"] == 1
    assert configure_batching(agent, batch_size=8, batch_wait_ms=5, lanes=1, cores=2) == (1, 2)
    assert configure_batching(agent, batch_size=8, batch_wait_ms=5, lanes=3, cores=2) == (3, 1)
    for bad in ({"lanes": -1}, {"batch_size": -2}, {"cores": 0}):
        with pytest.raises(InputError, match="batching needs"):
            configure_batching(agent, **{"batch_size": 8, "batch_wait_ms": 5, **bad})
    assert agent.context.settings["batch_lanes"] == 3  # a refused call changes nothing


# -- the results file --------------------------------------------------------------------------
def test_a_torn_last_line_is_cut_and_its_item_done_again(tmp_path):
    out = tmp_path / "out.jsonl"
    whole = json.dumps(result_record(BatchItem("a", "a.png", "q"), seconds=0.1)) + "\n"
    out.write_text(whole + '{"id": "b", "answ')
    assert done_ids(out) == {"a"}
    assert out.read_text() == whole


def test_a_foreign_file_as_out_is_refused(tmp_path):
    out = tmp_path / "notes.txt"
    out.write_text("my notes\n")
    with pytest.raises(InputError, match="not a results line"):
        done_ids(out)


@requires_shapes
def test_batch_answers_each_id_once_and_a_rerun_skips_them(tmp_path, capsys):
    paths = _scenes(tmp_path / "imgs", 3)
    src = _jsonl(tmp_path / "q.jsonl", [
        *({"id": p.stem, "image": f"imgs/{p.name}", "question": QUESTION} for p in paths),
        {"id": "missing", "image": "imgs/none.png", "question": QUESTION}])
    out = tmp_path / "out.jsonl"
    args = ["batch", str(src), "--out", str(out), "--detector", "shapes", "--no-verify",
            "--workers", "3", "--no-progress"]
    assert main(args) == 0
    assert "answered 4 items" in capsys.readouterr().out
    lines = {r["id"]: r for r in _lines(out)}
    assert sorted(lines) == ["missing", "scene00", "scene01", "scene02"]
    assert lines["missing"]["answer"] is None and "none.png" in lines["missing"]["error"]
    for p in paths:
        rec = lines[p.stem]
        assert rec["error"] is None and rec["seconds"] > 0 and rec["image"].endswith(p.name)
        assert rec["answer"] and any(s["node"] == "tool" for s in rec["steps"])
        assert rec["evidence"][0]["tool"] == "detect"
    assert main(args) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert len(_lines(out)) == 4


@requires_shapes
def test_kill_9_mid_run_then_rerun_gives_every_id_exactly_once(tmp_path):
    paths = _scenes(tmp_path / "imgs", 12)
    out = tmp_path / "out.jsonl"
    cmd = ["batch", str(tmp_path / "imgs"), "--question", QUESTION, "--out", str(out),
           "--detector", "shapes", "--no-verify", "--workers", "2", "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-m", "lavr.apps.cli", "-v", *cmd],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    written = 0
    assert proc.stderr is not None
    for line in proc.stderr:  # blocks until the process logs; no sleeping
        if "lavr.apps.batch: wrote" in line:
            written += 1
            if written == 3:
                os.kill(proc.pid, signal.SIGKILL)
                break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    before = [r["id"] for r in _lines(out)]
    assert 3 <= len(before) < len(paths)  # killed mid-way: some items never written
    assert main(cmd) == 0
    after = [r["id"] for r in _lines(out)]
    assert sorted(after) == sorted(p.name for p in paths)  # every id exactly once
    assert after[:len(before)] == before  # the first run's lines are kept as they were


def test_ctrl_c_keeps_the_answers_in_flight_and_drops_the_queued(tmp_path, monkeypatch):
    import threading

    from lavr.apps import batch

    release = threading.Event()

    def answer(agent, item, *, run_kwargs=None):
        release.wait(5)  # every item is still running when Ctrl-C lands
        return result_record(item, seconds=0.0)

    monkeypatch.setattr(batch, "answer_item", answer)
    items = [BatchItem(str(i), "x.png", "q") for i in range(20)]
    out = tmp_path / "o.jsonl"
    ctrl_c = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))  # a real Ctrl-C
    finish = threading.Timer(1.0, release.set)
    ctrl_c.start()
    finish.start()
    with pytest.raises(KeyboardInterrupt) as exc:
        batch.run_local(items, None, out, workers=2, progress=False)
    ids = [r["id"] for r in _lines(out)]
    # the 2 items running were finished and written once; the 2 queued were dropped
    assert sorted(ids) == ["0", "1"] and "2 answers are in" in str(exc.value)
    assert done_ids(out) == {"0", "1"}  # a rerun answers only the others


def test_an_item_that_breaks_inside_lavr_is_recorded_and_the_batch_goes_on(tmp_path, caplog):
    """A fault that is not a lavr error (a bug, a user model raising) becomes that item's
    ``error``; the items after it are still answered."""
    from lavr.apps import batch

    class Agent:
        def fork(self):
            return self

        def run(self, image, question, **kwargs):
            if question == "boom":
                raise ZeroDivisionError("division by zero")
            raise InputError(f"cannot read {image}")

    items = [BatchItem("a", "x.png", "boom"), BatchItem("b", "y.png", "q")]
    out = tmp_path / "o.jsonl"
    stats = batch.run_local(items, Agent(), out, workers=1, progress=False)
    lines = {r["id"]: r for r in _lines(out)}
    assert set(lines) == {"a", "b"} and stats["errors"] == 2
    assert lines["a"]["error"] == "internal error: ZeroDivisionError: division by zero"
    assert lines["b"]["error"] == "cannot read y.png"
    assert "batch item a failed inside lavr" in caplog.text
