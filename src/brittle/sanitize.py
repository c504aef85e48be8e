"""Model text made safe to show: on a terminal, in markdown and in HTML.

Model outputs and golden inputs are untrusted text. Wherever brittle renders them it strips
terminal escape sequences and control characters (an output could otherwise recolour or clear a
CI log), escapes markup (a ``<script>`` in an output must stay text in a job summary or an HTML
report), masks secrets, and shortens megabyte outputs to a readable excerpt. The results table
(``results.parquet``) keeps every output in full; only renderings are shortened.
"""

from __future__ import annotations

import html
import re

from brittle.redact import scrub

#: longest excerpt of one text shown in summaries (characters)
SUMMARY_LIMIT = 300

_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor movement, clearing
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[@-Z\\-_]?"  # other escapes (and a lone ESC)
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]|#~!])")


def strip_ansi(text: str) -> str:
    """``text`` without terminal escape sequences and control characters (keeps newlines, tabs)."""
    return _CONTROL.sub("", _ANSI.sub("", text))


def clip(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """At most ``limit`` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def for_terminal(text: object, limit: int | None = None) -> str:
    """Printable on a terminal: no escape sequences, no control characters, secrets masked."""
    cleaned = strip_ansi(scrub(str(text)))
    return clip(cleaned, limit) if limit is not None else cleaned


def for_markdown(text: object, limit: int = SUMMARY_LIMIT) -> str:
    """One line of inert markdown (fit for a table cell): markup and HTML escaped, shortened."""
    flat = " ".join(strip_ansi(scrub(str(text))).split())
    flat = clip(flat, limit)
    escaped = html.escape(flat, quote=False)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escaped)


def for_html(text: object, limit: int | None = SUMMARY_LIMIT) -> str:
    """Escaped HTML text (quotes included), secrets masked, optionally shortened."""
    cleaned = strip_ansi(scrub(str(text)))
    if limit is not None:
        cleaned = clip(cleaned, limit)
    return html.escape(cleaned, quote=True)


__all__ = ["SUMMARY_LIMIT", "clip", "for_html", "for_markdown", "for_terminal", "strip_ansi"]
