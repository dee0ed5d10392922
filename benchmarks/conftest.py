"""Shared fixtures of the benchmark suite (pytest-benchmark).

``--bench-scale smoke`` shrinks every case to a few thousand samples: CI runs the suite that
way with ``--benchmark-disable`` to check every case's correctness (not its speed).
"""

import numpy as np
import pytest

SCALES = {"full": {"continuous": (1_000_000, 10_000_000), "classes": 1_000_000,
                   "bootstrap": 100_000, "resamples": 1_000, "streamed": 100_000_000},
          "smoke": {"continuous": (5_000,), "classes": 5_000, "bootstrap": 2_000,
                    "resamples": 50, "streamed": 200_000}}


def pytest_addoption(parser):
    parser.addoption("--bench-scale", choices=sorted(SCALES), default="full",
                     help="problem sizes: full (the documented figures) or smoke (CI)")


@pytest.fixture(scope="session")
def scale(request):
    return SCALES[request.config.getoption("--bench-scale")]


def pytest_generate_tests(metafunc):
    if "n_continuous" in metafunc.fixturenames:
        sizes = SCALES[metafunc.config.getoption("--bench-scale")]["continuous"]
        metafunc.parametrize("n_continuous", sizes, ids=[f"n={n:.0e}" for n in sizes],
                             scope="module")


@pytest.fixture(scope="module")
def va(n_continuous):
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(n_continuous, 2))
    return truth, 0.6 * truth + rng.normal(scale=0.7, size=(n_continuous, 2))


@pytest.fixture(scope="session")
def expression(scale):
    rng = np.random.default_rng(1)
    n, c = scale["classes"], 8
    labels = rng.integers(0, c, n)
    scores = rng.random((n, c)) + 0.5 * np.eye(c)[labels]
    return labels, scores / scores.sum(axis=1, keepdims=True)


def two_pass(truth, pred):
    """Reference: textbook two-pass float64 moments, column by column."""
    out = {}
    for name, fn in (("ccc", _ccc), ("pearson", _pearson)):
        out[name] = np.array([fn(truth[:, j], pred[:, j]) for j in range(truth.shape[1])])
    out["rmse"] = np.sqrt(((truth - pred) ** 2).mean(axis=0))
    out["sagr"] = (np.sign(truth) == np.sign(pred)).mean(axis=0)
    return out


def _ccc(x, y):
    mx, my = x.mean(), y.mean()
    return 2 * np.mean((x - mx) * (y - my)) / (x.var() + y.var() + (mx - my) ** 2)


def _pearson(x, y):
    dx, dy = x - x.mean(), y - y.mean()
    return np.sum(dx * dy) / np.sqrt(np.sum(dx * dx) * np.sum(dy * dy))


def record_peak(benchmark, function, *args, **kwargs):
    """Run ``function`` once under tracemalloc and record its peak extra memory.

    NumPy reports its allocations to tracemalloc; torch's are not seen, so the figure is
    given for NumPy-based cases only.
    """
    import tracemalloc

    tracemalloc.start()
    function(*args, **kwargs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    benchmark.extra_info["peak_extra_MB"] = round(peak / 2**20, 1)
