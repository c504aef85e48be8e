"""Model text made safe to show: on a terminal, in markdown and in HTML.

Model outputs and golden inputs are untrusted text. Wherever brittle renders them it strips
terminal escape sequences and control characters (an output could otherwise recolour or clear a
CI log), escapes markup (a ``<script>`` in an output must stay text in a job summary or an HTML
report), masks secrets, and shortens megabyte outputs to a readable excerpt. The results table
(``results.parquet``) keeps every output in full; only renderings are shortened, and the answers
that baselines and the run history keep (:func:`clip_stored`).
"""

from __future__ import annotations

import hashlib
import html
import re

from brittle.redact import scrub

#: longest excerpt of one text shown in summaries (characters)
SUMMARY_LIMIT = 300
#: longest text a baseline or the run history keeps of an answer, whole (characters)
STORED_LIMIT = 2000

_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor movement, clearing
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[@-Z\\-_]?"  # other escapes (and a lone ESC)
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]|#~!])")


_SURROGATE = re.compile(r"[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def repair_unicode(text: str) -> tuple[str, str | None]:
    """``text`` with lone surrogates (``"\\ud800"`` in valid JSON; they cannot be written as
    UTF-8, so SQLite, pyarrow and every report would fail on them) replaced by U+FFFD, and a
    note saying how many were replaced (None when none were)."""
    repaired, count = _SURROGATE.subn(REPLACEMENT, text)
    if not count:
        return text, None
    return repaired, f"{count} lone surrogate(s) replaced with U+FFFD"


def decode_utf8(raw: bytes) -> tuple[str, str | None]:
    """``raw`` decoded as UTF-8, undecodable bytes replaced by U+FFFD, with a note saying how
    many replacement characters that made (None when all of it decoded)."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    text = raw.decode("utf-8", "replace")
    made = max(1, text.count(REPLACEMENT) - raw.count(REPLACEMENT.encode("utf-8")))
    return text, f"undecodable bytes replaced with {made} U+FFFD"


def strip_ansi(text: str) -> str:
    """``text`` without terminal escape sequences and control characters (keeps newlines, tabs)."""
    return _CONTROL.sub("", _ANSI.sub("", text))


def clip(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """At most ``limit`` characters, saying how many were left out (of the full text, for a
    text clipped before by :func:`clip_stored`)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({full_length(text) - limit:,} more characters)"


def clip_stored(text: str, limit: int = STORED_LIMIT) -> str:
    """``text`` as a baseline or the run history keeps it: whole up to ``limit`` characters,
    else its first ``limit``, then its full length and the start of its SHA-256.

    Stored answers are compared with each other (a baseline's agreement: is the variant's answer
    the original's?), so two stored texts are equal exactly when the texts were, up to a 64-bit
    hash collision: a clipped text is longer than ``limit`` and a whole one is not, and two
    clipped texts differ in the note when the texts differ past the excerpt. Clipping a stored
    text again gives it back unchanged; :func:`full_length` reads the length back.
    """
    if len(text) <= limit:
        return text
    note = _stored_note(text)
    if note is not None and len(text) - len(note[0]) == limit:
        return text  # clipped already
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{text[:limit]}… [{len(text):,} characters, sha256 {digest}]"


_STORED_NOTE = re.compile(r"… \[([\d,]+) characters, sha256 [0-9a-f]{16}\]\Z")


def _stored_note(text: str) -> re.Match[str] | None:
    """The note :func:`clip_stored` ends a clipped text with (only the tail is searched)."""
    return _STORED_NOTE.search(text[-64:])


def full_length(text: str) -> int:
    """The length of the text that ``text`` stands for: its own, or the one named in the note
    of a text clipped by :func:`clip_stored`."""
    note = _stored_note(text)
    return int(note[1].replace(",", "")) if note is not None else len(text)


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


__all__ = [
    "REPLACEMENT",
    "STORED_LIMIT",
    "SUMMARY_LIMIT",
    "clip",
    "clip_stored",
    "decode_utf8",
    "for_html",
    "for_markdown",
    "for_terminal",
    "full_length",
    "repair_unicode",
    "strip_ansi",
]
