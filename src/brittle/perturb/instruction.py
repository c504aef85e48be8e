"""Instruction-level families: they rewrite a system's prompt template, not a case's input.

- ``instruction``: the task instruction reworded, from the suite's own list (``rewordings``), from
  a frozen file of model-generated paraphrases (``file``, written by ``brittle paraphrase
  --template``), or by built-in frames ("Please classify ...", "Your task: classify ...");
- ``preamble``: a politeness or role line before the template ("You are an expert annotator.");
- ``placement``: the instruction moved after the input, or before it.

Their ``target`` is ``"instruction"``: the engine applies them per system to the template text
(``apply(template, rng)``), protecting every Jinja2 tag, and for each case, so that variant ids
read like input variants (``rev-017[instruction#1]``). A system without a template (a Python
callable, a fine-tuned model sent the bare input) has no instruction: such variants are no-ops.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from brittle.perturb import _params
from brittle.perturb._base import FamilyBase
from brittle.perturb.frozen import FrozenFile, load_frozen
from brittle.perturb.registry import Perturbation, register_family
from brittle.perturb.template import FIELD_LINE, Blocks, replace_instruction

FRAMES: dict[str, str] = {
    "please": "Please {lower}",
    "task": "Your task: {lower}",
    "need": "I need you to {lower}",
    "would": "I would like you to {lower}",
    "could": "Could you {lower_open}?",
    "label": "Instruction: {same}",
}
"""Built-in rewordings of an imperative first sentence ("Classify the review ...")."""

_FIRST_SENTENCE = re.compile(r"(?s)^(.*?[.!?])(?=\s|$)")


def _lower_first(sentence: str) -> str:
    word = sentence.split(" ", 1)[0]
    if word == "I" or (len(word) > 1 and word.isupper()):
        return sentence
    return sentence[:1].lower() + sentence[1:]


def frame(sentence: str, name: str) -> str:
    """``sentence`` (an instruction's first sentence) put into the frame ``name``."""
    lower = _lower_first(sentence)
    return FRAMES[name].format(lower=lower, same=sentence, lower_open=lower.rstrip(".!?"))


@dataclass(frozen=True)
class Instruction(FamilyBase):
    """Replaces the instruction block with a rewording (see the module docstring)."""

    family: ClassVar[str] = "instruction"
    target: ClassVar[str] = "instruction"
    rewordings: tuple[str, ...] | None = None
    file: str | None = None
    frames: tuple[str, ...] | None = None
    frozen: FrozenFile | None = field(default=None, compare=False, repr=False)

    @property
    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.rewordings is not None:
            out["rewordings"] = list(self.rewordings)
        if self.file is not None:
            out["file"] = self.file
        if self.frames is not None:
            out["frames"] = list(self.frames)
        return out

    def rewordings_of(self, instruction: str) -> list[str]:
        """Every rewording this family may put in place of ``instruction``."""
        options: list[str] = list(self.rewordings or ())
        if self.frozen is not None:
            options += self.frozen.for_original(instruction)
        if self.frames is not None:
            match = _FIRST_SENTENCE.match(instruction)
            if match is not None:
                first, rest = match[1], instruction[match.end() :]
                options += [frame(first, name) + rest for name in self.frames]
        return [option for option in dict.fromkeys(options) if option.strip() != instruction]

    def apply(self, text: str, rng: random.Random) -> str:
        def reword(instruction: str) -> str | None:
            options = self.rewordings_of(instruction)
            return rng.choice(options) if options else None

        return replace_instruction(text, reword)


@register_family("instruction")
def instruction(
    *,
    rewordings: Sequence[str] | None = None,
    file: str | None = None,
    frames: Sequence[str] | None = None,
) -> Perturbation:
    """The instruction reworded: from ``rewordings``, from the frozen ``file``, or by ``frames``.

    Without ``rewordings`` or ``file`` all built-in frames are used; give ``frames`` to choose
    some (or to add frames to a list or a file).
    """
    chosen_rewordings = (
        None if rewordings is None else _params.texts("instruction", "rewordings", rewordings)
    )
    frozen = None
    if file is not None:
        frozen = load_frozen(_params.path("instruction", "file", file), family="instruction")
    if frames is None and chosen_rewordings is None and frozen is None:
        chosen_frames: tuple[str, ...] | None = tuple(FRAMES)
    elif frames is None:
        chosen_frames = None
    else:
        chosen_frames = _params.subset("instruction", "frames", frames, tuple(FRAMES))
    return Instruction(rewordings=chosen_rewordings, file=file, frames=chosen_frames, frozen=frozen)


PREAMBLES: dict[str, tuple[str, ...]] = {
    "politeness": (
        "Please help me with the following task.",
        "I would really appreciate your help with this.",
        "Thank you in advance for your help!",
        "Hi! I hope you are doing well.",
        "Could you kindly help me with this?",
    ),
    "role": (
        "You are a helpful assistant.",
        "You are an expert annotator.",
        "You are a careful and precise analyst.",
        "You are a world-class expert at this task.",
        "You are an experienced reviewer.",
    ),
}
PREAMBLE_KINDS = ("politeness", "role", "both")


@dataclass(frozen=True)
class Preamble(FamilyBase):
    """Puts one of ``lines`` on a line of its own before the template."""

    family: ClassVar[str] = "preamble"
    target: ClassVar[str] = "instruction"
    kind: str
    lines: tuple[str, ...]

    def apply(self, text: str, rng: random.Random) -> str:
        if not text.strip():
            return text
        return rng.choice(self.lines) + "\n" + text


@register_family("preamble")
def preamble(*, kind: str = "both", lines: Sequence[str] | None = None) -> Perturbation:
    """A ``politeness`` or ``role`` line (or ``both``) before the prompt, or one of ``lines``."""
    kind = _params.choice("preamble", "kind", kind, PREAMBLE_KINDS)
    if lines is not None:
        chosen = _params.texts("preamble", "lines", lines)
    elif kind == "both":
        chosen = PREAMBLES["politeness"] + PREAMBLES["role"]
    else:
        chosen = PREAMBLES[kind]
    return Preamble(kind=kind, lines=chosen)


PLACEMENT_POSITIONS = ("before", "after", "swap")


@dataclass(frozen=True)
class Placement(FamilyBase):
    """Moves the instruction block to the other side of the input block (deterministic).

    ``after`` puts it right after the block holding the first placeholder, but before a final
    answer cue such as ``Sentiment:`` (a field line with no value), which must stay last;
    ``before`` puts it right before that block; ``swap`` does whichever changes the template.
    """

    family: ClassVar[str] = "placement"
    target: ClassVar[str] = "instruction"
    position: str

    def apply(self, text: str, rng: random.Random) -> str:
        blocks = Blocks.parse(text)
        instruction, anchor = blocks.instruction_index, blocks.input_index
        if instruction is None or anchor is None:
            return text
        before = instruction < anchor
        if (self.position == "before" and before) or (self.position == "after" and not before):
            return text
        moving = blocks.blocks[instruction].strip()
        out: list[tuple[str, str]] = []
        for index, (block, gap) in enumerate(zip(blocks.blocks, blocks.gaps, strict=True)):
            if index == instruction:
                continue
            if index != anchor:
                out.append((block, gap))
            elif not before:
                out += [(moving, "\n\n"), (block, gap)]
            else:
                head, cue = _split_cue(block)
                if cue is None:
                    out += [(block, "\n\n"), (moving, gap or "\n\n")]
                else:
                    out += [(head, "\n\n"), (moving, "\n\n"), (cue, gap)]
        joined = "".join(block + gap for block, gap in out)
        return joined.rstrip() + text[len(text.rstrip()) :]


def _split_cue(block: str) -> tuple[str, str | None]:
    """``block`` less its last line if that line is an answer cue (``Sentiment:``), and the cue."""
    body = block.rstrip("\n")
    lines = body.split("\n")
    last = FIELD_LINE.match(lines[-1])
    if len(lines) > 1 and last is not None and not last["value"].strip():
        return "\n".join(lines[:-1]), lines[-1] + block[len(body) :]
    return block, None


@register_family("placement")
def placement(*, position: str = "swap") -> Perturbation:
    """The instruction moved ``after`` the input, ``before`` it, or to the other side (``swap``)."""
    return Placement(
        position=_params.choice("placement", "position", position, PLACEMENT_POSITIONS)
    )
