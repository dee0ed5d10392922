"""Per-step overhead of the framework adapters against the frameworks' own metrics."""

import keras
import numpy as np
import pytest
import torch
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassAUROC,
    MulticlassCohenKappa,
    MulticlassF1Score,
)
from torchmetrics.regression import ConcordanceCorrCoef, PearsonCorrCoef

import affectmetrics as am
from affectmetrics.keras import CCC as KerasCCC
from affectmetrics.torch import CCC as TorchCCC
from affectmetrics.torch import AffectMetrics

pytestmark = pytest.mark.benchmark(group="adapter update, 256 x 2 batch")
# The torch metrics summarise pending batches every 16,384 values (4,096 rows of CCC's
# (target, preds) pairs for two outputs, 2,048 rows of AffectMetrics' 8 scores): a round is
# 16 updates (whole cycles) for them and for their anchors, so the summaries' cost counts.
TORCH = pytest.mark.benchmark(group="torch update, 256 x 2 batch, 16 updates per round")
MULTITASK = pytest.mark.benchmark(
    group="torch multi-task update, 256 samples, 8 classes + 2 outputs, 16 updates per round")
CYCLE = 16


def cycle(update, *args):
    """CYCLE updates: one round."""
    def run():
        for _ in range(CYCLE):
            update(*args)
    return run


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(5)
    truth = rng.normal(size=(256, 2)).astype(np.float32)
    return truth, truth + rng.normal(scale=0.5, size=truth.shape).astype(np.float32)


@pytest.fixture(scope="module")
def multitask(batch):
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 8, 256)
    logits = (rng.normal(size=(256, 8)) + 2.0 * np.eye(8)[labels]).astype(np.float32)
    truth, pred = batch
    return tuple(torch.from_numpy(a) for a in (logits, pred, labels, truth))


@TORCH
def test_affectmetrics_torch_ccc(benchmark, batch):
    metric = TorchCCC(num_outputs=2)
    t, p = (torch.from_numpy(a) for a in batch)
    metric.update(p, t)
    np.testing.assert_allclose(metric.compute().numpy(), am.ccc(*batch), rtol=1e-12)
    metric.reset()
    benchmark(cycle(metric.update, p, t))


@TORCH
def test_torchmetrics_ccc(benchmark, batch):
    metric = ConcordanceCorrCoef(num_outputs=2)
    t, p = (torch.from_numpy(a) for a in batch)
    benchmark(cycle(metric.update, p, t))


@MULTITASK
def test_affectmetrics_torch_affect_metrics(benchmark, multitask):
    """Accuracy, F1, kappa, alpha, exact AUC and AP, and CCC, Pearson, RMSE, SAGR x 2."""
    logits, pred, labels, truth = multitask
    metric = AffectMetrics()
    metric.update((logits, pred), (labels, truth))
    result = metric.compute()
    assert result["f1"].item() == pytest.approx(am.f1_score(labels.numpy(), logits.numpy(),
                                                            labels=np.arange(8)), rel=1e-12)
    assert result["ccc_arousal"].item() == pytest.approx(
        am.ccc(truth[:, 1].numpy(), pred[:, 1].numpy()), rel=1e-12)
    metric.reset()
    benchmark(cycle(metric.update, (logits, pred), (labels, truth)))


@MULTITASK
def test_torchmetrics_collection(benchmark, multitask):
    """torchmetrics' accuracy, F1, kappa, exact AUROC, CCC and Pearson."""
    logits, pred, labels, truth = multitask
    expression = MetricCollection({
        "accuracy": MulticlassAccuracy(8, average="micro"), "f1": MulticlassF1Score(8),
        "kappa": MulticlassCohenKappa(8), "auc": MulticlassAUROC(8, thresholds=None)})
    va = MetricCollection({"ccc": ConcordanceCorrCoef(num_outputs=2),
                           "pearson": PearsonCorrCoef(num_outputs=2)})

    def update():
        expression.update(logits, labels)
        va.update(pred, truth)

    benchmark(cycle(update))


def test_affectmetrics_keras_ccc(benchmark, batch):
    metric = KerasCCC(num_outputs=2)
    benchmark(metric.update_state, *batch)


def test_keras_mean_squared_error(benchmark, batch):
    metric = keras.metrics.MeanSquaredError()
    benchmark(metric.update_state, *batch)
