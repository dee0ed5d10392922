"""Keras ``update_state`` on a 256 x 2 batch, eager, against Keras' own ``MeanSquaredError``.

The backend is the process's (``KERAS_BACKEND``); the group name says which. Target: the
affectmetrics update costs at most 1.5x ``MeanSquaredError.update_state``. Measure each
backend once with

    KERAS_BACKEND=tensorflow python -m pytest benchmarks/test_bench_keras.py
    KERAS_BACKEND=torch python -m pytest benchmarks/test_bench_keras.py
    KERAS_BACKEND=jax JAX_ENABLE_X64=1 python -m pytest benchmarks/test_bench_keras.py
"""

import keras
import numpy as np
import pytest

import affectmetrics as am
from affectmetrics.keras import CCC, Pearson

BACKEND = keras.backend.backend()
pytestmark = pytest.mark.benchmark(group=f"keras update_state, 256 x 2 batch ({BACKEND})")


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(5)
    truth = rng.normal(size=(256, 2)).astype(np.float32)
    return truth, truth + rng.normal(scale=0.5, size=truth.shape).astype(np.float32)


@pytest.mark.parametrize("cls", [CCC, Pearson], ids=["ccc", "pearson"])
def test_affectmetrics_keras_update(benchmark, batch, cls):
    truth, pred = batch
    metric = cls(num_outputs=2)
    metric.update_state(truth, pred)
    expected = getattr(am, cls._default_name)(truth.astype(np.float64),
                                              pred.astype(np.float64)).mean()
    assert float(metric.result()) == pytest.approx(expected, rel=1e-12)
    benchmark(metric.update_state, truth, pred)


def test_keras_mean_squared_error(benchmark, batch):
    metric = keras.metrics.MeanSquaredError()
    metric.update_state(*batch)
    benchmark(metric.update_state, *batch)
