"""Token log-probabilities of the ``local/`` provider, read from ``generate``'s logits.

A call that asks (``logprobs: true``, optionally ``top_logprobs: k`` with ``0 <= k <= 20``, the
OpenAI limits) gets, per generated token, the token's text, its log-probability and the ``k``
likeliest tokens at that position, returned through litellm's standard fields:
``choices[0].logprobs.content[i] = {token, logprob, bytes, top_logprobs: [{token, logprob,
bytes}, ...]}``.

They come from the model's raw logits at each step (``output_logits``: before temperature and
top-p, so they are the model's own distribution, as OpenAI reports them), through a log-softmax
over the whole vocabulary. Asking for them changes no answer: greedy decoding still takes the
argmax of the same logits, and the logits are only read after ``generate`` returns
(``tests/model/test_local_logprobs.py`` compares answers with and without).

Token texts are each token decoded on its own (``"Ġpositive"`` is ``" positive"``); a token
that is only part of a UTF-8 character decodes to U+FFFD, and its ``bytes`` say which bytes it
holds. torch is imported by :func:`row_logprobs` alone (the worker thread's), so the provider
and the request checks import this module for free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

#: the most alternatives a call may ask per position (OpenAI's limit)
MAX_TOP_LOGPROBS = 20


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token: its text, log-probability and the likeliest alternatives."""

    token: str
    logprob: float
    bytes: tuple[int, ...]
    #: the ``top_logprobs`` likeliest tokens at this position, likeliest first:
    #: ``(token, logprob, bytes)``
    top: tuple[tuple[str, float, tuple[int, ...]], ...] = ()


_Memo = dict[int, tuple[str, tuple[int, ...]]]


def _byte_of_char() -> dict[str, int]:
    """Byte-level BPE's printable stand-ins (``"Ġ"`` for a space) to the bytes they stand for:
    GPT-2's table (printable Latin-1 bytes stand for themselves, the rest are shifted to
    ``chr(256 + n)``), which SmolLM2's and most byte-level tokenizers share."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    table = {chr(byte): byte for byte in printable}
    shifted = 0
    for byte in range(256):
        if byte not in printable:
            table[chr(256 + shifted)] = byte
            shifted += 1
    return table


def _text(tokenizer: Any, token_id: int, memo: _Memo, inverse: dict[str, int]) -> Any:
    """A token's text (decoded alone) and the UTF-8 bytes it holds."""
    found = memo.get(token_id)
    if found is None:
        text = tokenizer.decode([token_id], skip_special_tokens=False)
        piece = tokenizer.convert_ids_to_tokens(token_id)
        if isinstance(piece, str) and piece and all(char in inverse for char in piece):
            data = tuple(inverse[char] for char in piece)
        else:
            data = tuple(text.encode("utf-8"))
        found = memo[token_id] = (text, data)
    return found


def row_logprobs(
    logits: Sequence[torch.Tensor], row: int, tokens: Sequence[int], tokenizer: Any, top: int
) -> tuple[TokenLogprob, ...]:
    """Per generated token of ``row`` (``tokens``, the answer's ids), its log-probability and
    the ``top`` likeliest tokens, from ``logits`` (one ``batch x vocab`` tensor per step)."""
    import torch  # the worker thread's: generation.py has loaded it already

    memo: _Memo = {}
    inverse = _byte_of_char()
    out = []
    for step, token_id in enumerate(tokens):
        scores = torch.log_softmax(logits[step][row].float(), dim=-1)
        text, data = _text(tokenizer, int(token_id), memo, inverse)
        alternatives: list[tuple[str, float, tuple[int, ...]]] = []
        if top:
            values, ids = torch.topk(scores, k=min(top, scores.shape[-1]))
            for value, alternative in zip(values.tolist(), ids.tolist(), strict=True):
                alt_text, alt_bytes = _text(tokenizer, int(alternative), memo, inverse)
                alternatives.append((alt_text, float(value), alt_bytes))
        out.append(
            TokenLogprob(
                token=text,
                logprob=float(scores[int(token_id)]),
                bytes=data,
                top=tuple(alternatives),
            )
        )
    return tuple(out)


def as_openai(logprobs: Sequence[TokenLogprob]) -> dict[str, Any]:
    """The OpenAI ``choices[0].logprobs`` object (litellm validates it into its own types)."""
    return {
        "content": [
            {
                "token": item.token,
                "logprob": item.logprob,
                "bytes": list(item.bytes),
                "top_logprobs": [
                    {"token": token, "logprob": value, "bytes": list(data)}
                    for token, value, data in item.top
                ],
            }
            for item in logprobs
        ],
        "refusal": None,
    }


__all__ = ["MAX_TOP_LOGPROBS", "TokenLogprob", "as_openai", "row_logprobs"]
