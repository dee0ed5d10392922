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


# -- issue 12: one call, one validated confusion matrix, at n = 1e5 ----------------------


@pytest.fixture(scope="module")
def labels_1e5(scale):
    rng = np.random.default_rng(2)
    n = min(100_000, scale["classes"])
    truth = rng.integers(0, 8, n)
    scores = rng.random((n, 8)) + 0.5 * np.eye(8)[truth]
    return truth, scores.argmax(axis=1)


def test_classification_scores_n1e5(benchmark, labels_1e5):
    t, p = labels_1e5
    result = benchmark(lambda: am.classification_scores(t, p))
    assert result["accuracy"] == pytest.approx(skm.accuracy_score(t, p), rel=1e-15)
    assert result["f1"] == pytest.approx(skm.f1_score(t, p, average="macro"), rel=1e-12)
    assert result["kappa"] == pytest.approx(skm.cohen_kappa_score(t, p), rel=1e-12)


def test_scikit_learn_n1e5(benchmark, labels_1e5):
    t, p = labels_1e5
    benchmark.pedantic(lambda: (skm.accuracy_score(t, p), skm.f1_score(t, p, average="macro"),
                                skm.cohen_kappa_score(t, p)), rounds=5, iterations=1)
