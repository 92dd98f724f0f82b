"""Text, JSON and JSON-lines files users name, and output paths: every fault is one InputError
naming the file (no UnicodeDecodeError, RecursionError, or endless read of a device)."""

from __future__ import annotations

import json
import os

import pytest

from lavr.core_model.errors import InputError
from lavr.core_model.textfiles import (
    check_writable_file,
    read_json_file,
    read_jsonl_file,
    read_text_file,
)


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


@pytest.mark.parametrize("data, words", [
    (bytes(range(256)) * 4, "not UTF-8 text"),
    ("a\x00b", "NUL bytes"),
])
def test_a_file_that_is_not_text_is_one_error(tmp_path, data, words):
    with pytest.raises(InputError, match=words):
        read_text_file(_write(tmp_path, "f.txt", data))


def test_missing_folder_device_pipe_and_oversized_files_are_refused_without_reading(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_text_file(tmp_path / "none.txt")
    with pytest.raises(InputError, match="is a folder"):
        read_text_file(tmp_path)
    with pytest.raises(InputError, match="not a regular file"):
        read_text_file("/dev/zero")  # endless: was read until memory ran out
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(InputError, match="not a regular file"):
        read_text_file(tmp_path / "fifo")  # no writer: was a read that never returned
    big = _write(tmp_path, "big.txt", "x" * 2000)
    with pytest.raises(InputError, match="larger than"):
        read_text_file(big, max_bytes=1000)


def test_a_byte_order_mark_is_dropped(tmp_path):
    path = _write(tmp_path, "bom.jsonl", "\ufeff" + json.dumps({"id": 1}) + "\n")
    assert read_jsonl_file(path) == [{"id": 1}]


@pytest.mark.parametrize("text, words", [
    ('{"id": 1}\n{not json\n', r":2: not valid JSON"),
    ("[1, 2]\n", "item 1 is a JSON number, not an object"),
    ('{"id": 1}\n"text"\n', "line 2 is a JSON string, not an object"),
    ('\n\n{"id": 1}\n{not json\n', r":4: not valid JSON"),  # blank lines count (was :2)
    ('\n["a"]\n', "item 1 is a JSON string"),
    ("[" * 100_000 + "\n", "nested too deeply"),  # was a RecursionError
])
def test_bad_json_lines_name_the_line(tmp_path, text, words):
    with pytest.raises(InputError, match=words):
        read_jsonl_file(_write(tmp_path, "x.jsonl", text))


def test_json_file(tmp_path):
    assert read_json_file(_write(tmp_path, "a.json", '{"a": [1]}')) == {"a": [1]}
    with pytest.raises(InputError, match="not valid JSON"):
        read_json_file(_write(tmp_path, "b.json", "{"))


def test_output_paths_are_checked_before_a_run(tmp_path):
    assert check_writable_file(tmp_path / "new" / "o.jsonl", flag="--out") == \
        tmp_path / "new" / "o.jsonl"
    (tmp_path / "f").write_text("x")
    for bad, words in [("", "empty path"), (str(tmp_path), "is a folder"),
                       ("/dev/full", "not a regular file"),
                       (str(tmp_path / "f" / "o.jsonl"), "is not a folder")]:
        with pytest.raises(InputError, match=f"--out.*{words}"):
            check_writable_file(bad, flag="--out")
