"""Snapshot of the compiled graph's Mermaid drawing: every graph change shows up in review.

Regenerate after an intended change:
    .venv/bin/python -c "from lavr.agents.graph import mermaid; print(mermaid())" > tests/agents/graph.mmd
"""

from pathlib import Path

from lavr.agents.graph import mermaid

SNAPSHOT = Path(__file__).with_name("graph.mmd")


def test_graph_matches_snapshot():
    assert mermaid().strip() == SNAPSHOT.read_text().strip()
