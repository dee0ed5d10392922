"""Accuracy, F1, kappa and the confusion matrix against scikit-learn and hand-checked cases."""

import numpy as np
import pytest
from sklearn import metrics as skm

import affectmetrics as am


def random_labels(rng, n, n_classes, imbalance=False, absent=()):
    p = rng.dirichlet(np.ones(n_classes) * (0.3 if imbalance else 5.0))
    p[list(absent)] = 0
    p /= p.sum()
    truth = rng.choice(n_classes, size=n, p=p)
    # A predictor right about half the time, wrong uniformly otherwise.
    pred = np.where(rng.random(n) < 0.5, truth, rng.integers(0, n_classes, n))
    return truth, pred


CASES = [
    dict(n=50, n_classes=2),
    dict(n=400, n_classes=8),
    dict(n=400, n_classes=8, imbalance=True),
    dict(n=300, n_classes=8, absent=(3, 7)),
    dict(n=7, n_classes=5),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", range(5))
def test_agree_with_scikit_learn(case, seed):
    rng = np.random.default_rng(seed)
    t, p = random_labels(rng, **case)
    assert am.accuracy(t, p) == pytest.approx(skm.accuracy_score(t, p), rel=1e-15)
    for average in ("macro", "micro", "weighted"):
        assert am.f1_score(t, p, average=average) == pytest.approx(
            skm.f1_score(t, p, average=average, zero_division=0.0), rel=1e-12)
    np.testing.assert_allclose(am.f1_score(t, p, average=None),
                               skm.f1_score(t, p, average=None, zero_division=0.0), rtol=1e-12)
    for weights in (None, "linear", "quadratic"):
        assert am.cohen_kappa(t, p, weights=weights) == pytest.approx(
            skm.cohen_kappa_score(t, p, weights=weights), rel=1e-12, abs=1e-15)
    np.testing.assert_array_equal(am.confusion_matrix(t, p), skm.confusion_matrix(t, p))


@pytest.mark.parametrize("seed", range(5))
def test_labels_fix_the_class_set_including_absent_classes(seed):
    rng = np.random.default_rng(seed)
    t, p = random_labels(rng, 200, 8, absent=(2, 5))
    p[p == 2] = 0  # class 2 now absent from both arguments
    labels = np.arange(8)
    np.testing.assert_array_equal(am.confusion_matrix(t, p, labels=labels),
                                  skm.confusion_matrix(t, p, labels=labels))
    for zero_division in (0.0, 1.0):
        for average in ("macro", "weighted", None):
            np.testing.assert_allclose(
                am.f1_score(t, p, labels=labels, average=average, zero_division=zero_division),
                skm.f1_score(t, p, labels=labels, average=average,
                             zero_division=zero_division), rtol=1e-12)
    assert am.cohen_kappa(t, p, labels=labels, weights="quadratic") == pytest.approx(
        skm.cohen_kappa_score(t, p, labels=labels, weights="quadratic"), rel=1e-12)


def test_zero_division_nan_leaves_classes_out_of_the_average():
    # labels 0..3; class 3 never appears: F1 per class (1, 2/3, 2/3, nan) -> macro over three.
    t, p = [0, 1, 1, 2], [0, 1, 2, 2]
    per_class = am.f1_score(t, p, labels=[0, 1, 2, 3], average=None, zero_division=np.nan)
    np.testing.assert_allclose(per_class, [1, 2 / 3, 2 / 3, np.nan])
    assert am.f1_score(t, p, labels=[0, 1, 2, 3], zero_division=np.nan) == pytest.approx(7 / 9)
    assert am.f1_score(t, p, labels=[0, 1, 2, 3], zero_division=0.0) == pytest.approx(7 / 12)


def test_study_constant_predictor_row():
    # 800 balanced test samples, 8 classes, every prediction "Neutral" (0):
    # accuracy = 100/800 = 0.125; F1(Neutral) = 2*100 / (2*100 + 700 + 0) = 2/9, others 0,
    # so macro F1 = (2/9)/8 = 0.02778; p_o = 0.125 = p_e (= 100*800/800^2), kappa = 0.
    truth = np.repeat(np.arange(8), 100)
    pred = np.zeros(800, dtype=int)
    assert f"{am.accuracy(truth, pred):.4f}" == "0.1250"
    assert f"{am.f1_score(truth, pred, labels=np.arange(8)):.4f}" == "0.0278"
    assert f"{am.cohen_kappa(truth, pred, labels=np.arange(8)):.4f}" == "0.0000"
    assert am.f1_score(truth, pred) == pytest.approx(1 / 36, rel=1e-15)
    assert am.cohen_kappa(truth, pred) == 0.0
    # The same collapse seen through a score matrix whose arg-max is always class 0.
    scores = np.tile(np.linspace(1.0, 0.3, 8), (800, 1))
    assert am.f1_score(truth, scores) == pytest.approx(1 / 36, rel=1e-15)


def test_hand_checked_kappa_weights():
    # O = [[2, 1, 0], [0, 1, 1], [1, 0, 2]], n = 8, rows (3, 2, 3), cols (3, 2, 3).
    # Unweighted: p_o = 5/8; p_e = (9 + 4 + 9)/64 = 22/64; kappa = (40/64 - 22/64)/(42/64) = 3/7.
    # Linear weights |i - j|: observed = cells (0,1), (1,2) weigh 1, cell (2,0) weighs 2: 4.
    # Expected = (1/8) * sum |i-j| r_i c_j over (0,1) 6, (0,2) 2*9, (1,0) 6, (1,2) 6,
    # (2,0) 2*9, (2,1) 6 = 60/8 = 7.5; kappa = 1 - 4/7.5.
    t = [0, 0, 0, 1, 1, 2, 2, 2]
    p = [0, 0, 1, 1, 2, 0, 2, 2]
    assert am.cohen_kappa(t, p) == pytest.approx(3 / 7, rel=1e-15)
    assert am.cohen_kappa(t, p, weights="linear") == pytest.approx(1 - 4 / 7.5, rel=1e-15)


def test_kappa_undefined_when_both_raters_use_one_label():
    # scikit-learn#9624: p_e = 1 -> nan with a warning, never a crash.
    with pytest.warns(am.UndefinedMetricWarning, match="p_e = 1"):
        assert np.isnan(am.cohen_kappa([2, 2, 2], [2, 2, 2]))


def test_score_matrix_arg_max_takes_the_first_maximum_on_ties():
    scores = [[0.5, 0.5, 0.0], [0.1, 0.3, 0.3], [0.2, 0.2, 0.6]]
    # predictions 0, 1, 2
    np.testing.assert_array_equal(am.confusion_matrix([0, 1, 2], scores), np.eye(3, dtype=int))
    assert am.accuracy([0, 1, 2], scores) == 1.0


def test_non_contiguous_and_float_labels():
    # Labels need not be 0..C-1: the classes are the sorted union of the labels seen.
    t = [10, 30, 30, 20, -5]
    p = [10, 30, 20, 20, 10]
    np.testing.assert_array_equal(am.confusion_matrix(t, p),
                                  skm.confusion_matrix(t, p))
    assert am.f1_score(np.array(t, float), np.array(p, float)) == pytest.approx(
        skm.f1_score(t, p, average="macro"))
    assert am.accuracy([True, False, True], [True, True, True]) == pytest.approx(2 / 3)


def test_labels_order_is_respected():
    t, p = [0, 1, 2, 2], [0, 2, 2, 1]
    np.testing.assert_array_equal(am.confusion_matrix(t, p, labels=[2, 1, 0]),
                                  skm.confusion_matrix(t, p, labels=[2, 1, 0]))
    assert am.cohen_kappa(t, p, labels=[2, 0, 1], weights="linear") == pytest.approx(
        skm.cohen_kappa_score(t, p, labels=[2, 0, 1], weights="linear"))


def test_nan_policy_omit_for_labels_and_scores():
    t = np.array([0, 1, np.nan, 1, 0])
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [np.nan, 0.4], [0.4, 0.6]])
    # rows 2 and 3 dropped: truth (0, 1, 0), predictions (0, 1, 1)
    assert am.accuracy(t, scores, nan_policy="omit") == pytest.approx(2 / 3)
    assert am.cohen_kappa(t, scores, nan_policy="omit") == pytest.approx(
        skm.cohen_kappa_score([0, 1, 0], [0, 1, 1]))


def test_classification_scores_is_the_three_functions_in_one_call():
    rng = np.random.default_rng(31)
    truth = rng.integers(0, 6, 500)
    pred = np.where(rng.random(500) < 0.6, truth, rng.integers(0, 6, 500))
    result = am.classification_scores(truth, pred)
    assert list(result) == ["accuracy", "f1", "uar", "kappa"]
    assert result["uar"] == am.uar(truth, pred)
    assert result["accuracy"] == am.accuracy(truth, pred) == skm.accuracy_score(truth, pred)
    assert result["f1"] == am.f1_score(truth, pred)
    assert result["f1"] == pytest.approx(skm.f1_score(truth, pred, average="macro"), rel=1e-12)
    assert result["kappa"] == am.cohen_kappa(truth, pred)
    assert result["kappa"] == pytest.approx(skm.cohen_kappa_score(truth, pred), rel=1e-12)
    # Absent classes named in labels= take part in the macro F1, as in f1_score.
    labels = np.arange(8)
    with_labels = am.classification_scores(truth, pred, labels=labels)
    assert with_labels["f1"] == am.f1_score(truth, pred, labels=labels)
    assert with_labels["f1"] == pytest.approx(
        skm.f1_score(truth, pred, labels=labels, average="macro", zero_division=0), rel=1e-12)


def test_classification_scores_warns_under_each_metrics_own_name():
    with pytest.warns(am.UndefinedMetricWarning, match="^cohen_kappa is undefined"):
        result = am.classification_scores([2, 2, 2], [2, 2, 2])
    assert result["accuracy"] == 1.0 and result["f1"] == 1.0 and np.isnan(result["kappa"])
    with pytest.raises(ValueError, match="y_pred contains the label 3 at index 1"):
        am.classification_scores([0, 1], [0, 3], labels=[0, 1])
