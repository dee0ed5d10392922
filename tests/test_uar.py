"""Unweighted average recall against scikit-learn, audmetric and hand-checked cases."""

import audmetric
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

import affectmetrics as am
from affectmetrics.bootstrap import bootstrap_ci


def random_labels(rng, n, n_classes, absent=()):
    p = rng.dirichlet(np.ones(n_classes))
    p[list(absent)] = 0
    p /= p.sum()
    truth = rng.choice(n_classes, size=n, p=p)
    pred = np.where(rng.random(n) < 0.5, truth, rng.integers(0, n_classes, n))
    return truth, pred


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("n_classes", [2, 4, 8])
def test_agrees_with_scikit_learn_and_audmetric(seed, n_classes):
    rng = np.random.default_rng(seed)
    t, p = random_labels(rng, 300, n_classes)
    value = am.uar(t, p)
    assert value == pytest.approx(skm.recall_score(t, p, average="macro", zero_division=0.0),
                                  rel=1e-12)
    assert value == pytest.approx(audmetric.unweighted_average_recall(t.tolist(), p.tolist()),
                                  rel=1e-12)
    if set(t) == set(t) | set(p):
        assert value == pytest.approx(skm.balanced_accuracy_score(t, p), rel=1e-12)


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
@pytest.mark.parametrize("seed", range(5))
def test_absent_classes_follow_zero_division(seed):
    rng = np.random.default_rng(seed)
    t, p = random_labels(rng, 200, 8, absent=(2, 5))
    labels = np.arange(8)
    for zero_division in (0.0, 1.0):
        assert am.uar(t, p, labels=labels, zero_division=zero_division) == pytest.approx(
            skm.recall_score(t, p, labels=labels, average="macro",
                             zero_division=zero_division), rel=1e-12)
        assert am.uar(t, p, labels=labels, zero_division=zero_division) == pytest.approx(
            audmetric.unweighted_average_recall(t.tolist(), p.tolist(), labels.tolist(),
                                                zero_division=zero_division), rel=1e-12)
    # nan leaves classes without true samples out: scikit-learn's balanced accuracy
    assert am.uar(t, p, labels=labels, zero_division=float("nan")) == pytest.approx(
        skm.balanced_accuracy_score(t, p), rel=1e-12)


def test_hand_checked_cases():
    # recalls 1/2 and 1: 0.75
    assert am.uar([0, 0, 1, 1], [0, 1, 1, 1]) == 0.75
    # majority predictor on the study's balanced 8 classes: 1/8
    t = np.repeat(np.arange(8), 100)
    assert am.uar(t, np.zeros(800, int)) == 0.125
    # a class predicted but never true gets recall 0 by default: (1/2 + 0) / 2, as audmetric
    assert am.uar([0, 0], [0, 1]) == 0.25
    assert am.uar([0, 0], [0, 1], zero_division=float("nan")) == 0.5
    # a score matrix: arg-max predictions 0, 1, 0
    assert am.uar([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]) == 0.75


def test_undefined_and_refused():
    # Every input the function accepts has a true sample; an empty accumulator has none.
    with pytest.warns(am.UndefinedMetricWarning) as record:
        assert np.isnan(am.ClassificationAccumulator(num_classes=3).compute()["uar"])
    assert sum(str(w.message).startswith("uar is undefined") for w in record) == 1
    with pytest.raises(ValueError, match="zero_division"):
        am.uar([0, 1], [0, 1], zero_division=0.5)
    with pytest.raises(ValueError, match="y_pred"):
        am.uar([0, 1], [0, 1, 1])


def test_uar_in_accumulator_bootstrap_and_report():
    rng = np.random.default_rng(3)
    t = rng.integers(0, 4, 500)
    scores = rng.random((500, 4)) + 0.6 * np.eye(4)[t]
    expected = am.uar(t, scores)
    acc = am.ClassificationAccumulator(num_classes=4)
    acc.update(t[:123], scores[:123])
    other = am.ClassificationAccumulator(num_classes=4)
    other.update(t[123:], scores[123:])
    assert acc.merge(other).compute()["uar"] == pytest.approx(expected, rel=1e-12)
    result = bootstrap_ci(expression=t, expression_pred=scores, n_resamples=50, seed=0)
    assert result.estimate["uar"] == pytest.approx(expected, rel=1e-12)
    assert result.low["uar"] <= expected <= result.high["uar"]
    report = am.evaluate(expression=t, expression_pred=scores, warn=False)
    assert report.metrics["uar"] == pytest.approx(expected, rel=1e-12)
    assert any(line.startswith("| UAR ") for line in report.to_markdown().splitlines())


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=40))
def test_property_equals_recall_score(pairs):
    t, p = (np.array(x) for x in zip(*pairs, strict=True))
    assert am.uar(t, p) == pytest.approx(
        skm.recall_score(t, p, average="macro", zero_division=0.0), rel=1e-12)


@pytest.mark.parametrize("bad", ["warn", None, [0.0]])
def test_non_numeric_zero_division_is_a_type_error_naming_it(bad):
    # scikit-learn's default zero_division="warn" gave "could not convert string to
    # float: 'warn'", naming neither the option nor the values it takes.
    with pytest.raises(TypeError, match=r"^zero_division must be 0.0, 1.0 or nan, got "):
        am.uar([0, 1], [0, 1], zero_division=bad)
    with pytest.raises(TypeError, match=r"^zero_division must be 0.0, 1.0 or nan"):
        am.f1_score([0, 1], [0, 1], zero_division=bad)
    with pytest.raises(TypeError, match=r"^zero_division must be 0.0, 1.0 or nan"):
        am.multilabel_f1([[0, 1]], [[0, 1]], zero_division=bad)
