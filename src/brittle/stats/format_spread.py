"""The format-search bandit and the format spread it measures (no model calls here).

FormatSpread (Sclar et al. 2023) estimates, under a call budget, how far a model's accuracy moves
between semantically equivalent prompt formats: it searches for the best and for the worst
format with Thompson sampling. Here the arms are formats, one pull is one golden case answered
in that format, and the reward is whether the eval's checks passed.

Thompson sampling (Beta-Bernoulli)
    Arm ``i`` with ``s_i`` passes in ``n_i`` pulls has the posterior ``Beta(1 + s_i, 1 + n_i -
    s_i)`` (uniform prior). A pull for the *worst* format draws ``theta_i`` from each posterior
    and takes the arm with the lowest draw; a pull for the *best* the highest. The budget is
    spent in rounds of ``batch`` pulls (drawn from the posteriors as they stood at the round's
    start), alternating worst and best, so half the budget looks for each end. An arm whose
    cases are used up (each case answered once in that format) is not pulled again: its
    accuracy on the golden set is then known exactly.

What is reported
    The worst (best) format found is the arm with the lowest (highest) posterior mean
    ``(1 + s) / (2 + n)`` among pulled arms; its accuracy is ``s / n`` with the Wilson interval
    (:func:`brittle.stats.intervals.wilson_interval`). ``format_spread`` is best accuracy minus
    worst accuracy; its interval is Newcombe's hybrid score interval of a difference of two
    independent proportions (Newcombe 1998, method 10), from the two Wilson intervals
    ``[l1, u1]`` (best, ``p1``) and ``[l2, u2]`` (worst, ``p2``)::

        d    = p1 - p2
        low  = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)
        high = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)

    ``low`` is clipped at 0: Newcombe's bound is of ``p1 - p2`` and may fall below 0 (the two
    formats found may not differ), but the grammar's spread is at least ``max(0, p1 - p2)``
    and cannot be negative.

    The two arms are answered on different random cases, so they are treated as independent.
    Choosing the extremes favours arms that were lucky (the winner's curse): the estimate leans
    wide, which a gate ``format_spread <= X`` reads conservatively.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from brittle.stats.intervals import wilson_interval

WORST = "worst"
BEST = "best"


@dataclass
class Arm:
    """One format's pulls: ``order`` is the sequence of case indices it answers, in turn."""

    order: list[int]
    passed: int = 0
    pulls: int = 0
    errors: int = 0

    @property
    def exhausted(self) -> bool:
        return self.pulls + self.errors >= len(self.order)

    @property
    def mean(self) -> float:
        """The posterior mean of the pass rate."""
        return (1 + self.passed) / (2 + self.pulls)

    def next_case(self) -> int:
        return self.order[(self.pulls + self.errors) % len(self.order)]


@dataclass
class ThompsonBandit:
    """Thompson sampling over ``arms`` formats, each answering ``cases`` golden cases."""

    arms: int
    cases: int
    seed: int = 0
    state: list[Arm] = field(init=False)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(f"brittle.format_search/1|{self.seed}")
        self.state = []
        for _ in range(self.arms):
            order = list(range(self.cases))
            self.rng.shuffle(order)
            self.state.append(Arm(order))

    def choose(self, objective: str) -> int | None:
        """The arm of one pull looking for the ``objective`` (``worst`` or ``best``) format;
        None when every arm's cases are used up."""
        open_arms = [i for i, arm in enumerate(self.state) if not arm.exhausted]
        if not open_arms:
            return None
        draws = {
            i: self.rng.betavariate(
                1 + self.state[i].passed, 1 + self.state[i].pulls - self.state[i].passed
            )
            for i in open_arms
        }
        pick = min if objective == WORST else max
        return pick(open_arms, key=lambda i: draws[i])

    def round(self, size: int, first: str = WORST) -> list[tuple[int, int]]:
        """``size`` pulls ``(arm, case index)``, alternating objectives from ``first``; fewer
        when arms run out of cases (a case is never given twice to one arm in a round)."""
        pulls: list[tuple[int, int]] = []
        taken: dict[int, int] = {}
        objectives = (WORST, BEST) if first == WORST else (BEST, WORST)
        for k in range(size):
            arm = self.choose(objectives[k % 2])
            if arm is None:
                break
            state = self.state[arm]
            offset = taken.get(arm, 0)
            if state.pulls + state.errors + offset >= len(state.order):
                continue  # this round already gives the arm its last cases
            pulls.append((arm, state.order[state.pulls + state.errors + offset]))
            taken[arm] = offset + 1
        return pulls

    def record(self, arm: int, passed: bool | None) -> None:
        """One pull's outcome: True or False, or None for a call that errored."""
        state = self.state[arm]
        if passed is None:
            state.errors += 1
        else:
            state.pulls += 1
            state.passed += int(passed)

    def extreme(self, objective: str) -> int | None:
        """The worst (best) arm found: lowest (highest) posterior mean among pulled arms, ties
        to the arm pulled more."""
        return extreme(self.state, objective)


def extreme(arms: Sequence[Arm], objective: str) -> int | None:
    """The index of the worst (best) of ``arms``: lowest (highest) posterior mean among pulled
    arms, ties to the arm pulled more, then to the first (None: no arm was pulled)."""
    pulled = [i for i, arm in enumerate(arms) if arm.pulls]
    if not pulled:
        return None
    sign = 1 if objective == WORST else -1
    return min(pulled, key=lambda i: (sign * arms[i].mean, -arms[i].pulls, i))


def pool_arms(
    parts: Sequence[Sequence[tuple[str, int, int, int]]],
) -> tuple[list[tuple[str, Arm]], list[str]]:
    """Several searches' arms pooled by format: ``parts`` holds each search's arms as
    ``(key, passed, pulls, errors)``. A sharded run searches the same formats (drawn from the
    eval's seed, not its cases) on each shard's own cases, so the pulls of one format in
    different shards are independent answers of that format: their passes, pulls and errors
    add up, and the pooled arms are measured as one search's (:func:`extreme`,
    :func:`spread_interval`).

    Pooled: the formats every part has, in the first part's order (so one part pools into its
    own arms and extremes). Also returned: the keys of formats only some parts have, which
    are left out (their pulls cover only some shards' cases)."""
    if not parts:
        return [], []
    shared = set.intersection(*({key for key, *_ in part} for part in parts))
    totals: dict[str, Arm] = {}
    for part in parts:
        for key, passed, pulls, errors in part:
            if key in shared:
                arm = totals.setdefault(key, Arm([]))
                arm.passed += int(passed)
                arm.pulls += int(pulls)
                arm.errors += int(errors)
    left_out = list(dict.fromkeys(key for part in parts for key, *_ in part if key not in shared))
    order = list(dict.fromkeys(key for key, *_ in parts[0] if key in shared))
    return [(key, totals[key]) for key in order], left_out


@dataclass(frozen=True)
class Spread:
    """best accuracy - worst accuracy, with Newcombe's interval."""

    value: float
    low: float
    high: float


def arm_interval(passed: int, pulls: int) -> tuple[float, float] | None:
    return wilson_interval(passed, pulls)


def spread_interval(best: tuple[int, int], worst: tuple[int, int]) -> Spread | None:
    """``format_spread`` of ``best`` and ``worst``, each ``(passed, pulls)``; None without
    pulls."""
    (s1, n1), (s2, n2) = best, worst
    first, second = wilson_interval(s1, n1), wilson_interval(s2, n2)
    if first is None or second is None:
        return None
    p1, p2 = s1 / n1, s2 / n2
    (l1, u1), (l2, u2) = first, second
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    # Newcombe's bounds are of p_best - p_worst, which may be below 0 (the two formats found may
    # not differ); the spread of the grammar is at least max(0, p_best - p_worst), so its lower
    # bound is clipped at 0 (a spread cannot be negative) unless the estimate itself is below 0
    # (the best arm by posterior mean may score below the worst on few pulls)
    return Spread(d, max(low, -1.0 if d < 0 else 0.0), min(high, 1.0))


def simulate(
    rates: Sequence[float], *, budget: int, seed: int, cases: int = 50, batch: int = 8
) -> ThompsonBandit:
    """A bandit run on arms that pass with the given ``rates`` (case ``c`` of arm ``i`` passes
    when its seeded uniform draw is below ``rates[i]``): for tests and power checks."""
    bandit = ThompsonBandit(len(rates), cases, seed)
    truth = random.Random(f"brittle.format_search.truth/1|{seed}")
    outcome = [[truth.random() < rate for _ in range(cases)] for rate in rates]
    spent = 0
    first = WORST
    while spent < budget:
        pulls = bandit.round(min(batch, budget - spent), first)
        if not pulls:
            break
        for arm, case in pulls:
            bandit.record(arm, outcome[arm][case])
        spent += len(pulls)
        first = BEST if first == WORST else WORST
    return bandit


__all__ = [
    "BEST",
    "WORST",
    "Arm",
    "Spread",
    "ThompsonBandit",
    "arm_interval",
    "extreme",
    "pool_arms",
    "simulate",
    "spread_interval",
]
