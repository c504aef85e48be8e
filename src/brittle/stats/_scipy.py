"""scipy's modules, imported on first use.

``import scipy.stats`` costs 1-3 s and about 45 MB (``benchmarks/bench_lean.py``); a run with
absolute gates only, and a 95 % interval, needs none of it. The statistics that do (the margin
test, power, BCa bounds) reach scipy through these stand-ins, which import the real module on
their first attribute look-up.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _OnFirstUse:
    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)


optimize: Any = _OnFirstUse("scipy.optimize")
special: Any = _OnFirstUse("scipy.special")
stats: Any = _OnFirstUse("scipy.stats")

__all__ = ["optimize", "special", "stats"]
