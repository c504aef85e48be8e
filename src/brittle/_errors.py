"""brittle's exceptions, in one hierarchy.

::

    BrittleError                  anything brittle raises on purpose
    ├── ConfigError               bad user input: eval, golden, suite, gate, template, baseline
    │   ├── BaselineError         a baseline that cannot be read (corrupt, other format version)
    │   └── CacheError            a response cache or cache export that cannot be used
    ├── ModelError                a model call that cannot be made (unknown model, bad adapter)
    │   └── AuthenticationFailed  credentials refused (401/403) mid-run: the run stops
    └── EvalRunError              an eval that could not be run to the end
        └── ReplayMissError       replay mode, and calls are missing from the response cache

Every message names where the problem is (file, line or key), what is wrong, and how to fix it,
so the pytest plugin and the command line print it as one paragraph, never as a traceback.
"""

from __future__ import annotations

from pathlib import Path


class BrittleError(Exception):
    """Base class for errors raised by brittle."""


class ConfigError(BrittleError):
    """A user-supplied file or value is wrong.

    ``where`` is a file path, optionally followed by ``:line``; ``key`` names the offending key or
    field; ``fix`` says what to do about it.
    """

    def __init__(
        self,
        problem: str,
        *,
        where: str | Path | None = None,
        line: int | None = None,
        key: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.problem = problem
        self.where = str(where) if where is not None else None
        self.line = line
        self.key = key
        self.fix = fix
        super().__init__(self.format())

    def format(self) -> str:
        location = ""
        if self.where:
            location = self.where
            if self.line is not None:
                location += f":{self.line}"
        head = ": ".join(part for part in (location, self.key and f"'{self.key}'") if part)
        message = f"{head}: {self.problem}" if head else self.problem
        if self.fix:
            message += f"\n  fix: {self.fix}"
        return message


class BaselineError(ConfigError):
    """A baseline file exists but cannot be used."""


class ModelError(BrittleError):
    """A model cannot be called: unknown name, missing or corrupt adapter, prompt too long."""


class EvalRunError(BrittleError):
    """An eval could not be run to the end."""


class CacheError(ConfigError):
    """The response cache (or a cache export file) is unreadable or of another format."""


class AuthenticationFailed(ModelError):
    """A provider refused the credentials (HTTP 401 or 403) of an endpoint that had answered.

    Retrying cannot help and every further call would fail the same way, so the gateway stops
    making calls and the run stops with this message. (A refusal of an endpoint's first call
    stops only the systems calling that endpoint: :mod:`brittle.gateway.preflight`.)
    """


class ReplayMissError(EvalRunError):
    """Replay mode (``--brittle-cache=replay``) and some calls are not in the response cache.

    ``missing`` holds the row ids (cases and variants) whose calls were not recorded.
    """

    def __init__(self, message: str, missing: list[str] | None = None) -> None:
        super().__init__(message)
        self.missing = list(missing or [])
