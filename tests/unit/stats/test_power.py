"""Power against the allowance, as ``brittle power`` and the "underpowered" notes quote it.

``brittle power``'s figures are checked by simulation through the gates' own test
(``margin_tests``): 2,000 simulated (baseline, run) pairs at the rise it says the gate detects
with 80% power must fail 75-85% of the time (Monte Carlo standard error 0.009). The simulated
model is the one the command assumes: every case has a stable propensity with the given mean and
intra-case correlation, shared by the baseline and the run; units are independent given it; a
rise ``D`` moves each case's propensity in proportion to its room, ``p + D (1 - p) / (1 - mean)``,
so the mean moves by exactly ``D``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from brittle.cli import main
from brittle.stats.margin import margin_tests
from brittle.stats.power import describe, gate_power, paired_sd_from_baseline, sd_for_rate, target
from tests.unit.stats.simulation import propensities

RUNS = 2000


def simulated_power(
    seed: int,
    *,
    cases: int,
    units: int,
    rate: float,
    icc: float,
    rise: float,
    allowance: float,
    level: float,
) -> float:
    """The share of simulated comparisons whose ``rise <= allowance`` gate fails."""
    rng = np.random.default_rng(seed)
    if icc > 0:
        stable = propensities(rng, RUNS * cases, rate, icc=icc).reshape(RUNS, cases)
    else:
        stable = np.full((RUNS, cases), rate)
    moved = stable + rise * (1 - stable) / (1 - rate)
    base = (rng.random((RUNS, cases, units)) < stable[..., None]).sum(axis=-1)
    run = (rng.random((RUNS, cases, units)) < moved[..., None]).sum(axis=-1)
    den = np.full((RUNS, cases), float(units))
    tests = margin_tests(run, den, base, den, allowance=allowance, direction="rise", level=level)
    return float(np.mean(tests.p_value < level))


def brittle_power(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["power", *args]) == 0
    return capsys.readouterr().out


SCENARIOS = [
    # cases, variants, baseline rate, icc, allowance, gates
    (200, 5, 0.10, 0.2, 0.03, 1),
    (200, 5, 0.10, 0.2, 0.0, 3),
    (150, 1, 0.15, 0.0, 0.0, 1),
    (120, 3, 0.30, 0.5, 0.05, 2),
]


@pytest.mark.parametrize(("cases", "variants", "rate", "icc", "allowance", "gates"), SCENARIOS)
def test_brittle_powers_80_percent_point_matches_simulation(
    capsys: pytest.CaptureFixture[str],
    cases: int,
    variants: int,
    rate: float,
    icc: float,
    allowance: float,
    gates: int,
) -> None:
    out = brittle_power(
        capsys,
        *("--cases", str(cases), "--variants", str(variants), "--baseline-rate", str(rate)),
        *("--icc", str(icc), "--allowance", str(allowance), "--gates", str(gates)),
    )
    found = re.search(r"smallest detectable rise: (0\.\d+)", out)
    assert found is not None, out
    mde = float(found[1])
    assert mde > allowance
    options = {"units": variants, "rate": rate, "icc": icc, "allowance": allowance}
    level = 0.05 / gates
    power = simulated_power(1, cases=cases, rise=mde, level=level, **options)
    assert abs(power - 0.80) <= 0.05, (mde, power)
    # and the cases it says a rise needs give that rise 80% power
    rise = round(mde + 0.01, 4)
    out = brittle_power(
        capsys,
        *("--cases", str(cases), "--variants", str(variants), "--baseline-rate", str(rate)),
        *("--icc", str(icc), "--allowance", str(allowance), "--gates", str(gates)),
        *("--delta", str(rise)),
    )
    needed = re.search(rf"cases needed to detect a rise of {rise:g}: (\d+)", out)
    assert needed is not None, out
    assert int(needed[1]) < cases
    power = simulated_power(2, cases=int(needed[1]), rise=rise, level=level, **options)
    assert abs(power - 0.80) <= 0.05, (rise, needed[1], power)


def test_brittle_power_says_what_it_assumed_and_rejects_bad_input(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = brittle_power(
        capsys, "--cases", "200", "--variants", "5", "--baseline-rate", "0.1", "--icc", "0.2"
    )
    assert "paired gate 'rise <= 0' on 200 cases x 5 variants (1000 paired units)" in out
    assert "one-sided level 0.05 (alpha 0.05 / 1 gate(s)), power 80%" in out
    assert f"SD of per-case paired differences {sd_for_rate(0.1, 5, 0.2, 0.0):.4f}" in out
    out = brittle_power(
        capsys, "--cases", "50", "--baseline-rate", "0.1", "--allowance", "0.03", "--delta", "0.02"
    )
    assert "a rise of 0.02 is within the allowance of 0.03: the gate fails on it at most" in out
    assert main(["power", "--cases", "0", "--baseline-rate", "1.5"]) == 2
    assert "--cases must be at least 1; --baseline-rate must be in [0, 1)" in (
        capsys.readouterr().err
    )


def test_sd_for_rate_is_the_sd_of_simulated_paired_differences() -> None:
    """``sd_for_rate`` against the SD the gate observes in simulation, and at no change against
    what ``paired_sd_from_baseline`` predicts from one large baseline."""
    for rate, units, icc, rise in [(0.1, 5, 0.2, 0.0), (0.1, 5, 0.2, 0.08), (0.3, 3, 0.5, 0.1)]:
        rng = np.random.default_rng(3)
        stable = propensities(rng, 20_000, rate, icc=icc)
        moved = stable + rise * (1 - stable) / (1 - rate)
        base = rng.binomial(units, stable).astype(float)
        run = rng.binomial(units, moved).astype(float)
        den = np.full(base.size, float(units))
        observed = margin_tests(
            run, den, base, den, allowance=0.0, direction="rise", level=0.05
        ).sd_paired[0]
        assert sd_for_rate(rate, units, icc, rise) == pytest.approx(observed, rel=0.02)
        if rise == 0:
            predicted = paired_sd_from_baseline(base, den, direction="rise")
            assert sd_for_rate(rate, units, icc, 0.0) == pytest.approx(predicted, rel=0.02)


def test_underpowered_means_it_cannot_detect_twice_its_allowance() -> None:
    assert target(0.03) == 0.06 and target(0.0) == 0.02 and target(0.005) == 0.025

    def sd(_: float) -> float:
        return 0.2

    options = {"direction": "rise", "allowance": 0.03, "units": 5.0, "level": 0.05}
    small = gate_power(cases=16, sd_paired=sd, largest=0.9, **options)  # type: ignore[arg-type]
    large = gate_power(cases=2000, sd_paired=sd, largest=0.9, **options)  # type: ignore[arg-type]
    assert small.underpowered and not large.underpowered
    assert small.mde is not None and small.mde > 0.06 and large.mde is not None
    assert small.cases_needed == large.cases_needed and small.cases_needed is not None
    assert large.mde <= 0.06 and large.cases_needed <= 2000
    text = describe("flip_rate rise <= 0.03", small.to_dict())
    assert text == (
        f"flip_rate rise <= 0.03 detects rises >= {small.mde:.3f} "
        f"(~{small.cases_needed} cases for 0.06)"
    )
