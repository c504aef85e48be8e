"""The ``python`` check: a user function ``(output, case) -> bool | float | CheckResult`` decides.

The function is a callable (Python API) or named in an eval file as ``module:attr`` or
``file.py:attr``, imported relative to the eval's folder.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import math
import numbers
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from brittle import _registry
from brittle._errors import ConfigError
from brittle.checks._params import boolean, kind, real, short
from brittle.checks.base import Check, CheckResult
from brittle.spec.cases import Case

__all__ = ["CheckFunction", "python"]

CheckFunction = Callable[[str, Case], Any]


def _import_function(spec: str, base_dir: str | Path | None) -> CheckFunction:
    """Import ``module:attr`` or ``file.py:attr`` (a file relative to ``base_dir``)."""
    form_fix = (
        "write it as 'package.module:function', or 'file.py:function' for a file next to the eval"
    )
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(
            f"{spec!r} is not of the form 'module:function'", key="function", fix=form_fix
        )
    if module_name.endswith(".py"):
        path = Path(module_name).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        if not path.is_file():
            raise ConfigError(
                f"the file '{path}' for {spec!r} does not exist", key="function", fix=form_fix
            )
        digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
        unique = f"brittle_user_{path.stem}_{digest}"
        module = sys.modules.get(unique)
        if module is None:
            file_spec = importlib.util.spec_from_file_location(unique, path)
            if file_spec is None or file_spec.loader is None:
                raise ConfigError(f"cannot load '{path}' as Python", key="function")
            module = importlib.util.module_from_spec(file_spec)
            try:
                file_spec.loader.exec_module(module)
            except Exception as exc:
                raise ConfigError(
                    f"importing '{path}' failed: {type(exc).__name__}: {exc}",
                    key="function",
                    fix="fix the error in that file",
                ) from None
            sys.modules[unique] = module
    else:
        try:
            module = _import_module(module_name, base_dir)
        except ModuleNotFoundError as exc:
            raise ConfigError(
                f"cannot import {spec!r}: no module named {exc.name!r}",
                key="function",
                fix="install the module, or put it next to the eval file; " + form_fix,
            ) from None
        except Exception as exc:
            raise ConfigError(
                f"importing '{module_name}' for {spec!r} failed: {type(exc).__name__}: {exc}",
                key="function",
                fix="fix the error in that module",
            ) from None
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            names = [name for name in dir(target) if not name.startswith("_")]
            raise ConfigError(
                f"{spec!r}: '{module_name}' has no attribute {part!r}",
                key="function",
                fix=_registry.suggest(part, names) + f"name a function defined in '{module_name}'",
            )
        target = getattr(target, part)
    if not callable(target):
        raise ConfigError(f"{spec!r} is not callable", key="function", fix=form_fix)
    function: CheckFunction = target
    return function


def _import_module(name: str, base_dir: str | Path | None) -> Any:
    """Import ``name``; if missing and ``base_dir`` is given, retry with it on ``sys.path``.

    The eval's folder stays on ``sys.path`` afterwards, as pytest's rootdir insertion does, so
    the module's own sibling imports keep working.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        top = name.split(".")[0]
        if base_dir is None or exc.name != top:
            raise
        folder = str(Path(base_dir).resolve())
        if folder in sys.path:
            raise
        sys.path.insert(0, folder)
        importlib.invalidate_caches()
        return importlib.import_module(name)


class _PythonCheck(Check):
    def __init__(
        self, function: CheckFunction, described: str, threshold: float, requires_expected: bool
    ) -> None:
        super().__init__(
            "python",
            {"function": described, "threshold": threshold, "requires_expected": requires_expected},
            requires_expected=requires_expected,
            defaults={"threshold": 0.5, "requires_expected": False},
        )
        self._function = function
        self._threshold = threshold

    def check(self, output: str, case: Case) -> CheckResult:
        try:
            value = self._function(output, case)
        except Exception as exc:
            return CheckResult(passed=False, detail=f"error: {type(exc).__name__}: {exc}")
        if isinstance(value, CheckResult):
            return value
        if isinstance(value, bool | np.bool_):
            return CheckResult(
                passed=bool(value), detail="" if value else "function returned False"
            )
        if isinstance(value, numbers.Real):
            score = float(value)
            if math.isnan(score) or not 0.0 <= score <= 1.0:
                return CheckResult(
                    passed=False, detail=f"function returned {score!r}, outside [0, 1]"
                )
            passed = score >= self._threshold
            detail = "" if passed else f"score {score:.3f} < threshold {self._threshold:g}"
            return CheckResult(passed=passed, score=score, detail=detail)
        return CheckResult(
            passed=False,
            detail=f"function returned {type(value).__name__} {short(repr(value))}; a check "
            "function must return a bool, a float in [0, 1] or a CheckResult",
        )


def python(
    function: str | CheckFunction,
    *,
    threshold: float = 0.5,
    requires_expected: bool = False,
    base_dir: str | Path | None = None,
) -> Check:
    """A user function ``(output, case)`` decides.

    ``function`` is a callable (Python API) or ``"module:attr"`` / ``"file.py:attr"`` (eval
    files; both looked for relative to ``base_dir``, the eval's folder). It returns a bool, a
    float in [0, 1] (passes at ``threshold`` or above; kept as the score) or a
    :class:`CheckResult`. An exception in it fails that one output with ``detail="error: ..."``
    rather than stopping the run. ``requires_expected`` declares that it reads
    ``case.expected``, so cases without one are reported when the eval is loaded.
    """
    if isinstance(function, str):
        resolved = _import_function(function, base_dir)
        described = function
    elif callable(function):
        resolved = function
        described = _registry.address(function)
    else:
        raise ConfigError(
            f"must be 'module:function' or a callable, got {kind(function)}", key="function"
        )
    try:
        inspect.signature(resolved).bind(None, None)
    except TypeError:
        raise ConfigError(
            f"{described!r} cannot be called as function(output, case)",
            key="function",
            fix="define it as def check(output: str, case: Case) -> bool | float | CheckResult",
        ) from None
    except ValueError:
        pass  # no signature available (some builtins); trust it
    return _PythonCheck(
        resolved,
        described,
        real(threshold, "threshold", low=0.0, high=1.0),
        boolean(requires_expected, "requires_expected"),
    )
