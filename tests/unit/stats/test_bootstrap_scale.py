"""The bootstrap at scale (issue 16): totals are the seeded weights times the per-case sums,
exactly, whatever columns repeat or are zero, and 25,000 cases resample in seconds."""

from __future__ import annotations

import time

import numpy as np

from brittle.stats import bootstrap


def _weights(n: int, resamples: int, seed: int) -> np.ndarray:
    return np.vstack(list(bootstrap.case_weights(n, resamples, seed)))


def test_whole_number_totals_are_exact_with_repeated_and_zero_columns() -> None:
    rng = np.random.default_rng(11)
    sums = rng.integers(0, 5, size=(400, 9)).astype(float)
    sums[:, 2] = 0.0  # a column no case carries (no errors, say)
    sums[:, 5] = sums[:, 1]  # the originals' counts, repeated in every family's scope
    sums[:, 8] = sums[:, 0]
    totals = bootstrap.bootstrap_totals(sums, resamples=300, seed=4)
    expected = _weights(400, 300, 4).astype(np.int64) @ sums.astype(np.int64)
    assert totals.shape == (300, 9)
    assert np.array_equal(totals, expected.astype(float))


def test_totals_that_are_not_whole_numbers() -> None:
    rng = np.random.default_rng(12)
    sums = np.column_stack([rng.integers(0, 3, 250), rng.random(250)]).astype(float)
    totals = bootstrap.bootstrap_totals(sums, resamples=200, seed=8)
    expected = _weights(250, 200, 8).astype(np.longdouble) @ sums.astype(np.longdouble)
    assert np.array_equal(totals[:, 0], expected[:, 0].astype(float))
    assert np.allclose(totals[:, 1], expected[:, 1].astype(float), rtol=1e-13, atol=0)


def test_twenty_five_thousand_cases_resample_in_seconds() -> None:
    # 2,000 resamples of 25,000 cases (a 100,000-row eval of 4 variants per case): BLAS threads
    # made this 50 s on the busy 2-core machine; on one thread it takes about 2 s there
    rng = np.random.default_rng(13)
    sums = rng.integers(0, 3, size=(25_000, 24)).astype(float)
    sums[:, 12:] = sums[:, :12]
    start = time.process_time()
    totals = bootstrap.bootstrap_totals(sums)
    assert time.process_time() - start < 15
    assert totals.shape == (bootstrap.RESAMPLES, 24)
    assert np.array_equal(totals[:, 12:], totals[:, :12])


def test_the_products_run_on_one_blas_thread(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from threadpoolctl import threadpool_info

    seen: list[int] = []
    draw = bootstrap.case_weights

    def watched(n: int, resamples: int, seed: int):  # type: ignore[no-untyped-def]
        for weights in draw(n, resamples, seed):
            seen.extend(
                lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"
            )
            yield weights

    monkeypatch.setattr(bootstrap, "case_weights", watched)
    bootstrap.bootstrap_totals(np.ones((50, 3)) * np.arange(3), resamples=20)
    assert seen and set(seen) == {1}
