"""Tests for conclab.hybrid: every strategy computes the same thing (never how fast)."""

import pytest

from conclab import hybrid

pytestmark = pytest.mark.timeout(120)

TASKS = [(0.01, n) for n in (10, 200, 3000, 40, 500)]  # distinct results, so order shows
EXPECTED = [hybrid.spin(n) for _, n in TASKS]


def test_spin_is_deterministic_and_cheap_to_check():
    assert hybrid.spin(0) == 0
    assert hybrid.spin(8) == sum(i * i % 7 for i in range(8))


def test_calibrate_returns_a_positive_count():
    assert hybrid.calibrate(0.001, probe=2000) >= 1


def test_run_batch_keeps_order():
    assert hybrid.run_batch(TASKS) == EXPECTED


def test_asyncio_and_threads_keep_order():
    assert hybrid.asyncio_only(TASKS) == EXPECTED
    assert hybrid.threads_only(TASKS) == EXPECTED


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_process_strategies_reassemble_in_order(workers):
    pool, started = hybrid.make_pool(workers, "spawn")
    try:
        assert started > 0
        assert len(pool._processes) == workers, "every worker started before anything is timed"
        assert hybrid.processes_only(TASKS, pool) == EXPECTED
        assert hybrid.processes_asyncio(TASKS, pool, workers) == EXPECTED
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def test_compare_reports_every_strategy_best_of_its_runs():
    r = hybrid.compare(TASKS, workers=2, start_method="spawn", repeat=3)
    assert set(r["seconds"]) == set(hybrid.STRATEGIES)
    assert r["same_results"] is True
    assert all(len(r["samples"][k]) == 3 and r["seconds"][k] == min(r["samples"][k]) for k in hybrid.STRATEGIES)
    assert all(s > 0 for s in r["seconds"].values())


def test_predict_matches_the_model():
    p = hybrid.predict(n=10, io_s=1.0, cpu_s=0.1, workers=2)
    assert p["asyncio only"] == pytest.approx(2.0)
    assert p["processes only"] == pytest.approx(5 * 1.1)
    assert p["processes + asyncio"] == pytest.approx(1.5)


@pytest.mark.parametrize("mode", ["asyncio", "threads", "threads+hashlib", "processes"])
def test_cores_used_is_a_positive_ratio(mode):
    assert hybrid.cores_used(mode, jobs=2, seconds=0.02) > 0


def test_cores_used_rejects_unknown_modes():
    with pytest.raises(ValueError):
        hybrid.cores_used("fibers")
