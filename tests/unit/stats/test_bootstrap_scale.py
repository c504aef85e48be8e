"""The bootstrap at scale (issue 16): totals are the seeded weights times the per-case sums,
exactly, whatever columns repeat or are zero, and 25,000 cases resample in seconds."""

from __future__ import annotations

import hashlib
import time
import tracemalloc

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


def _digest(values: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()[:16]


# computed before issue 16's memory work on the bootstrap (np.unique of the whole matrix, a
# chunk of draws at once): the random stream and every total must stay bit for bit
PINNED_WHOLE = {
    (7, 3, 50, 1): "de1106c7922578a0",
    (400, 9, 300, 4): "70c6f7c497884f30",
    (2000, 24, 2000, bootstrap.SEED): "dc16690fe085a685",
    (9000, 6, 700, 3): "6a570b56f067f7f4",
    (300_000, 2, 25, 5): "5642513186dbd506",
}
PINNED_REAL = {(250, 200): "b9f76c9fe9540a30", (2000, 2000): "e79b05cff079037d"}


def test_the_random_stream_and_totals_are_pinned() -> None:
    for (n, k, resamples, seed), expected in PINNED_WHOLE.items():
        rng = np.random.default_rng(n)
        sums = rng.integers(0, 4, size=(n, k)).astype(float)
        if k > 2:
            sums[:, 1] = 0
            sums[:, -1] = sums[:, 0]
        totals = bootstrap.bootstrap_totals(sums, resamples=resamples, seed=seed)
        assert _digest(totals) == expected, (n, k)
    for (n, resamples), expected in PINNED_REAL.items():
        rng = np.random.default_rng(n + 1)
        sums = np.column_stack([rng.integers(0, 3, n), rng.random(n)]).astype(float)
        assert _digest(bootstrap.bootstrap_totals(sums, resamples=resamples, seed=8)) == expected
    assert _digest(_weights(2000, 2000, bootstrap.SEED)) == "732675323002bb40"
    assert _digest(_weights(123, 77, 9)) == "48f389961b404270"


def test_an_interval_is_pinned() -> None:
    from brittle.stats.cluster_interval import bca_intervals

    rng = np.random.default_rng(21)
    den = rng.integers(1, 6, size=(2, 2000)).astype(float)
    num = np.minimum(den, rng.binomial(den.astype(int), 0.93)).astype(float)
    ratio, low, high, bootstrapped = bca_intervals(num, den)
    assert ratio.tolist() == [0.9272515398701515, 0.9346999504050256]
    assert low.tolist() == [0.9205270311190272, 0.9285004163736637]
    assert high.tolist() == [0.9334440727509037, 0.9405258701137683]
    assert bootstrapped.tolist() == [True, True]


def test_negative_zero_and_equal_columns_share_totals() -> None:
    sums = np.array([[1.0, 1.0, -0.0, 0.0], [2.0, 2.0, 0.0, -0.0], [0.0, 0.0, -0.0, 0.0]])
    totals = bootstrap.bootstrap_totals(sums, resamples=40, seed=2)
    assert np.array_equal(totals[:, 0], totals[:, 1])
    assert not totals[:, 2:].any()
    assert np.array_equal(totals, _weights(3, 40, 2) @ sums)


def test_the_bootstrap_holds_no_copy_of_the_whole_matrix() -> None:
    # 200,000 cases x 24 columns (a 1M-row merge): np.unique(sums, axis=1) held about 160 MB
    # more than the sums
    rng = np.random.default_rng(14)
    sums = rng.integers(0, 3, size=(200_000, 24)).astype(float)
    sums[:, 12:] = sums[:, :12]
    sums[:, 5] = 0
    tracemalloc.start()
    try:
        totals = bootstrap.bootstrap_totals(sums, resamples=20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # the 12 distinct columns that are not all zero (19.2 MB of 38.4), one block of draws
    assert peak < sums.nbytes / 2 + 8 * 2**20
    assert np.array_equal(totals, _weights(200_000, 20, bootstrap.SEED) @ sums)
