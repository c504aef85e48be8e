"""The grammar of plausible formats that ``format_search`` explores: one point is one format.

FormatSpread (Sclar et al. 2023) searches a grammar of semantically equivalent prompt formats for
the best and the worst one. A :class:`FormatPoint` picks one style per dimension and
:func:`render` applies it to a whole template (through :func:`brittle.perturb.formats.
render_format`, which the ``format`` family uses too), consistently on every field line:

- ``separator``: after a field name (``Review:``, ``Review -``, ``Review ::``, ...);
- ``spacing``: what follows the separator (a space, nothing, a newline, ...);
- ``casing``: of field names (``Review``, ``REVIEW``, ``review``, ``Review``);
- ``names``: field-name synonyms (``Review`` -> ``Text`` -> ``Passage``; 0: as written);
- ``quoting``: around the input (``"..."``, ``<input>...</input>``, ...);
- ``enumeration``: how the answer ``choices`` are listed (needs the choices).

``"as-is"`` (``names`` 0) leaves a dimension alone, so :data:`ORIGINAL` is the template itself.
:class:`FixedFormat` replays one point as a template-level perturbation: how a format frozen into
a fixture (:mod:`brittle.search.formats`) is tested by later runs.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from brittle._errors import ConfigError
from brittle.perturb._base import FamilyBase
from brittle.perturb.formats import (
    CASINGS,
    ENUMERATIONS,
    QUOTES,
    SEPARATORS,
    SPACINGS,
    render_format,
)

AS_IS = "as-is"
DIMENSIONS = ("separator", "spacing", "casing", "names", "quoting", "enumeration")

#: field-name synonyms, by the lower-cased name; a name not listed gets the generic ones below
FIELD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "review": ("Text", "Passage", "Comment"),
    "text": ("Input", "Passage", "Content"),
    "input": ("Text", "Query", "Content"),
    "sentence": ("Text", "Input", "Passage"),
    "passage": ("Text", "Context", "Document"),
    "question": ("Query", "Q", "Problem"),
    "query": ("Question", "Input", "Q"),
    "answer": ("Response", "Output", "A"),
    "sentiment": ("Label", "Answer", "Polarity"),
    "label": ("Category", "Class", "Answer"),
    "category": ("Label", "Class", "Type"),
    "output": ("Answer", "Response", "Result"),
}
GENERIC_INPUT_NAMES = ("Input", "Text", "Passage")
GENERIC_OUTPUT_NAMES = ("Answer", "Output", "Label")
NAME_STYLES = 4  # 0 (as written) and three synonyms


def _options() -> dict[str, tuple[Any, ...]]:
    return {
        "separator": (AS_IS, *SEPARATORS),
        "spacing": (AS_IS, *SPACINGS),
        "casing": CASINGS,
        "names": tuple(range(NAME_STYLES)),
        "quoting": tuple(QUOTES),
        "enumeration": (AS_IS, *ENUMERATIONS),
    }


OPTIONS = _options()
"""Every dimension's styles; the first of each is "leave it as it is"."""


@dataclass(frozen=True, order=True)
class FormatPoint:
    """One format: a style per dimension (see the module docstring)."""

    separator: str = AS_IS
    spacing: str = AS_IS
    casing: str = AS_IS
    names: int = 0
    quoting: str = "none"
    enumeration: str = AS_IS

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in DIMENSIONS}

    def label(self) -> str:
        """A short name for reports: the dimensions it changes (``original`` for none)."""
        changed = [
            f"{name}={value}"
            for name, value in self.as_dict().items()
            if value != getattr(ORIGINAL, name)
        ]
        return " ".join(changed) or "original"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str | None = None) -> FormatPoint:
        """The point a fixture line or a report recorded; unknown styles are a ConfigError."""
        if not isinstance(data, Mapping):
            raise ConfigError("a format must be a mapping of dimension to style", where=where)
        unknown = [key for key in data if key not in DIMENSIONS]
        if unknown:
            raise ConfigError(
                f"format names unknown dimension '{unknown[0]}'",
                where=where,
                key="format",
                fix=f"use the dimensions {', '.join(DIMENSIONS)}",
            )
        values: dict[str, Any] = {}
        for name in DIMENSIONS:
            value = data.get(name, getattr(ORIGINAL, name))
            if value not in OPTIONS[name]:
                raise ConfigError(
                    f"format dimension '{name}' has no style {value!r}",
                    where=where,
                    key=f"format.{name}",
                    fix=f"use one of: {', '.join(str(o) for o in OPTIONS[name])}",
                )
            values[name] = value
        return cls(**values)


ORIGINAL = FormatPoint()
"""The template as written."""


def _synonym(name: str, is_input: bool, style: int) -> str:
    if style == 0:
        return name
    listed = FIELD_SYNONYMS.get(name.lower())
    if listed is None:
        listed = GENERIC_INPUT_NAMES if is_input else GENERIC_OUTPUT_NAMES
    return listed[(style - 1) % len(listed)]


def render(template: str, point: FormatPoint, choices: Sequence[str] | None = None) -> str:
    """``template`` in format ``point`` (enumeration only when ``choices`` are known)."""
    return render_format(
        template,
        separator=None if point.separator == AS_IS else SEPARATORS[point.separator],
        spacing=None if point.spacing == AS_IS else SPACINGS[point.spacing],
        casing=point.casing,
        quote=QUOTES[point.quoting],
        enumeration=None if point.enumeration == AS_IS else point.enumeration,
        choices=choices,
        rename=None
        if point.names == 0
        else lambda name, is_input: _synonym(name, is_input, point.names),
    )


def draw_formats(
    template: str,
    count: int,
    rng: random.Random,
    *,
    choices: Sequence[str] | None = None,
    attempts: int = 20,
) -> list[tuple[FormatPoint, str]]:
    """``count`` formats of ``template`` with distinct renderings, the original first.

    Each further point draws every dimension at random; a draw that renders like an earlier one
    (a dimension the template has nothing for) is drawn again, ``attempts`` times per slot, so a
    template with few fields may give fewer formats.
    """
    found: list[tuple[FormatPoint, str]] = [(ORIGINAL, template)]
    seen = {template}
    for _ in range(max(count - 1, 0)):
        for _ in range(attempts):
            point = FormatPoint(**{name: rng.choice(OPTIONS[name]) for name in DIMENSIONS})
            text = render(template, point, choices)
            if text not in seen:
                seen.add(text)
                found.append((point, text))
                break
    return found


@dataclass(frozen=True)
class FixedFormat(FamilyBase):
    """One recorded format, applied to whatever template it is given (rng unused): the
    ``format_fixture`` entries of the suite a format-search fixture makes."""

    family: ClassVar[str] = "format_fixture"
    target: ClassVar[str] = "format"
    format: tuple[tuple[str, Any], ...]
    choices: tuple[str, ...] | None = None

    @property
    def point(self) -> FormatPoint:
        return FormatPoint.from_dict(dict(self.format))

    @property
    def params(self) -> dict[str, Any]:
        return {
            "format": dict(self.format),
            **({"choices": list(self.choices)} if self.choices else {}),
        }

    def apply(self, text: str, rng: random.Random) -> str:
        return render(text, self.point, self.choices)


def fixed_format(point: FormatPoint, choices: Sequence[str] | None = None) -> FixedFormat:
    return FixedFormat(
        format=tuple(point.as_dict().items()), choices=tuple(choices) if choices else None
    )


__all__ = [
    "AS_IS",
    "DIMENSIONS",
    "FIELD_SYNONYMS",
    "OPTIONS",
    "ORIGINAL",
    "FixedFormat",
    "FormatPoint",
    "draw_formats",
    "fixed_format",
    "render",
]
