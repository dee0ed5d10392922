"""Bootstrap intervals at n = 1e5 pairs, 1,000 resamples: affectmetrics vs scipy.stats.bootstrap.

Each case checks its result: a fast wrong answer is a failure, not a result.
"""

import numpy as np
import pytest
from scipy import stats

import affectmetrics as am

pytestmark = pytest.mark.benchmark(group="bootstrap CIs, 1e5 pairs x 2, 1,000 resamples")


@pytest.fixture(scope="module")
def data(scale):
    rng = np.random.default_rng(0)
    n = scale["bootstrap"]
    truth = rng.normal(size=(n, 2))
    return truth, 0.6 * truth + rng.normal(scale=0.7, size=(n, 2))


def ccc_vectorised(a, b, axis=-1):
    ma, mb = a.mean(axis, keepdims=True), b.mean(axis, keepdims=True)
    cov = ((a - ma) * (b - mb)).mean(axis)
    return 2 * cov / (a.var(axis) + b.var(axis) + (ma - mb).squeeze(axis) ** 2)


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_affectmetrics_all_four_metrics_both_outputs(benchmark, data, method, scale):
    truth, pred = data
    result = benchmark.pedantic(am.bootstrap_ci, kwargs=dict(
        va=truth, va_pred=pred, n_resamples=scale["resamples"], method=method, seed=0),
        rounds=3, iterations=1)
    for key in ("ccc_valence", "ccc_arousal", "pearson_valence", "rmse_arousal"):
        assert result.low[key] < result.estimate[key] < result.high[key]


def test_scipy_ccc_only_one_output_percentile(benchmark, data, scale):
    truth, pred = data
    x, y = truth[:, 0], pred[:, 0]
    # scipy's default batch holds all resamples at once (1e8 floats per sample); batch=50
    # keeps its memory near ours.
    result = benchmark.pedantic(stats.bootstrap, args=((x, y), ccc_vectorised), kwargs=dict(
        paired=True, vectorized=True, n_resamples=scale["resamples"], method="percentile",
        batch=50,
        rng=np.random.default_rng(0)), rounds=1, iterations=1)
    ours = am.bootstrap_ci(va=x, va_pred=y, n_resamples=scale["resamples"], seed=1)
    # Different resamples: agreement to Monte-Carlo error (a few % of the width with 1,000
    # resamples; more with the smoke scale's 50).
    width = ours.high["ccc"] - ours.low["ccc"]
    tolerance = 0.15 if scale["resamples"] >= 1000 else 0.6
    assert abs(result.confidence_interval.low - ours.low["ccc"]) < tolerance * width
    assert abs(result.confidence_interval.high - ours.high["ccc"]) < tolerance * width
