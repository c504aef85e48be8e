"""Helpers shared by brittle's tests and benchmarks: project builders, stub servers, synthetic runs.

Imported as a package (``from tests.support.stub_server import ...``); benchmarks run as modules
from the repository root (``python -m benchmarks.bench_demo``) so the same import works there.
"""

from pathlib import Path

#: the repository root (the folder holding ``pyproject.toml``)
ROOT = Path(__file__).resolve().parents[2]
