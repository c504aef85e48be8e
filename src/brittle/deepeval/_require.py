"""deepeval is an optional extra: what brittle says when it is not installed.

``pip install brittle`` leaves deepeval out (it is heavy, and its pytest plugin loads into every
pytest run of the environment); ``pip install 'brittle[deepeval]'`` brings it. Everything here
that needs it says so in one line naming that command: the ``deepeval`` check as a
:class:`~brittle.ConfigError` (an eval file that names it), the deepeval-facing names of
:mod:`brittle.deepeval` as a ``ModuleNotFoundError`` (what Python code expects of an import).
"""

from __future__ import annotations

from brittle._errors import ConfigError

__all__ = ["INSTALL", "missing_deepeval"]

INSTALL = "pip install 'brittle[deepeval]'"


def _missing(exc: BaseException) -> bool:
    """Whether ``exc`` says deepeval itself is absent (not a module deepeval failed to import)."""
    name = getattr(exc, "name", None) or ""
    return isinstance(exc, ModuleNotFoundError) and name.split(".")[0] == "deepeval"


def missing_deepeval(exc: ImportError, what: str) -> ImportError:
    """The error to raise for ``exc``, caught importing deepeval for ``what``.

    deepeval absent: a ``ModuleNotFoundError`` naming :data:`INSTALL`; any other import error
    (deepeval installed but broken) is returned unchanged.
    """
    if not _missing(exc):
        return exc
    return ModuleNotFoundError(
        f"{what} needs deepeval, which is not installed; install it with: {INSTALL}",
        name="deepeval",
    )


def check_error(exc: ImportError) -> ImportError | ConfigError:
    """:func:`missing_deepeval` for the ``deepeval`` check: a ConfigError when it is absent."""
    if not _missing(exc):
        return exc
    return ConfigError(
        "the deepeval check needs deepeval, which is not installed",
        fix=f"install it with: {INSTALL} (or use a check that needs no judge)",
    )
