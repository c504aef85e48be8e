"""Reading a prompt template as blocks of instruction and input, with its Jinja2 tags protected.

Instruction- and format-level families rewrite a system's template, not a case's input. They must
never touch a Jinja2 tag (``{{ text }}``, ``{% ... %}``, ``{# ... #}``): a changed tag is a broken
template, not a reworded one. The helpers here split a template into *blocks* (paragraphs separated
by blank lines), tell which blocks hold an input placeholder and which one is *the instruction*,
and apply a rewrite to the literal text between tags only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import jinja2

TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_BLOCK_BREAK = re.compile(r"\n[ \t]*\n+")
_WORD = re.compile(r"[^\W\d_]+")

FIELD_LINE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<name>[A-Za-z][A-Za-z0-9_/'-]*(?: [A-Za-z0-9_/'-]+){0,2})"
    r"(?P<sep>[ \t]*:)(?!//)(?P<space>[ \t]*)(?P<value>.*)$"
)
"""A line of the form ``Name: value`` (at most three words before the colon).

``Review: {{ text }}``, ``Sentiment:`` and ``Sentiment: positive`` are field lines; ``Answer with
exactly one word: positive or negative.`` is not (five words before the colon, so it is prose).
"""


def has_tag(text: str) -> bool:
    return TAG.search(text) is not None


def map_literal(template: str, rewrite: Callable[[str], str]) -> str:
    """``template`` with ``rewrite`` applied to each stretch of literal text between tags."""
    out: list[str] = []
    cursor = 0
    for tag in TAG.finditer(template):
        out.append(rewrite(template[cursor : tag.start()]))
        out.append(tag[0])
        cursor = tag.end()
    out.append(rewrite(template[cursor:]))
    return "".join(out)


def literal_text(template: str) -> str:
    """The template's literal text with every tag replaced by ``…`` (what a reader sees)."""
    return TAG.sub("…", template)


def compiles(template: str) -> bool:
    """Whether ``template`` is still valid Jinja2 (a safety net after a rewrite)."""
    try:
        jinja2.Environment().parse(template)
    except jinja2.TemplateSyntaxError:
        return False
    return True


@dataclass(frozen=True)
class Blocks:
    """A template split into paragraphs; ``gaps[i]`` is the blank-line run after ``blocks[i]``.

    ``"".join(interleave(blocks, gaps))`` is the template again, byte for byte.
    """

    blocks: tuple[str, ...]
    gaps: tuple[str, ...]

    @classmethod
    def parse(cls, template: str) -> Blocks:
        blocks: list[str] = []
        gaps: list[str] = []
        cursor = 0
        for gap in _BLOCK_BREAK.finditer(template):
            if has_tag(template[gap.start() : gap.end()]):
                continue
            blocks.append(template[cursor : gap.start()])
            gaps.append(gap[0])
            cursor = gap.end()
        blocks.append(template[cursor:])
        gaps.append("")
        return cls(tuple(blocks), tuple(gaps))

    def join(self) -> str:
        return "".join(block + gap for block, gap in zip(self.blocks, self.gaps, strict=True))

    def replace(self, index: int, block: str) -> Blocks:
        blocks = list(self.blocks)
        blocks[index] = block
        return Blocks(tuple(blocks), self.gaps)

    @property
    def input_index(self) -> int | None:
        """The first block holding a Jinja2 tag (the case's input), or None."""
        return next((i for i, block in enumerate(self.blocks) if has_tag(block)), None)

    @property
    def instruction_index(self) -> int | None:
        """The first prose block without tags: the task instruction, or None.

        Prose means a sentence of at least three words that is not a field line (``Examples:``,
        ``Sentiment: positive``); a template that is only ``Review: {{ text }}`` has none.
        """
        for index, block in enumerate(self.blocks):
            if has_tag(block) or not block.strip():
                continue
            lines = [line for line in block.splitlines() if line.strip()]
            if any(_is_prose(line) for line in lines):
                return index
        return None


def _is_prose(line: str) -> bool:
    return FIELD_LINE.match(line) is None and len(_WORD.findall(line)) >= 3


def instruction_of(template: str) -> str | None:
    """The instruction block of ``template`` (see :attr:`Blocks.instruction_index`), or None."""
    blocks = Blocks.parse(template)
    index = blocks.instruction_index
    return None if index is None else blocks.blocks[index]


def replace_instruction(template: str, rewrite: Callable[[str], str | None]) -> str:
    """``template`` with its instruction block rewritten; unchanged if it has none.

    ``rewrite`` gets the block without its surrounding whitespace and returns the new block, or
    None to leave it as it is. Leading and trailing whitespace of the block are kept.
    """
    blocks = Blocks.parse(template)
    index = blocks.instruction_index
    if index is None:
        return template
    block = blocks.blocks[index]
    core = block.strip()
    new = rewrite(core)
    if new is None or new == core:
        return template
    start = block.index(core)
    return blocks.replace(index, block[:start] + new + block[start + len(core) :]).join()
