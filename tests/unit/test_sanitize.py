"""brittle.sanitize: stored answers clipped so that equal stays equal, and renderings that say
how long the full text was."""

from __future__ import annotations

import hashlib

import pytest

from brittle.sanitize import STORED_LIMIT, clip, clip_stored, full_length

LONG = "lorem " * 1_000  # 6,000 characters


def test_short_texts_are_stored_as_they_are() -> None:
    assert clip_stored("positive") == "positive"
    assert clip_stored("x" * STORED_LIMIT) == "x" * STORED_LIMIT
    assert clip_stored("") == ""


def test_a_long_text_keeps_an_excerpt_its_length_and_hash() -> None:
    stored = clip_stored(LONG)
    digest = hashlib.sha256(LONG.encode()).hexdigest()[:16]
    assert stored == f"{LONG[:STORED_LIMIT]}… [6,000 characters, sha256 {digest}]"
    assert len(stored) < STORED_LIMIT + 60
    assert full_length(stored) == 6_000 and full_length("abc") == 3


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (LONG, LONG[:-1] + "X"),  # differ past the excerpt
        (LONG, LONG + "more"),  # one is the other's prefix
        ("x" * STORED_LIMIT, "x" * (STORED_LIMIT + 1)),  # whole against clipped
    ],
)
def test_different_texts_stay_different_once_stored(a: str, b: str) -> None:
    assert clip_stored(a) != clip_stored(b)
    assert clip_stored(a) == clip_stored(a[:])


def test_clipping_is_idempotent_and_takes_any_text() -> None:
    stored = clip_stored(LONG)
    assert clip_stored(stored) == stored
    assert clip_stored(clip_stored(LONG, 10), 10) == clip_stored(LONG, 10)
    lone = clip_stored("\ud800" * (STORED_LIMIT + 5))  # a lone surrogate hashes too
    assert lone.endswith("characters, sha256 " + lone[-17:-1] + "]")


def test_a_rendering_of_a_stored_text_counts_what_the_full_text_left_out() -> None:
    assert clip(clip_stored(LONG), 100) == LONG[:100] + "… (5,900 more characters)"
