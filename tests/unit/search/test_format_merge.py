"""A merged run's format search (issue 16): the shards' searches pooled format by format.

Each shard of a sharded run (``brittle merge``, ``pytest -n``) searches the same formats on its
own cases; the merged ``format_spread``, best and worst formats and interval are those of the
pooled passes and pulls, computed here by hand, not the first shard's.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from brittle.search.formats import merge_searches
from brittle.stats.format_spread import Arm, pool_arms
from tests.unit.search.test_formats import LABELS, TEMPLATE, _search, _system

Z = 1.959963984540054  # the normal's 97.5 % point


def _wilson(s: int, n: int) -> tuple[float, float]:
    p = s / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return centre - half, centre + half


FORMATS = {
    "original": {"separator": "as-is", "casing": "as-is"},
    "casing=upper": {"separator": "as-is", "casing": "upper"},
    "separator=dash": {"separator": "dash", "casing": "as-is"},
    "names=2": {"names": 2},
}


def _shard(counts: dict[str, tuple[int, int]], k: int) -> dict[str, Any]:
    """A shard's search record with ``counts`` {label: (passed, n)}; its own best and worst
    by pass rate (as the shard's bandit would report them on these counts)."""
    arms = [
        {"label": label, "n": n, "passed": s, "errors": 0, "format": FORMATS[label]}
        for label, (s, n) in counts.items()
    ]

    def arm(label: str) -> dict[str, Any]:
        s, n = counts[label]
        return {
            "format": FORMATS[label],
            "label": label,
            "accuracy": s / n,
            "n": n,
            "interval": list(_wilson(s, n)),
            "template": f"template {label} (shard {k})",
        }

    rates = sorted(counts, key=lambda label: counts[label][0] / counts[label][1])
    best, worst = arm(rates[-1]), arm(rates[0])
    calls = sum(n for _, n in counts.values())
    return {"budget": 20, "calls": calls, "errors": 0, "seed": 0, "formats_tried": 3,
            "formats": 3, "best": best, "worst": worst,
            "spread": best["accuracy"] - worst["accuracy"], "interval": [0.0, 1.0],
            "fixture": None, "frozen": False, "arms": arms}  # fmt: skip


SHARDS = [
    _shard({"original": (5, 6), "casing=upper": (1, 6), "separator=dash": (3, 4)}, 1),
    _shard({"original": (2, 4), "casing=upper": (4, 5), "separator=dash": (2, 2)}, 2),
    _shard({"original": (3, 5), "casing=upper": (2, 3), "separator=dash": (1, 3)}, 3),
]


def test_three_shards_give_the_spread_of_the_pooled_counts() -> None:
    merged = merge_searches(SHARDS)
    # pooled: original 10/15, casing=upper 7/14, separator=dash 6/9; posterior means
    # (1+s)/(2+n): 11/17 = 0.647, 8/16 = 0.5, 7/11 = 0.636: best original, worst casing=upper
    assert merged["best"]["label"] == "original" and merged["best"]["n"] == 15
    assert merged["worst"]["label"] == "casing=upper" and merged["worst"]["n"] == 14
    assert merged["best"]["accuracy"] == pytest.approx(10 / 15)
    assert merged["worst"]["accuracy"] == pytest.approx(7 / 14)
    assert merged["spread"] == pytest.approx(10 / 15 - 7 / 14)  # 0.1667
    (l1, u1), (l2, u2) = _wilson(10, 15), _wilson(7, 14)
    p1, p2 = 10 / 15, 7 / 14
    low = p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)  # Newcombe's hybrid score
    high = p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    assert merged["interval"] == pytest.approx([max(low, 0.0), high])
    assert merged["best"]["interval"] == pytest.approx(list(_wilson(10, 15)))
    # not the first shard's search: there best original 5/6, worst casing=upper 1/6, 0.667
    assert SHARDS[0]["spread"] == pytest.approx(5 / 6 - 1 / 6)
    assert merged["spread"] != pytest.approx(SHARDS[0]["spread"])
    assert merged["budget"] == 60 and merged["calls"] == 15 + 14 + 9 and merged["shards"] == 3
    assert {arm["label"]: (arm["passed"], arm["n"]) for arm in merged["arms"]} == {
        "original": (10, 15),
        "casing=upper": (7, 14),
        "separator=dash": (6, 9),
    }
    # a pooled extreme keeps a shard's template for that format and its dimensions
    assert merged["worst"]["template"] == "template casing=upper (shard 1)"
    assert merged["worst"]["format"] == FORMATS["casing=upper"]
    assert "arms_left_out" not in merged


def test_formats_drawn_in_only_some_shards_are_left_out_and_named() -> None:
    odd = _shard({"original": (1, 2), "casing=upper": (0, 2), "names=2": (0, 3)}, 4)
    merged = merge_searches([SHARDS[0], SHARDS[1], odd])
    assert merged["arms_left_out"] == ["separator=dash", "names=2"]
    assert [arm["label"] for arm in merged["arms"]] == ["original", "casing=upper"]
    assert merged["best"]["n"] == 6 + 4 + 2 and merged["worst"]["n"] == 6 + 5 + 2
    assert merged["formats"] == 4


def test_undefined_shards_add_nothing_and_all_undefined_keep_the_reason() -> None:
    empty = {"undefined": "the golden set has no cases"}
    merged = merge_searches([SHARDS[0], empty, SHARDS[1]])
    # shards 1 and 2 pooled: original 7/10, casing=upper 5/11, separator=dash 5/6
    assert merged["shards"] == 2 and merged["calls"] == 16 + 11
    assert (merged["best"]["label"], merged["best"]["n"]) == ("separator=dash", 6)
    assert (merged["worst"]["label"], merged["worst"]["n"]) == ("casing=upper", 11)
    assert merge_searches([empty, empty]) == empty


def test_one_real_search_pools_into_itself(tmp_path: Path) -> None:
    """One shard merged is that shard's search: the same extremes, spread and interval."""
    found, _ = _search(3)
    merged = merge_searches([found])
    for key in ("best", "worst", "spread", "interval", "calls", "budget", "formats"):
        assert merged[key] == found[key], key
    assert merged["formats_tried"] == found["formats_tried"]


def test_a_pooled_extreme_no_shard_reported_gets_its_rendered_template() -> None:
    from brittle.spec.format_search import FormatSearchSpec

    found, _ = _search(3)
    extremes = {found["best"]["label"], found["worst"]["label"]}
    other = next(arm for arm in found["arms"] if arm["label"] not in extremes)
    spec: Any = type(
        "Spec", (), {"format_search": FormatSearchSpec(choices=LABELS), "checks": []}
    )()
    from brittle.search import formats

    template = formats._pooled_arm(
        other["label"], Arm([], 1, 1), {other["label"]: other["format"]}, [found], spec, _system()
    )["template"]
    from brittle.perturb.format_grammar import FormatPoint, render

    assert template == render(TEMPLATE, FormatPoint.from_dict(other["format"]), LABELS)


def test_pool_arms_sums_shared_formats_in_the_first_order() -> None:
    pooled, left = pool_arms([[("a", 1, 2, 0), ("b", 0, 1, 1)], [("b", 2, 3, 0), ("a", 0, 1, 0)]])
    assert [(k, a.passed, a.pulls, a.errors) for k, a in pooled] == [
        ("a", 1, 3, 0),
        ("b", 2, 4, 1),
    ]
    assert left == []
