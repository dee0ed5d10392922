"""One-vs-rest ROC AUC and average precision on n x 8 scores."""

import numpy as np
import pytest
import torch
from conftest import record_peak
from sklearn import metrics as skm
from torchmetrics.functional.classification import (
    multiclass_auroc,
    multiclass_average_precision,
)

import affectmetrics as am

pytestmark = pytest.mark.benchmark(group="OvR ROC AUC + average precision, n x 8")


def test_affectmetrics(benchmark, expression):
    labels, scores = expression
    record_peak(benchmark, lambda: (am.roc_auc(labels, scores), am.pr_auc(labels, scores)))
    auc, ap = benchmark(lambda: (am.roc_auc(labels, scores), am.pr_auc(labels, scores)))
    onehot = np.eye(8)[labels]
    assert auc == pytest.approx(skm.roc_auc_score(onehot, scores), rel=1e-12)
    assert ap == pytest.approx(skm.average_precision_score(onehot, scores), rel=1e-12)


def test_affectmetrics_logits(benchmark, expression):
    """The same model's logits: the score rule's softmax per row, then the same ranking."""
    labels, scores = expression
    logits = np.log(scores) + 3.0  # softmax(logits) == scores
    auc, ap = benchmark(lambda: (am.roc_auc(labels, logits), am.pr_auc(labels, logits)))
    assert auc == pytest.approx(am.roc_auc(labels, scores), rel=1e-12)
    assert ap == pytest.approx(am.pr_auc(labels, scores), rel=1e-12)


def test_scikit_learn(benchmark, expression):
    labels, scores = expression
    onehot = np.eye(8)[labels]
    record_peak(benchmark, lambda: (skm.roc_auc_score(onehot, scores),
                                    skm.average_precision_score(onehot, scores)))
    benchmark.pedantic(lambda: (skm.roc_auc_score(onehot, scores),
                                skm.average_precision_score(onehot, scores)),
                       rounds=3, iterations=1)


def test_torchmetrics_exact(benchmark, expression):
    labels, scores = expression
    s, t = torch.from_numpy(scores), torch.from_numpy(labels)
    auc, _ = benchmark.pedantic(lambda: (multiclass_auroc(s, t, 8, thresholds=None),
                                         multiclass_average_precision(s, t, 8, thresholds=None)),
                                rounds=3, iterations=1)
    assert float(auc) == pytest.approx(am.roc_auc(labels, scores), rel=1e-6)


def test_floor_one_sort_per_class(benchmark, expression):
    _, scores = expression
    benchmark(lambda: [np.sort(scores[:, k]) for k in range(8)])
