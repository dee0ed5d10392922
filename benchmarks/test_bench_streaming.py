"""A training loop's view: accumulator updates on 256-sample batches, and flat memory."""

import tracemalloc

import numpy as np
import pytest
import torch
from torchmetrics.classification import MulticlassAUROC
from torchmetrics.regression import ConcordanceCorrCoef

import affectmetrics as am

pytestmark = pytest.mark.benchmark(group="update on a 256-sample batch")


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(3)
    truth = rng.normal(size=(256, 2))
    labels = rng.integers(0, 8, 256)
    scores = rng.random((256, 8))
    return truth, truth + rng.normal(scale=0.5, size=(256, 2)), labels, scores / scores.sum(1,
                                                                                          keepdims=True)


def test_continuous_accumulator(benchmark, batch):
    truth, pred, _, _ = batch
    acc = am.ContinuousAccumulator(num_outputs=2)
    benchmark(acc.update, truth, pred)
    assert acc.n_samples % 256 == 0


def test_torchmetrics_ccc(benchmark, batch):
    truth, pred, _, _ = batch
    metric = ConcordanceCorrCoef(num_outputs=2)
    t, p = torch.from_numpy(truth), torch.from_numpy(pred)
    benchmark(metric.update, p, t)


def test_classification_accumulator(benchmark, batch):
    _, _, labels, scores = batch
    acc = am.ClassificationAccumulator(num_classes=8)
    benchmark(acc.update, labels, scores)


def test_torchmetrics_auroc(benchmark, batch):
    _, _, labels, scores = batch
    metric = MulticlassAUROC(num_classes=8, thresholds=None)
    benchmark(metric.update, torch.from_numpy(scores), torch.from_numpy(labels))


def test_binned_memory_is_flat(benchmark, scale):
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 8, 65_536)
    scores = rng.random((65_536, 8))
    acc = am.ClassificationAccumulator(num_classes=8, bins=1024)
    acc.update(labels, scores)
    tracemalloc.start()
    before = sum(np.asarray(v).nbytes for v in acc.state_dict().values())
    streamed = 65_536

    def stream():
        nonlocal streamed
        for _ in range(scale["streamed"] // 65_536):
            acc.update(labels, scores)
            streamed += 65_536

    benchmark.pedantic(stream, rounds=1, iterations=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = sum(np.asarray(v).nbytes for v in acc.state_dict().values())
    benchmark.extra_info.update(samples=streamed, state_bytes=after, peak_traced_bytes=peak)
    assert after == before and acc.n_samples == streamed
