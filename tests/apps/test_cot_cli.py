"""CLI: --cot/--icl on ask, lavr demos add|list|check, lavr eval icl-retrieval, config defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from lavr.apps.cli import main
from lavr.apps.evaluate import make_item
from tests.conftest import requires_shapes

ITEM, SCENE = make_item(5, "count")
FAST = ["--detector", "shapes", "--no-verify", "--embedder", "hashing"]


@pytest.fixture(scope="module")
def image_path(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("img") / "scene.png"
    Image.fromarray(SCENE.image).save(path)
    return str(path)


@requires_shapes
def test_ask_with_tree_and_demos_prints_them(image_path, capsys):
    assert main(["ask", image_path, ITEM.question, "--cot", "tree", "--icl", "4", *FAST]) == 0
    out = capsys.readouterr().out
    assert "Demos (4):" in out and "Reasoning (tree):" in out
    assert f"  Q: {ITEM.question}" in out and "→ expert:" in out and "⇒ The answer rests on" in out
    assert out.index("Reasoning (tree):") < out.index("\nA: ")


@requires_shapes
def test_ask_json_has_chain_demos_and_image_path_and_makes_a_demo(image_path, tmp_path, capsys):
    assert main(["ask", image_path, ITEM.question, "--cot", "chain", "--cot-steps", "3",
                 "--icl", "2", "--icl-select", "mmr", "--json", *FAST]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["reasoning"]["kind"] == "chain" and data["reasoning"]["max_steps"] == 3
    assert len(data["demos"]) == 2 and data["image"]["path"] == str(Path(image_path).resolve())
    trace = tmp_path / "trace.json"
    assert main(["ask", image_path, ITEM.question, "--cot", "chain", "--json", *FAST]) == 0
    trace.write_text(capsys.readouterr().out)
    store = tmp_path / "store"
    assert main(["demos", "add", "--from-trace", str(trace), "--store", str(store)]) == 0
    assert "added demo count-1" in capsys.readouterr().out
    assert main(["demos", "check", "--store", str(store)]) == 0
    assert "1 demos, all usable" in capsys.readouterr().out
    assert main(["demos", "list", "--store", str(store), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["instruction"] == ITEM.question and listed[0]["rationale"]
    # the new store feeds retrieval
    assert main(["ask", image_path, ITEM.question, "--icl", "1", "--demos", str(store),
                 "--json", *FAST]) == 0
    assert json.loads(capsys.readouterr().out)["demos"][0]["id"] == "count-1"


def test_demos_check_fails_with_problems_and_add_refuses_bad_input(tmp_path, capsys):
    store = tmp_path / "bad"
    store.mkdir()
    (store / "demos.jsonl").write_text('{"id": "x", "images": ["images/x.png"], '
                                       '"instruction": "q", "response": "a"}\n')
    assert main(["demos", "check", "--store", str(store)]) == 2
    assert "x: image images/x.png is missing" in capsys.readouterr().err
    assert main(["demos", "check"]) == 0  # the starter bank
    (tmp_path / "t.json").write_text("[1, 2]")
    assert main(["demos", "add", "--from-trace", str(tmp_path / "t.json")]) == 2
    assert "expected one JSON object" in capsys.readouterr().err
    (tmp_path / "t.json").write_text(json.dumps({"question": "q", "answer": "a"}))
    assert main(["demos", "add", "--from-trace", str(tmp_path / "t.json"), "--store",
                 str(store)]) == 2
    assert "give --image" in capsys.readouterr().err


def test_bad_cot_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["ask", "x.png", "q", "--cot", "graph"])
    assert exc.value.code == 2


def test_icl_retrieval_eval_prints_precision_table(capsys):
    assert main(["eval", "icl-retrieval", "--n", "10", "--k", "1,4", "--embedder",
                 "hashing"]) == 0
    out = capsys.readouterr().out
    assert "| selection | P@1 | P@4 |" in out and "| random |" in out
    rows = {line.split("|")[1].strip(): line for line in out.splitlines()
            if line.startswith("| similarity, question form")}
    p1 = float(next(iter(rows.values())).split("|")[2])
    assert p1 >= 0.8


@requires_shapes
def test_config_file_sets_reasoning_defaults(image_path, tmp_path, capsys):
    cfg = tmp_path / "lavr.toml"
    cfg.write_text('[agent]\ncot = "chain"\ncot_steps = 2\n')
    assert main(["ask", image_path, ITEM.question, "--config", str(cfg), "--json", *FAST]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["reasoning"]["kind"] == "chain" and data["reasoning"]["max_steps"] == 2
    assert main(["ask", image_path, ITEM.question, "--config", str(cfg), "--cot", "off",
                 "--json", *FAST]) == 0
    assert json.loads(capsys.readouterr().out)["reasoning"] is None


@requires_shapes
def test_reasoning_grid_compares_cot_modes(capsys):
    assert main(["eval", "reasoning", "--grid", "cot", "--n", "3", "--steps", "1",
                 "--detector", "shapes", "--embedder", "hashing"]) == 0
    out = capsys.readouterr().out
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in out.splitlines() if line.startswith("| ") and "---" not in line}
    assert set(rows) >= {"off", "chain", "tree", "chain, 1 steps", "tree, 1 steps"}
    assert rows["off"][0] == rows["chain"][0] == rows["tree"][0] == "100%"
    assert rows["off"][5] == "0.0" and float(rows["chain"][5]) == float(rows["chain"][4]) > 1
    assert rows["chain, 1 steps"][4] == "1.0"  # one tool call at fixed length 1
