"""Console widget skill: shell requests, the panel's own font learnt and read back."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lavr.episodes.gui.console import (
    ShellRequest,
    command_output,
    find_console,
    learn_glyphs,
    parse_shell_request,
    pick_files,
    text_ink,
)
from lavr.episodes.gui.instruction import parse_instruction

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(("text", "command", "name", "other"), [
    ("Use the console below to delete a file ending with the extension .gif", "rm", "a.gif", "a.png"),
    ("Use the console below to delete a file that has no file extension.", "rm", "notes", "a.txt"),
    ("In the console, remove the file without an extension", "rm", "bin", "x.sh"),
    ("Open a shell and print the file named todo.txt", "cat", "todo.txt", "todo.md"),
    ("Using the command line, erase the file starting with log", "rm", "log_2.txt", "a.log"),
])
def test_shell_requests_in_other_words(text: str, command: str, name: str, other: str) -> None:
    req = parse_shell_request(text)
    assert req is not None and req.command == command
    assert pick_files([other, name], req) == [name]


@pytest.mark.parametrize("text", [
    "Click the Shell button.",
    "Select the console option and press Submit.",
    "Show the file menu.",
    "Delete the selected rows.",  # no file
])
def test_no_shell_request(text: str) -> None:
    assert parse_shell_request(text) is None


def test_instruction_plans_a_shell_intent() -> None:
    plan = parse_instruction("Use the console below to delete a file ending with the extension .py")
    assert [i.op for i in plan.intents] == ["shell"]


def test_near_suffix_is_spelled_as_requested() -> None:
    req = ShellRequest("rm", r"\S*\.py", "ending in .py", ".py")
    assert pick_files(["trace.pv", "vim.html", "photos.py"], req) == ["photos.py", "trace.py"]
    assert pick_files(["vim.html"], req) == []
    # two names read as one, the space between them lost
    assert pick_files(["trace.pytrace.zip"], req) == ["trace.py"]
    assert pick_files(["notes.txt", "py"], req) == []
    # an ending read with a letter in the wrong case still finds the listed file
    misread = ShellRequest("rm", r"\S*\.pY", "ending in .pY", ".pY")
    assert pick_files(["vim.html", "encrypted.py"], misread) == ["encrypted.py"]
    assert pick_files(["encrypted.pv"], misread) == ["encrypted.py"]


def test_a_two_part_suffix_read_with_a_colon_or_without_its_dots() -> None:
    req = parse_shell_request("Use the terminal below to delete a file ending with the extension .tar:gz")
    assert req is not None and req.suffix == ".tar.gz"
    assert pick_files(["containertargz", "index.gpg", "steam.rb"], req) == ["container.tar.gz"]


def test_cursor_and_rim_are_no_text() -> None:
    img = np.zeros((80, 80, 3), np.uint8)
    img[30:40, 10:15] = (73, 244, 104)  # a solid block cursor
    img[0:2, 0:2] = 200  # a light corner
    assert text_ink(img, (0, 0, 80, 80)).max() == 0.0
    img[20:28, 40:42] = (73, 244, 104)  # a thin stroke (an l) stays
    assert text_ink(img, (0, 0, 80, 80))[24, 40] > 0.5


def test_listing_read_with_the_panels_own_font() -> None:
    listing = np.asarray(Image.open(DATA / "console-listing.png").convert("RGB"))
    sheet = np.asarray(Image.open(DATA / "console-glyphs.png").convert("RGB"))
    box = find_console(sheet, top=60)
    assert box is not None and box == find_console(listing, top=60)
    glyphs = learn_glyphs(text_ink(sheet, box))
    assert glyphs is not None
    words = command_output(text_ink(listing, box), glyphs, "ls")
    assert words == ["photos.py", "trace.py", "vim.html"]
