"""Accuracy, macro F1 and Cohen's kappa from labels (validation included)."""

import numpy as np
import pytest
from conftest import record_peak
from sklearn import metrics as skm

import affectmetrics as am

pytestmark = pytest.mark.benchmark(group="accuracy + F1 + kappa, n labels, 8 classes")


@pytest.fixture(scope="module")
def labels(expression):
    truth, scores = expression
    return truth, scores.argmax(axis=1)


def test_affectmetrics(benchmark, labels):
    t, p = labels
    record_peak(benchmark, lambda: (am.accuracy(t, p), am.f1_score(t, p), am.cohen_kappa(t, p)))
    result = benchmark(lambda: (am.accuracy(t, p), am.f1_score(t, p), am.cohen_kappa(t, p)))
    assert result[1] == pytest.approx(skm.f1_score(t, p, average="macro"), rel=1e-12)
    assert result[2] == pytest.approx(skm.cohen_kappa_score(t, p), rel=1e-12)


def test_scikit_learn(benchmark, labels):
    t, p = labels
    benchmark.pedantic(lambda: (skm.accuracy_score(t, p), skm.f1_score(t, p, average="macro"),
                                skm.cohen_kappa_score(t, p)), rounds=3, iterations=1)


def test_floor_three_bincounts(benchmark, labels):
    t, p = labels
    benchmark(lambda: [np.bincount(t * 8 + p, minlength=64) for _ in range(3)])
