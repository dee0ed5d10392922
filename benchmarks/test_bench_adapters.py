"""Per-step overhead of the framework adapters against the frameworks' own metrics."""

import keras
import numpy as np
import pytest
import torch
from torchmetrics.regression import ConcordanceCorrCoef

from affectmetrics.keras import CCC as KerasCCC
from affectmetrics.torch import CCC as TorchCCC

pytestmark = pytest.mark.benchmark(group="adapter update, 256 x 2 batch")


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(5)
    truth = rng.normal(size=(256, 2)).astype(np.float32)
    return truth, truth + rng.normal(scale=0.5, size=truth.shape).astype(np.float32)


def test_affectmetrics_torch_ccc(benchmark, batch):
    metric = TorchCCC(num_outputs=2)
    t, p = (torch.from_numpy(a) for a in batch)
    benchmark(metric.update, p, t)


def test_torchmetrics_ccc(benchmark, batch):
    metric = ConcordanceCorrCoef(num_outputs=2)
    t, p = (torch.from_numpy(a) for a in batch)
    benchmark(metric.update, p, t)


def test_affectmetrics_keras_ccc(benchmark, batch):
    metric = KerasCCC(num_outputs=2)
    benchmark(metric.update_state, *batch)


def test_keras_mean_squared_error(benchmark, batch):
    metric = keras.metrics.MeanSquaredError()
    benchmark(metric.update_state, *batch)
