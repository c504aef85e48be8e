"""Fixtures shared by the integration tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stubproject import FAKE_KEY, StubThread, start_in_thread


@pytest.fixture
def stub(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Iterator[StubThread]:
    """The stub server for a pytester project: a fake key, no response cache, no step summary
    (a module that needs another server defines its own ``stub``)."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("BRITTLE_CACHE", "off")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    pytester.makeini("[pytest]\naddopts = -p no:deepeval -p no:cacheprovider\n")
    with start_in_thread(latency=0.0) as server:
        yield server


@pytest.fixture
def venv(tmp_path: Path) -> Iterator[Path]:
    """A fresh virtual environment's path, removed afterwards (it holds about 2.5 GB)."""
    path = tmp_path / "venv"
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
