"""``format``: the same prompt in another surface format (a FormatSpread-style grammar).

Sclar et al. (2023, "Quantifying Language Models' Sensitivity to Spurious Features in Prompt
Design") showed that formatting choices a human would never notice move accuracy by tens of
points. A variant draws, for each dimension in ``vary``, one style from a small grammar, and
applies it consistently to the whole template:

- ``separators``: the separator after a field name (``Review:`` -> ``Review -``, ``Review ::``);
- ``spacing``: what follows that separator (a space, nothing, a newline, a tab);
- ``casing``: the casing of field names (``Review``, ``REVIEW``, ``review``);
- ``quoting``: quotes or tags around the input (``"{{ text }}"``, ``<input>{{ text }}</input>``);
- ``enumeration``: how the answer ``choices`` are listed ("positive or negative",
  "positive/negative", "[positive, negative]", "(A) positive (B) negative").

A *field* is a line ``Name: value`` with at most three words before the colon (``Review: {{ text
}}``, ``Sentiment:``); its value and every Jinja2 tag are left as they are. Its ``target`` is
``"format"``: like the instruction-level families it rewrites a system's template.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from brittle.perturb import _params
from brittle.perturb._base import FamilyBase
from brittle.perturb.registry import Perturbation, register_family
from brittle.perturb.template import FIELD_LINE, TAG, map_literal

FORMAT_DIMENSIONS = ("separators", "spacing", "casing", "quoting", "enumeration")

SEPARATORS: dict[str, str] = {
    "colon": ":",
    "dash": " -",
    "equals": " =",
    "double-colon": " ::",
    "arrow": " ->",
    "pipe": " |",
}
SPACINGS: dict[str, str] = {
    "space": " ",
    "none": "",
    "two-spaces": "  ",
    "newline": "\n",
    "tab": "\t",
}
CASINGS = ("as-is", "upper", "lower", "title")
QUOTES: dict[str, tuple[str, str]] = {
    "none": ("", ""),
    "double": ('"', '"'),
    "single": ("'", "'"),
    "curly": ("“", "”"),
    "guillemets": ("«", "»"),
    "backticks": ("```\n", "\n```"),
    "tags": ("<input>", "</input>"),
}
ENUMERATIONS = ("or", "comma", "slash", "pipe", "brackets", "quoted", "numbered", "lettered")


def enumerate_choices(choices: Sequence[str], style: str) -> str:
    """``choices`` written in enumeration ``style``."""
    items = list(choices)
    if style == "or":
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
    if style == "comma":
        return ", ".join(items)
    if style == "slash":
        return "/".join(items)
    if style == "pipe":
        return " | ".join(items)
    if style == "brackets":
        return "[" + ", ".join(items) + "]"
    if style == "quoted":
        quoted = [f'"{item}"' for item in items]
        return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    if style == "numbered":
        return " ".join(f"({number}) {item}" for number, item in enumerate(items, start=1))
    return " ".join(f"({chr(ord('A') + index)}) {item}" for index, item in enumerate(items))


def _choice_list(choices: Sequence[str]) -> re.Pattern[str]:
    """The choices in order, joined as a list ("a or b", "a, b, or c", "a/b", "a | b")."""
    joiner = r"(?:\s*,\s*or\s+|\s*,\s*|\s+or\s+|\s*/\s*|\s*\|\s*)"
    body = joiner.join(
        rf"(?P<c{index}>{re.escape(choice)})" for index, choice in enumerate(choices)
    )
    return re.compile(rf"(?<![\w\"'])(?:{body})(?![\w\"'])", re.IGNORECASE)


def _case_name(name: str, casing: str) -> str:
    if casing == "upper":
        return name.upper()
    if casing == "lower":
        return name.lower()
    if casing == "title":
        return " ".join(word[:1].upper() + word[1:].lower() for word in name.split(" "))
    return name


@dataclass(frozen=True)
class Format(FamilyBase):
    """Draws one style per dimension in ``vary`` and applies it to every field consistently."""

    family: ClassVar[str] = "format"
    target: ClassVar[str] = "format"
    vary: tuple[str, ...]
    choices: tuple[str, ...] | None = None
    enumerations: tuple[str, ...] | None = None

    def apply(self, text: str, rng: random.Random) -> str:
        separator = rng.choice(list(SEPARATORS.values())) if "separators" in self.vary else None
        spacing = rng.choice(list(SPACINGS.values())) if "spacing" in self.vary else None
        casing = rng.choice(CASINGS) if "casing" in self.vary else "as-is"
        quote = rng.choice(list(QUOTES.values())) if "quoting" in self.vary else ("", "")
        enumeration = (
            rng.choice(self.enumerations)
            if "enumeration" in self.vary and self.choices and self.enumerations
            else None
        )
        return render_format(
            text,
            separator=separator,
            spacing=spacing,
            casing=casing,
            quote=quote,
            enumeration=enumeration,
            choices=self.choices,
        )


def render_format(
    text: str,
    *,
    separator: str | None = None,
    spacing: str | None = None,
    casing: str = "as-is",
    quote: tuple[str, str] = ("", ""),
    enumeration: str | None = None,
    choices: Sequence[str] | None = None,
    rename: Callable[[str, bool], str] | None = None,
) -> str:
    """``text`` (a template) with these styles applied to every field consistently; None (or
    ``"as-is"``, ``("", "")``) leaves a dimension alone. ``rename(name, is_input)`` gives a field
    name its synonym before casing (:mod:`brittle.perturb.format_grammar`)."""
    lines = text.split("\n")
    input_fields = {
        match["name"]
        for line in lines
        if (match := FIELD_LINE.match(line)) is not None and "{{" in match["value"]
    }
    out: list[str] = []

    def named(name: str) -> str:
        return name if rename is None else rename(name, name in input_fields)

    for line in lines:
        match = FIELD_LINE.match(line)
        if match is None:
            out.append(_quote_bare_tags(line, quote))
            continue
        value = match["value"]
        space = match["space"]
        if spacing is not None and value:
            space = spacing
        if match["name"] in input_fields and value.strip():
            value = _wrap(value, quote)
        out.append(
            match["indent"]
            + _case_name(named(match["name"]), casing)
            + (match["sep"] if separator is None else separator)
            + space
            + value
        )
    result = "\n".join(out)
    if enumeration is not None and choices:
        pattern = _choice_list(choices)

        def restyle(literal: str) -> str:
            def one(found: re.Match[str]) -> str:
                found_choices = [found[f"c{i}"] for i in range(len(choices or ()))]
                return enumerate_choices(found_choices, enumeration)

            return pattern.sub(one, literal)

        result = map_literal(result, restyle)
    return result


def _wrap(value: str, quote: tuple[str, str]) -> str:
    stripped = value.rstrip()
    return quote[0] + stripped + quote[1] + value[len(stripped) :]


def _quote_bare_tags(line: str, quote: tuple[str, str]) -> str:
    """A placeholder standing alone on its line is the input too: quote it."""
    if (
        quote == ("", "")
        or TAG.fullmatch(line.strip()) is None
        or not line.strip().startswith("{{")
    ):
        return line
    lead = line[: len(line) - len(line.lstrip())]
    return lead + _wrap(line.strip(), quote)


@register_family("format")
def format_(
    *,
    vary: Sequence[str] = FORMAT_DIMENSIONS,
    choices: Sequence[str] | None = None,
    enumerations: Sequence[str] = ENUMERATIONS,
) -> Perturbation:
    """A new surface format: one style drawn per dimension of ``vary``.

    ``enumeration`` needs the answer ``choices`` (as the template spells them) and draws from
    ``enumerations``; without ``choices`` that dimension is left alone.
    """
    chosen = _params.subset("format", "vary", vary, FORMAT_DIMENSIONS)
    return Format(
        vary=chosen,
        choices=None if choices is None else _params.texts("format", "choices", choices),
        enumerations=_params.subset("format", "enumerations", enumerations, ENUMERATIONS)
        if choices is not None
        else None,
    )
