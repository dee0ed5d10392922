"""Protocol metrics against their references: UAR, AU F1 and ICC (validation included)."""

import warnings

import numpy as np
import pandas as pd
import pingouin
import pytest
from sklearn import metrics as skm

import affectmetrics as am

pytestmark = pytest.mark.benchmark(group="protocols")


@pytest.fixture(scope="module")
def aus(scale):
    rng = np.random.default_rng(5)
    n = min(200_000, scale["classes"])
    truth = (rng.random((n, 12)) < 0.3).astype(np.int8)
    scores = np.clip(0.4 * truth + 0.7 * rng.random((n, 12)), 0, 1)
    return truth, scores


@pytest.fixture(scope="module")
def intensity(scale):
    rng = np.random.default_rng(6)
    n = min(20_000, scale["classes"])
    truth = rng.integers(0, 6, n).astype(float)
    return truth, np.clip(truth + rng.normal(0.2, 0.9, n), 0, 5)


def test_uar(benchmark, labels_for_uar):
    t, p = labels_for_uar
    result = benchmark(lambda: am.uar(t, p))
    assert result == pytest.approx(skm.balanced_accuracy_score(t, p), rel=1e-12)


def test_uar_scikit_learn(benchmark, labels_for_uar):
    t, p = labels_for_uar
    benchmark.pedantic(lambda: skm.balanced_accuracy_score(t, p), rounds=3, iterations=1)


@pytest.fixture(scope="module")
def labels_for_uar(expression):
    truth, scores = expression
    return truth, scores.argmax(axis=1)


def test_multilabel_f1(benchmark, aus):
    t, s = aus
    result = benchmark(lambda: am.multilabel_f1(t, s))
    assert result == pytest.approx(skm.f1_score(t, (s > 0.5).astype(np.int8),
                                                average="macro"), rel=1e-12)


def test_multilabel_f1_scikit_learn(benchmark, aus):
    t, s = aus
    benchmark.pedantic(lambda: skm.f1_score(t, (s > 0.5).astype(np.int8), average="macro"),
                       rounds=3, iterations=1)


def _pingouin_icc3(t, p):
    n = t.shape[0]
    long = pd.DataFrame({"target": np.tile(np.arange(n), 2),
                         "rater": np.repeat(["truth", "pred"], n),
                         "rating": np.concatenate([t, p])})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = pingouin.intraclass_corr(long, targets="target", raters="rater",
                                         ratings="rating")
    return float(table.set_index("Type").loc["ICC(C,1)", "ICC"])


def test_icc(benchmark, intensity):
    t, p = intensity
    result = benchmark(lambda: am.icc(t, p))
    assert result == pytest.approx(_pingouin_icc3(t, p), rel=1e-10)


def test_icc_pingouin(benchmark, intensity):
    t, p = intensity
    benchmark.pedantic(lambda: _pingouin_icc3(t, p), rounds=3, iterations=1)
