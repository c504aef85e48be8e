"""A SystemRun's repr stays one short line however many rows it holds (asyncio formats it)."""

from __future__ import annotations

from brittle.run.engine import RESULT_COLUMNS, SystemRun


def test_repr_of_a_large_run_is_short() -> None:
    rows = 10_000
    columns = {name: ["x" * 50] * rows for name in RESULT_COLUMNS}
    run = SystemRun("stub", "prompt", "abc123", {}, columns, {"overall": {}}, [], 1.5)
    text = repr(run)
    assert (
        text
        == "SystemRun(system='stub', kind='prompt', fingerprint='abc123', rows=10000, wall_s=1.500)"
    )
