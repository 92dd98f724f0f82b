"""Run Python code in a fresh interpreter outside the repository (what an installed lavr sees)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def python_outside(code: str, *args: str, cwd: Path,
                   timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -c code *args`` in ``cwd`` without PYTHONPATH; the result, whatever its exit."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
