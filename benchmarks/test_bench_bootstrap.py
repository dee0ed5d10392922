"""Bootstrap intervals at n = 1e5 pairs, 1,000 resamples: affectmetrics vs scipy.stats.bootstrap.

Run: ``python -m pytest benchmarks/test_bench_bootstrap.py --benchmark-only`` (not part of the
test suite). Each case checks its result before it is timed: a fast wrong answer is a
failure, not a result.
"""

import numpy as np
import pytest
from scipy import stats

import affectmetrics as am

N, RESAMPLES = 100_000, 1_000


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(N, 2))
    return truth, 0.6 * truth + rng.normal(scale=0.7, size=(N, 2))


def ccc_vectorised(a, b, axis=-1):
    ma, mb = a.mean(axis, keepdims=True), b.mean(axis, keepdims=True)
    cov = ((a - ma) * (b - mb)).mean(axis)
    return 2 * cov / (a.var(axis) + b.var(axis) + (ma - mb).squeeze(axis) ** 2)


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_affectmetrics_all_four_metrics_both_outputs(benchmark, data, method):
    truth, pred = data
    result = benchmark.pedantic(am.bootstrap_ci, kwargs=dict(
        va=truth, va_pred=pred, n_resamples=RESAMPLES, method=method, seed=0),
        rounds=3, iterations=1)
    for key in ("ccc_valence", "ccc_arousal", "pearson_valence", "rmse_arousal"):
        assert result.low[key] < result.estimate[key] < result.high[key]


def test_scipy_ccc_only_one_output_percentile(benchmark, data):
    truth, pred = data
    x, y = truth[:, 0], pred[:, 0]
    # scipy's default batch holds all resamples at once (1e8 floats per sample); batch=50
    # keeps its memory near ours.
    result = benchmark.pedantic(stats.bootstrap, args=((x, y), ccc_vectorised), kwargs=dict(
        paired=True, vectorized=True, n_resamples=RESAMPLES, method="percentile", batch=50,
        rng=np.random.default_rng(0)), rounds=1, iterations=1)
    ours = am.bootstrap_ci(va=x, va_pred=y, n_resamples=RESAMPLES, seed=1)
    # Different resamples: agreement to Monte-Carlo error (a few % of the width).
    width = ours.high["ccc"] - ours.low["ccc"]
    assert abs(result.confidence_interval.low - ours.low["ccc"]) < 0.15 * width
    assert abs(result.confidence_interval.high - ours.high["ccc"]) < 0.15 * width
