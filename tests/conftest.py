"""Shared settings for brittle's own tests (offline defaults live in the root conftest.py)."""

from __future__ import annotations

pytest_plugins = ["pytester"]
