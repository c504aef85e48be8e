"""A base for the built-in families: frozen dataclasses whose fields are their parameters."""

from __future__ import annotations

import dataclasses
import random
from typing import Any, ClassVar


@dataclasses.dataclass(frozen=True)
class FamilyBase:
    """Fields hold the resolved parameters; ``params`` turns them into JSON-ready data.

    Keeping the parameters as typed fields (tuples, floats) and deriving ``params`` from them means
    the recorded parameters can never drift from the ones ``apply`` uses. Fields set to ``None`` are
    parameters that do not apply in the chosen mode and are left out.
    """

    family: ClassVar[str]
    target: ClassVar[str] = "input"

    @property
    def params(self) -> dict[str, Any]:
        return {
            field.name: _jsonable(getattr(self, field.name))
            for field in dataclasses.fields(self)
            if getattr(self, field.name) is not None
        }

    def apply(self, text: str, rng: random.Random) -> str:
        raise NotImplementedError


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    return value


def is_blank(text: str) -> bool:
    """Blank fields are left alone by every family: perturbing nothing tests nothing."""
    return not text.strip()
