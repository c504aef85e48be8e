"""Text on the page: escaping, clipping and the word diff (numbers: :mod:`brittle._format`).

Every text the report shows may come from a model, a golden set or a user file, so it passes
through :func:`esc` (:func:`html.escape`, quotes included) before it lands in the page or in an
attribute. Long texts are clipped at :data:`MAX_TEXT` characters (answers at :data:`MAX_ANSWER`)
so one verbose output cannot blow up the file. These helpers sit below both the plots
(:mod:`.svg`) and the sections, so they live here rather than in either.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Sequence
from typing import Any

from brittle.sanitize import SUMMARY_LIMIT
from brittle.sanitize import clip as clip_text

MAX_TEXT = 1500
#: longest answer shown (an answer is what the checks extracted; the output beside it is longer)
MAX_ANSWER = SUMMARY_LIMIT


def esc(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def clip(text: Any, limit: int = MAX_TEXT) -> str:
    """``text`` (None: empty) cut at ``limit`` characters, saying how many of the full text were
    left out (:func:`brittle.sanitize.clip`)."""
    return clip_text("" if text is None else str(text), limit)


_TOKEN = re.compile(r"\w+\s*|[^\w\s]+\s*|\s+", re.UNICODE)
MAX_DIFF_WORK = 200_000
"""Above this product of token counts, a diff marks only what lies between the common prefix
and suffix (difflib's matching is quadratic on repetitive texts)."""


def _opcodes(a: Sequence[str], b: Sequence[str]) -> list[tuple[str, int, int, int, int]]:
    """difflib's opcodes, or a prefix/suffix split when exact matching would be too slow."""
    if len(a) * len(b) <= MAX_DIFF_WORK:
        matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
        return [(op, i1, i2, j1, j2) for op, i1, i2, j1, j2 in matcher.get_opcodes()]
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    ops = [("equal", 0, start, 0, start)] if start else []
    if start < len(a) - end or start < len(b) - end:
        ops.append(("replace", start, len(a) - end, start, len(b) - end))
    if end:
        ops.append(("equal", len(a) - end, len(a), len(b) - end, len(b)))
    return ops


def word_diff(before: Any, after: Any) -> tuple[str, str]:
    """Escaped HTML of both texts with the words that differ in ``<del>`` and ``<ins>``."""
    a_tokens = _TOKEN.findall(clip(before))
    b_tokens = _TOKEN.findall(clip(after))
    out_a: list[str] = []
    out_b: list[str] = []
    for op, i1, i2, j1, j2 in _opcodes(a_tokens, b_tokens):
        a_text = esc("".join(a_tokens[i1:i2]))
        b_text = esc("".join(b_tokens[j1:j2]))
        if op == "equal":
            out_a.append(a_text)
            out_b.append(b_text)
            continue
        if a_text:
            out_a.append(f"<del>{a_text}</del>")
        if b_text:
            out_b.append(f"<ins>{b_text}</ins>")
    return "".join(out_a), "".join(out_b)


__all__ = ["MAX_ANSWER", "MAX_TEXT", "clip", "esc", "word_diff"]
