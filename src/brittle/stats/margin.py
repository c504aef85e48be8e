"""The paired margin test behind a relative gate: is the degradation larger than allowed?

A relative gate ``M rise <= a`` (or ``M drop <= a``) compares a run with its baseline on the same
cases. Its question is not "did anything change?" but "is the degradation larger than ``a``?":
the null hypothesis is ``H0: D <= a`` for the true degradation ``D`` (``run - baseline`` for a
rise, ``baseline - run`` for a drop), tested one-sided in the direction of degradation. ``a = 0``
is the plain "any significant degradation" gate. Pure functions of numpy arrays: no brittle
imports, no pandas, no disk.

Data
    Every metric is a ratio of per-case sums, ``R = sum_i num_i / sum_i den_i`` (flip rate =
    flips / pairs, accuracy = passing originals / scored originals, ...). The cases are the
    independent units (clusters): the variants of one case share its difficulty and any random
    draw the case shares within a run (its original's answer, say), so they are not independent
    evidence. A case with no unit on either side (``den = 0`` in both runs) is left out; ``n``
    counts the others.

Ratio linearization, cases as clusters (the delta method / sandwich variance)
    For one run with ``R = sum num / sum den`` and ``dbar = sum den / n``, the influence of case
    ``i`` is ``u_i = (num_i - R den_i) / dbar`` (``sum_i u_i = 0``), and
    ``R - R_true ~ mean(u)``. For the paired delta the per-case paired differences are::

        z_i = s * (u_i(run) - u_i(baseline))            s = +1 for a rise, -1 for a drop

        D        = s * (R_run - R_baseline)             the degradation
        sd_paired = sqrt(sum z_i^2 / (n - 1))           SD of the per-case paired differences
        se       = sd_paired / sqrt(n)                  = sqrt(n / (n - 1) * sum z_i^2) / n

    A stable per-case propensity (an easy case, a hard case) appears on both sides and cancels
    in ``z_i``; what remains is the run-to-run variation and the change itself, which is why the
    paired test is much stronger than two independent intervals.

Degrees of freedom (how well the cases pin the variance down)
    ``t = (D - a) / se`` is referred to Student's t with the Satterthwaite degrees of freedom of
    the variance estimate, matched to the kurtosis of the paired differences::

        kappa = n sum z_i^4 / (sum z_i^2)^2
        df    = 2 n / (kappa - 1)                 clipped to [1, n - 1]

    (``Var(s^2) / sigma^4 ~ (kappa - 1) / n`` against ``2 / df`` for a chi-square). With many
    cases contributing evenly (``kappa ~ 3``) this is about ``n``; when only ``m`` cases differ
    (a mostly deterministic system) it is about ``2 m``: 3 cases out of 200 that all got worse
    are not significant (``t = 1.74``, ``df = 6.3``, ``p = 0.065``), where a normal reference
    would call them so (``p = 0.041``).

One-sided p-value and the bound it is decided by (one computation)
    At the gate's level ``l`` (``alpha / (m - j + 1)`` at step ``j`` of Holm's procedure)::

        p     = P[T_df >= (D - a) / se]
        bound = D - t_{df, 1-l} * se                    lower confidence bound on D, conf. 1 - l

    so ``bound > a`` exactly when ``p < l``: the interval printed beside a verdict is the one the
    decision used. The plain two-sided 95% interval of the delta ``R_run - R_baseline`` is
    ``delta +- t_{df, 0.975} * se``, for reports only. There is no resampling, so no floor on p:
    any Holm-adjusted level can be reached.

Exact McNemar test (one 0/1 unit per case on both sides, any allowance)
    Of the ``n`` cases, ``b`` got worse (0 -> 1 flips, 1 -> 0 passes) and ``c`` got better;
    ``N = b + c``. Given ``N``, ``D = (2 pi - 1) N / n`` with ``pi`` the chance that a discordant
    case got worse, so ``D <= a`` is ``pi <= pi_0 = (1 + a n / N) / 2`` (``pi_0 = 1/2`` at
    ``a = 0``: McNemar's test). With ``B ~ Binomial(N, pi_0)``::

        p     = P[B >= b] = I_{pi_0}(b, N - b + 1)       (regularized incomplete beta; 1 if b = 0
                                                          or pi_0 >= 1)
        pi_L  = I^{-1}_l(b, N - b + 1)                    one-sided Clopper-Pearson bound on b / N
        bound = (2 pi_L - 1) * N / n                      lower bound on D given N

    ``pi_L > pi_0`` exactly when ``p < l``, so again ``bound > a`` iff ``p < l``; and a larger
    allowance never rejects where a smaller one did not (the t test's approximation at few cases
    could, so binary data always take this exact path). The 95% interval is the two-sided
    Clopper-Pearson interval mapped the same way.

No variation
    When every ``z_i`` is 0 (the same change in every case, or no change at all) and ``n >= 2``:
    ``p = 0`` and ``bound = D`` if ``D > a``, else ``p = 1``. With fewer than two cases (and no
    McNemar) nothing is tested: ``p = 1``, ``bound = -inf``.

Few cases
    Below :data:`FEW_CASES` cases the intervals and p-values rest on an approximation that may
    be off by more than a point or two (t with skewed per-case differences); results say so
    (``few_cases``).

Power, against the allowance (what ``brittle power`` and the "underpowered" notes quote;
computed in :mod:`brittle.stats.power`)
    The verdict fails when ``t > t_{n-1, 1-l}``; with a true degradation ``D`` and
    ``sd = sd_paired`` at that ``D``, ``t`` follows a noncentral t::

        power(n, D) = P[T_{n-1}(ncp) > t_{n-1, 1-l}],   ncp = (D - a) sqrt(n) / sd
                    ~ Phi((D - a) sqrt(n) / sd - z_{1-l})

    so the power at ``D = a`` is ``l`` whatever ``n`` (a rise exactly at the allowance is not a
    failure), and the minimum detectable degradation at 80% power is about
    ``a + (z_{1-l} + z_0.8) sd / sqrt(n)``; cases needed for ``D`` about
    ``((z_{1-l} + z_0.8) sd / (D - a))^2`` (both solved exactly on the noncentral t).

    A gate decided by the exact McNemar test (one 0/1 unit per case; ``mcnemar=True``)
    is discrete and more conservative: the t formula overstates its power by 4-6 points. Its
    power is computed exactly: with one unit per case the paired difference is -1, 0 or 1, so
    ``P(worse) + P(better) = sd^2 + D^2`` and ``P(worse) - P(better) = D``; the discordant cases
    ``N ~ Binomial(n, sd^2 + D^2)``, the worse ones ``W | N ~ Binomial(N, P(worse) / (sd^2 +
    D^2))``, and the test rejects when ``P[Bin(N, pi_0) >= W] < l``::

        power = sum_N P(N) P[W >= w_N | N],    w_N the fewest worse cases that reject

    (above 20,000 cases the t formula, where the discreteness no longer matters).

The SD of paired differences from the baseline alone (planning before any run)
    With only a baseline, ``sd_paired`` must be predicted. Assumption: a case's units are 0/1
    draws, independent given the case's stable propensity ``p_i`` (the variants of a case are
    correlated only through ``p_i``); the run redraws them independently; a degradation moves
    every case's propensity by the same ``s`` (``+D`` for a rise, ``-D`` for a drop). Then the
    stable part cancels and, for a case with ``m_i`` units and ``y_i`` successes::

        Var(d_i) = m_i p_i (1 - p_i) + m_i q_i (1 - q_i),        q_i = p_i + s
        W_i = y_i (m_i - y_i) / (m_i - 1)                  unbiased for m_i p_i (1 - p_i)
        m_i q_i (1 - q_i) estimated by W_i + s (m_i - 2 y_i) - m_i s^2
        sd_paired^2 = sum_i (W_i + max(W_i + s (m_i - 2 y_i) - m_i s^2, 0)) / (n dbar^2)

    (the variance of paired differences under "no change" is twice the within-case variance:
    the between-case variance, the covariance of the two runs, cancels). Cases with one unit
    cannot show their within-case variance: they take the pooled per-unit ``W`` of the others,
    or ``pbar (1 - pbar)`` when no case has two units (accuracy): "fully random", an upper bound.
    The estimate is low when a run shares a random draw across a case's units (the original's
    answer behind every flip of a stochastic system) or when the degradation is concentrated in
    a few cases (in simulation, 5 variants sharing a per-run draw with intra-case correlation
    1/6: 80% power quoted, 56-58% real); the SD observed between a run and its baseline
    (``MarginTest.sd_paired``) has neither problem and is the better input once a run exists.
    Where the assumption holds it agrees with simulation (about 1% low on average, +-5% from one
    baseline of 200 cases).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from brittle.stats._scipy import special
from brittle.stats._scipy import stats as scipy_stats

Direction = Literal["rise", "drop"]
"""Which way the metric degrades: ``rise`` (flip rate, error rate) or ``drop`` (accuracy)."""

SdPaired = float | Callable[[float], float]
"""``sd_paired``, or a function giving it at a true degradation ``D`` (see the module docs)."""

FEW_CASES = 50
"""Below this many cases, intervals and p-values are flagged approximate."""

CONFIDENCE = 0.95
"""The level of the plain two-sided interval of the delta shown in reports."""

POWER = 0.8
"""The power at which detectable degradations and cases needed are quoted."""

_TOLERANCE = 1e-12  # a degradation this close to the allowance counts as equal to it
_MCNEMAR_EXACT_CASES = 20_000  # above this, McNemar's power is the t test's (no discreteness)


def _sign(direction: str) -> float:
    if direction == "rise":
        return 1.0
    if direction == "drop":
        return -1.0
    raise ValueError(f"direction must be 'rise' or 'drop', not {direction!r}")


def _as_2d(*arrays: object) -> tuple[np.ndarray, ...]:
    out = tuple(np.atleast_2d(np.asarray(a, dtype=float)) for a in arrays)
    shape = out[0].shape
    if any(a.shape != shape for a in out) or len(shape) != 2:
        raise ValueError(
            "numerators and denominators must be arrays of the same shape: (cases,) or "
            f"(comparisons, cases); got {[a.shape for a in out]}"
        )
    return out


# --- the ratio linearization ---------------------------------------------------------------------


def ratio_influence(
    num: np.ndarray, den: np.ndarray, active: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(R, u, n)`` of a ratio of per-case sums, over the last axis.

    ``R = sum num / sum den`` (NaN when ``sum den == 0``), ``u_i = (num_i - R den_i) / dbar`` the
    case influences (0 outside ``active``, which defaults to ``den > 0``), ``n`` the active cases.
    ``R - R_true ~ mean(u)``, so ``se(R) = sqrt(sum u^2 / (n (n - 1)))``.
    """
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    active = den > 0 if active is None else active
    n = active.sum(axis=-1)
    total = den.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(total > 0, num.sum(axis=-1) / np.where(total > 0, total, 1.0), np.nan)
        mean_den = np.where(n > 0, total / np.maximum(n, 1), np.nan)
        u = (num - ratio[..., None] * den) / mean_den[..., None]
    u = np.where(active, np.nan_to_num(u, nan=0.0, posinf=0.0, neginf=0.0), 0.0)
    return ratio, u, n


def spread(z: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(sd, se, df)`` of centred per-case values ``z`` (last axis) over ``n`` cases.

    ``sd = sqrt(sum z^2 / (n - 1))``, ``se = sd / sqrt(n)``, and the Satterthwaite degrees of
    freedom ``df = 2 n / (kappa - 1)`` for the kurtosis ``kappa = n sum z^4 / (sum z^2)^2``,
    clipped to ``[1, n - 1]`` (NaN where ``n < 2``).
    """
    z = np.asarray(z, dtype=float)
    n = np.asarray(n, dtype=float)
    square = np.sum(z * z, axis=-1)
    fourth = np.sum(z**4, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.where(n >= 2, np.sqrt(square / (n - 1)), np.nan)
        se = sd / np.sqrt(n)
        kurtosis = np.where(square > 0, n * fourth / np.where(square > 0, square, 1.0) ** 2, 3.0)
        matched = np.where(kurtosis > 1, 2 * n / np.where(kurtosis > 1, kurtosis - 1, 1.0), n)
    df = np.where(n >= 2, np.clip(matched, 1.0, np.maximum(n - 1, 1.0)), np.nan)
    return sd, se, df


def ratio_t_interval(
    num: np.ndarray, den: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(R, low, high, n)``: the linearized t interval of a ratio of per-case sums, cases as
    clusters, over the last axis: ``R +- t_{df, (1+c)/2} se`` (unbounded with fewer than two
    cases)."""
    ratio, u, n = ratio_influence(num, den)
    _, se, df = spread(u, n)
    quantile = scipy_stats.t.isf((1 - confidence) / 2, np.nan_to_num(df, nan=1.0))
    half = np.where(n >= 2, quantile * np.nan_to_num(se, nan=0.0), np.inf)
    return ratio, ratio - half, ratio + half, n


# --- the paired margin test ----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MarginTests:
    """:func:`margin_tests` for many comparisons at once: every field an array, one entry each."""

    run: np.ndarray
    baseline: np.ndarray
    delta: np.ndarray  # run - baseline
    degradation: np.ndarray  # delta for a rise, -delta for a drop
    se: np.ndarray
    sd_paired: np.ndarray
    df: np.ndarray  # NaN for McNemar or no test
    p_value: np.ndarray
    bound: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    cases: np.ndarray
    mcnemar: np.ndarray  # bool: decided by the exact McNemar test
    worse: np.ndarray  # McNemar's discordant cases (else -1)
    better: np.ndarray
    allowance: float
    direction: str
    level: float


@dataclass(frozen=True)
class MarginTest:
    """One relative gate's paired test of ``H0: degradation <= allowance`` (see module docs)."""

    run: float
    baseline: float
    delta: float  # run - baseline
    degradation: float  # delta for a rise, -delta for a drop
    allowance: float
    direction: str
    level: float  # the one-sided level the bound and the decision use
    se: float
    sd_paired: float  # SD of the per-case paired differences: the input of the power functions
    p_value: float  # one-sided, in the direction of degradation
    bound: float  # lower confidence bound on the degradation at confidence 1 - level
    ci95: tuple[float, float]  # plain two-sided 95% interval of delta, for reports
    method: str
    cases: int
    few_cases: bool
    discordant: tuple[int, int] | None = None  # (worse, better) cases, McNemar only

    @property
    def exceeds(self) -> bool:
        """The estimate is above the allowance (not necessarily significantly)."""
        return self.degradation > self.allowance + _TOLERANCE

    @property
    def rejected(self) -> bool:
        """``H0: degradation <= allowance`` is rejected at ``level`` (same as ``bound > a``)."""
        return bool(self.p_value < self.level)

    @property
    def status(self) -> str:
        """``failed`` (rejected), ``inconclusive`` (above the allowance, not shown), ``passed``;
        ``undefined`` when the metric is undefined on one side."""
        if math.isnan(self.p_value):
            return "undefined"
        if self.rejected:
            return "failed"
        return "inconclusive" if self.exceeds else "passed"


def _binary_paired(
    run_num: np.ndarray, run_den: np.ndarray, base_num: np.ndarray, base_den: np.ndarray
) -> np.ndarray:
    """Per comparison: every case carries the same single 0/1 unit (or none) on both sides."""
    same = np.all(run_den == base_den, axis=-1) & np.all((run_den == 0) | (run_den == 1), axis=-1)
    zero_one = np.all((run_num == 0) | (run_num == 1), axis=-1) & np.all(
        (base_num == 0) | (base_num == 1), axis=-1
    )
    within = np.all(run_num <= run_den, axis=-1) & np.all(base_num <= base_den, axis=-1)
    return np.asarray(same & zero_one & within)


def _null_share(allowance: float, share: np.ndarray) -> np.ndarray:
    """The share of discordant cases that got worse at ``D = allowance``, given ``N / n``.

    ``D = (2 pi - 1) N / n``, so ``D <= a`` is ``pi <= (1 + a n / N) / 2`` (at least 1: the
    discordant cases cannot degrade ``D`` beyond ``a``, and nothing can be rejected).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(share > 0, (1 + allowance / np.where(share > 0, share, 1)) / 2, np.inf)


def _cp_lower(successes: np.ndarray, trials: np.ndarray, tail: float) -> np.ndarray:
    """One-sided Clopper-Pearson lower bound on a proportion (tail probability ``tail``)."""
    b = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    with np.errstate(invalid="ignore"):
        value = special.betaincinv(np.maximum(b, 1), np.maximum(n - b + 1, 1), tail)
    return np.where(b > 0, value, 0.0)


def _cp_upper(successes: np.ndarray, trials: np.ndarray, tail: float) -> np.ndarray:
    b = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    with np.errstate(invalid="ignore"):
        value = special.betaincinv(np.maximum(b + 1, 1), np.maximum(n - b, 1), 1 - tail)
    return np.where(b < n, value, 1.0)


def margin_tests(
    run_num: np.ndarray,
    run_den: np.ndarray,
    base_num: np.ndarray,
    base_den: np.ndarray,
    *,
    allowance: float,
    direction: Direction | str,
    level: float,
) -> MarginTests:
    """:func:`margin_test` over the last axis (cases) of arrays ``(comparisons, cases)``.

    One computation for any number of comparisons (simulations, families): the gate's own test.
    """
    sign = _sign(direction)
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level!r}")
    run_num, run_den, base_num, base_den = _as_2d(run_num, run_den, base_num, base_den)
    active = (run_den > 0) | (base_den > 0)
    r_run, u_run, n = ratio_influence(run_num, run_den, active)
    r_base, u_base, _ = ratio_influence(base_num, base_den, active)
    delta = r_run - r_base
    degradation = sign * delta
    z = sign * (u_run - u_base)
    sd, se, df = spread(z, n)
    scale = np.max(np.abs(z), axis=-1, initial=0.0)
    flat = scale <= 1e-12 * np.maximum(1.0, np.abs(degradation))
    excess = degradation - allowance
    defined = np.isfinite(delta)

    # the t test on the linearized paired differences
    safe_se = np.where(flat | ~np.isfinite(se), 1.0, se)
    safe_df = np.nan_to_num(df, nan=1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = scipy_stats.t.sf(excess / safe_se, safe_df)
        bound = degradation - scipy_stats.t.isf(level, safe_df) * safe_se
        half = scipy_stats.t.isf((1 - CONFIDENCE) / 2, safe_df) * safe_se
    ci_low, ci_high = delta - half, delta + half

    # no variation: decided on the estimate
    above = excess > _TOLERANCE
    p = np.where(flat, np.where(above, 0.0, 1.0), p)
    bound = np.where(flat, np.where(above, degradation, np.minimum(degradation, allowance)), bound)
    ci_low = np.where(flat, delta, ci_low)
    ci_high = np.where(flat, delta, ci_high)

    # too few cases for a variance: nothing is shown
    none = n < 2
    p = np.where(none, 1.0, p)
    bound = np.where(none, -np.inf, bound)
    ci_low = np.where(none, -np.inf, ci_low)
    ci_high = np.where(none, np.inf, ci_high)
    df = np.where(none | flat, np.nan, df)

    # exact (conditional) McNemar: one 0/1 unit per case on both sides, any allowance
    mcnemar = _binary_paired(run_num, run_den, base_num, base_den) & (n > 0)
    change = sign * (run_num - base_num)
    worse = np.sum(change > 0, axis=-1)
    better = np.sum(change < 0, axis=-1)
    discordant = worse + better
    with np.errstate(invalid="ignore", divide="ignore"):
        share = discordant / np.maximum(n, 1)
        pi_null = _null_share(allowance, share)
        p_exact = np.where(
            (worse > 0) & (pi_null < 1),
            special.betainc(np.maximum(worse, 1), discordant - worse + 1, np.minimum(pi_null, 1.0)),
            1.0,
        )
        pi_low = _cp_lower(worse, discordant, level)
        pi_lo95 = _cp_lower(worse, discordant, (1 - CONFIDENCE) / 2)
        pi_hi95 = _cp_upper(worse, discordant, (1 - CONFIDENCE) / 2)
    d_low95, d_high95 = (2 * pi_lo95 - 1) * share, (2 * pi_hi95 - 1) * share
    p = np.where(mcnemar, p_exact, p)
    bound = np.where(mcnemar, (2 * pi_low - 1) * share, bound)
    low95 = np.minimum(np.minimum(sign * d_low95, sign * d_high95), delta)  # delta: rounding
    high95 = np.maximum(np.maximum(sign * d_low95, sign * d_high95), delta)
    ci_low = np.where(mcnemar, low95, ci_low)
    ci_high = np.where(mcnemar, high95, ci_high)
    df = np.where(mcnemar, np.nan, df)

    nan = ~defined
    return MarginTests(
        run=r_run,
        baseline=r_base,
        delta=delta,
        degradation=degradation,
        se=np.where(nan | (n < 2), np.nan, np.where(flat, 0.0, se)),
        sd_paired=sd,
        df=df,
        p_value=np.where(nan, np.nan, p),
        bound=np.where(nan, np.nan, bound),
        ci_low=np.where(nan, np.nan, ci_low),
        ci_high=np.where(nan, np.nan, ci_high),
        cases=n,
        mcnemar=mcnemar & defined,
        worse=np.where(mcnemar, worse, -1),
        better=np.where(mcnemar, better, -1),
        allowance=float(allowance),
        direction=str(direction),
        level=float(level),
    )


def _method(tests: MarginTests, i: int) -> str:
    n = int(tests.cases[i])
    if not math.isfinite(float(tests.delta[i])):
        return "undefined: no scored units in the run or the baseline"
    if tests.mcnemar[i]:
        worse, better = int(tests.worse[i]), int(tests.better[i])
        return (
            f"exact one-sided McNemar test on {worse + better} discordant of {n} cases "
            f"({worse} worse, {better} better)"
        )
    if n < 2:
        return f"not tested: {n} case(s), too few for a variance"
    df = float(tests.df[i])
    if not math.isfinite(df):
        return f"no variation between the {n} cases' paired differences: decided on the estimate"
    return (
        f"one-sided t test on the case-clustered ratio linearization ({n} cases, "
        f"Satterthwaite df {df:.1f})"
    )


def margin_test(
    run_num: np.ndarray,
    run_den: np.ndarray,
    base_num: np.ndarray,
    base_den: np.ndarray,
    *,
    allowance: float,
    direction: Direction | str,
    level: float,
) -> MarginTest:
    """Test ``H0: degradation <= allowance`` on per-case sums of one scope (arrays ``(cases,)``).

    ``run_num / run_den`` and ``base_num / base_den`` are the metric's per-case numerators and
    denominators in the run and the baseline, on the same cases in the same order. ``level`` is
    the one-sided level of the decision (Holm's ``alpha / (m - j + 1)``): the verdict fails when
    ``p_value < level``, equivalently ``bound > allowance``. NaN p-value when the metric is
    undefined on one side.
    """
    if np.ndim(run_num) != 1:
        raise ValueError("margin_test takes one comparison: arrays of shape (cases,)")
    tests = margin_tests(
        run_num, run_den, base_num, base_den, allowance=allowance, direction=direction, level=level
    )
    n = int(tests.cases[0])
    discordant = (int(tests.worse[0]), int(tests.better[0])) if tests.mcnemar[0] else None
    return MarginTest(
        run=float(tests.run[0]),
        baseline=float(tests.baseline[0]),
        delta=float(tests.delta[0]),
        degradation=float(tests.degradation[0]),
        allowance=float(allowance),
        direction=str(direction),
        level=float(level),
        se=float(tests.se[0]),
        sd_paired=float(tests.sd_paired[0]),
        p_value=float(tests.p_value[0]),
        bound=float(tests.bound[0]),
        ci95=(float(tests.ci_low[0]), float(tests.ci_high[0])),
        method=_method(tests, 0),
        cases=n,
        few_cases=n < FEW_CASES,
        discordant=discordant,
    )


__all__ = [
    "CONFIDENCE",
    "FEW_CASES",
    "POWER",
    "Direction",
    "MarginTest",
    "MarginTests",
    "SdPaired",
    "margin_test",
    "margin_tests",
    "ratio_influence",
    "ratio_t_interval",
    "spread",
]
