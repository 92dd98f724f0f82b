"""One colour vocabulary (``lavr.tools.vocab``) read by every layer that reads colour words."""

from __future__ import annotations

import ast
from pathlib import Path

from lavr.planners.plan_metrics import _norm_value
from lavr.planners.roles.rule_planner import RulePlanner, find_mentions
from lavr.tools.colour import COLOUR_NAMES as EXPERT_NAMES
from lavr.tools.vocab import (
    COLOUR_ALIASES,
    COLOUR_NAMES,
    COLOUR_NEIGHBOURS,
    COLOUR_WORDS,
    colour_matches,
    colour_name,
)

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("core_model", "tools", "planners", "agents", "episodes", "apps")


def test_every_colour_word_means_a_name_the_expert_gives() -> None:
    assert EXPERT_NAMES is COLOUR_NAMES
    assert set(COLOUR_WORDS.values()) == set(COLOUR_NAMES)
    assert not set(COLOUR_ALIASES) & set(COLOUR_NAMES)
    assert all(set(n) <= set(COLOUR_NAMES) for n in COLOUR_NEIGHBOURS.values())
    assert set(COLOUR_NEIGHBOURS) <= set(COLOUR_WORDS)


def test_colour_name_and_matches() -> None:
    assert colour_name(" Gray ") == "grey"
    assert colour_name("magenta") == "pink"
    assert colour_name("gold") == "gold"  # not a colour word: unchanged, lower-cased
    assert colour_matches("Magenta", "pink") and colour_matches("magenta", "purple")
    assert colour_matches("aqua", "cyan") and not colour_matches("aqua", "green")
    assert colour_matches("teal", "green") and colour_matches("black", "grey")
    assert not colour_matches("red", "pink") and not colour_matches("grey", "black")


def test_planner_and_plan_metrics_agree_on_magenta() -> None:
    # Before the vocabulary was one, the rule planner did not know "magenta" while
    # the filter tool and plan metrics read it as pink.
    assert [(m.label, m.colour) for m in find_mentions("how many magenta circles are there")] \
        == [("circle", "pink")]
    plan = RulePlanner().plan("How many magenta circles are there?")
    assert any(s.args.get("colour") == "pink" for s in plan.steps)
    assert _norm_value("colour", "Magenta") == "pink"


def test_no_module_keeps_its_own_colour_table() -> None:
    """A colour alias written as a string anywhere but the vocabulary is a second table."""
    aliases = set(COLOUR_ALIASES)
    found = []
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            if path == ROOT / "tools" / "vocab.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            found += [f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}"
                      for node in ast.walk(tree)
                      if isinstance(node, ast.Constant) and isinstance(node.value, str)
                      and node.value.lower() in aliases]
    assert found == []
