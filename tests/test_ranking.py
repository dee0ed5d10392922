"""One-vs-rest ROC AUC and average precision against scikit-learn."""

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

import affectmetrics as am


def random_scores(rng, n, n_classes, ties=False, imbalance=False):
    p = 0.5 ** np.arange(n_classes) if imbalance else np.ones(n_classes)
    truth = rng.choice(n_classes, size=n, p=p / p.sum())
    truth[:n_classes] = np.arange(n_classes)  # every class present at least once
    scores = rng.normal(0, 1, (n, n_classes)) + 1.0 * np.eye(n_classes)[truth]
    if ties:
        scores = scores.round(1)  # many tied scores across positives and negatives
    return truth, scores


def sklearn_per_class(fn, truth, scores, n_classes):
    onehot = label_binarize(truth, classes=np.arange(n_classes))
    if n_classes == 2:
        onehot = np.column_stack([1 - onehot[:, 0], onehot[:, 0]])
    return np.array([fn(onehot[:, k], scores[:, k]) for k in range(n_classes)])


CASES = [
    dict(n=60, n_classes=3),
    dict(n=500, n_classes=8),
    dict(n=500, n_classes=8, ties=True),
    dict(n=800, n_classes=8, imbalance=True),
    dict(n=300, n_classes=2, ties=True),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", range(6))
def test_per_class_and_averages_agree_with_scikit_learn(case, seed):
    rng = np.random.default_rng(seed)
    truth, scores = random_scores(rng, **case)
    n_classes = case["n_classes"]
    onehot = label_binarize(truth, classes=np.arange(n_classes))
    if n_classes == 2:
        onehot = np.column_stack([1 - onehot[:, 0], onehot[:, 0]])
    auc = sklearn_per_class(skm.roc_auc_score, truth, scores, n_classes)
    ap = sklearn_per_class(skm.average_precision_score, truth, scores, n_classes)
    # Normal scores are neither probabilities nor logits of this model: rank them as given.
    raw = dict(scores="raw")
    np.testing.assert_allclose(am.roc_auc(truth, scores, average=None, **raw), auc, rtol=1e-12)
    np.testing.assert_allclose(am.pr_auc(truth, scores, average=None, **raw), ap, rtol=1e-12)
    for average in ("macro", "weighted", "micro"):
        assert am.roc_auc(truth, scores, average=average, **raw) == pytest.approx(
            skm.roc_auc_score(onehot, scores, average=average), rel=1e-12)
        assert am.pr_auc(truth, scores, average=average, **raw) == pytest.approx(
            skm.average_precision_score(onehot, scores, average=average), rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_binary_one_dimensional_scores(seed):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, 200)
    score = rng.normal(0, 1, 200).round(1) + truth
    assert am.roc_auc(truth, score) == pytest.approx(skm.roc_auc_score(truth, score), rel=1e-12)
    assert am.pr_auc(truth, score) == pytest.approx(
        skm.average_precision_score(truth, score), rel=1e-12)
    # labels choose the positive class: the second one.
    assert am.roc_auc(truth, -score, labels=[1, 0]) == pytest.approx(
        skm.roc_auc_score(1 - truth, -score), rel=1e-12)


def test_scores_on_any_scale_only_ranks_matter():
    rng = np.random.default_rng(0)
    truth, scores = random_scores(rng, 300, 5)
    transformed = np.exp(3 * scores) + 7  # strictly increasing map
    for fn in (am.roc_auc, am.pr_auc):
        assert fn(truth, transformed, scores="raw") == pytest.approx(
            fn(truth, scores, scores="raw"), rel=1e-14)


def test_hand_checked_ties():
    # Positives 0.8, 0.4; negatives 0.4, 0.1. Pairs: (0.8 > 0.4) 1, (0.8 > 0.1) 1,
    # (0.4 = 0.4) 1/2, (0.4 > 0.1) 1 -> AUC = 3.5 / 4.
    # AP: threshold 0.8: P=1, R=1/2; threshold 0.4: TP 2, FP 1, P=2/3, R=1 ->
    # AP = 1/2 * 1 + 1/2 * 2/3 = 5/6.
    truth, score = [1, 1, 0, 0], [0.8, 0.4, 0.4, 0.1]
    assert am.roc_auc(truth, score) == 0.875
    assert am.pr_auc(truth, score) == pytest.approx(5 / 6, rel=1e-15)


def test_step_sum_not_trapezoid():
    # scikit-learn#4577: AP is the step sum, not the trapezoid over the (R, P) curve.
    truth, score = [1, 0, 1, 0], [0.9, 0.8, 0.7, 0.6]
    # AP = 1/2 * 1 + 1/2 * 2/3 = 0.8333; the trapezoid interpolates and gives 0.7917.
    assert am.pr_auc(truth, score) == pytest.approx(5 / 6, rel=1e-15)
    precision, recall, _ = skm.precision_recall_curve(truth, score)
    assert skm.auc(recall, precision) == pytest.approx(19 / 24)


def test_class_without_positives_is_nan_and_left_out():
    rng = np.random.default_rng(2)
    truth = rng.choice([0, 1, 3], size=300)  # class 2 absent
    scores = rng.random((300, 4))
    with pytest.warns(am.UndefinedMetricWarning, match=r"class\(es\) \['2'\]|\[2\]"):
        per_class = am.roc_auc(truth, scores, average=None, scores="raw")
    assert np.isnan(per_class[2]) and not np.isnan(per_class[[0, 1, 3]]).any()
    with pytest.warns(am.UndefinedMetricWarning, match="left out of the average"):
        macro = am.roc_auc(truth, scores, scores="raw")
    assert macro == pytest.approx(np.mean(per_class[[0, 1, 3]]), rel=1e-15)
    with pytest.warns(am.UndefinedMetricWarning):
        assert am.pr_auc(truth, scores, scores="raw") == pytest.approx(
            np.mean([skm.average_precision_score(truth == k, scores[:, k]) for k in (0, 1, 3)]))


def test_all_undefined_is_nan():
    with pytest.warns(am.UndefinedMetricWarning):
        assert np.isnan(am.roc_auc([1, 1, 1], [0.2, 0.4, 0.6], labels=[0, 1]))
    # With only positives, AP is defined: precision is 1 at every threshold.
    assert am.pr_auc([1, 1, 1], [0.2, 0.4, 0.6], labels=[0, 1]) == 1.0


def test_labels_map_score_columns():
    rng = np.random.default_rng(4)
    truth = rng.choice([10, 20, 30], size=200)
    scores = rng.random((200, 3))
    codes = np.searchsorted([10, 20, 30], truth)
    assert am.roc_auc(truth, scores, labels=[10, 20, 30]) == pytest.approx(
        am.roc_auc(codes, scores), rel=1e-15)
