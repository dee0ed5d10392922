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


# -- binary problems: which class is positive ---------------------------------------------


def test_only_positives_present_average_precision_is_one():
    # issue 10: precision is 1 at every threshold; scikit-learn agrees.
    assert am.pr_auc([1, 1, 1], [0.1, 0.3, 0.2]) == 1.0
    assert skm.average_precision_score([1, 1, 1], [0.1, 0.3, 0.2]) == 1.0
    assert am.pr_auc([True, True], [0.4, 0.2]) == 1.0
    assert am.pr_auc([1, 1], [-3.0, 5.0]) == 1.0  # logits: any scale
    with pytest.warns(am.UndefinedMetricWarning, match="^roc_auc is undefined: it needs both"):
        assert np.isnan(am.roc_auc([1, 1, 1], [0.1, 0.3, 0.2]))


def test_one_column_score_matrix_is_one_class_not_a_binary_score():
    # An (n, 1) matrix: every sample is a positive of its one class. AP 1.0 (scikit-learn
    # agrees), AUC undefined; the accumulator always said so, the functions took the column
    # for a 1-D binary score whose positive class 1 never occurs (AP nan).
    truth, scores = [0, 0, 0], [[0.3], [0.5], [0.1]]
    assert skm.average_precision_score([1, 1, 1], [0.3, 0.5, 0.1]) == 1.0
    assert am.pr_auc(truth, scores) == 1.0
    np.testing.assert_array_equal(am.pr_auc(truth, scores, average=None), [1.0])
    np.testing.assert_array_equal(am.pr_auc([4, 4, 4], scores, labels=[4], average=None), [1.0])
    with pytest.warns(am.UndefinedMetricWarning, match="^roc_auc is undefined"):
        assert np.isnan(am.roc_auc(truth, scores))
    acc = am.ClassificationAccumulator(1)
    acc.update(truth, scores)
    with pytest.warns(am.UndefinedMetricWarning):
        assert acc.compute()["auc_pr"] == am.pr_auc(truth, scores)


def test_only_negatives_present():
    with pytest.warns(am.UndefinedMetricWarning, match="^pr_auc is undefined: it needs positive"):
        assert np.isnan(am.pr_auc([0, 0, 0], [0.1, 0.3, 0.2]))
    with pytest.warns(am.UndefinedMetricWarning, match="^roc_auc is undefined"):
        assert np.isnan(am.roc_auc([-1, -1], [0.1, 0.3]))


@pytest.mark.parametrize(("truth", "positive"), [
    ([0, 1, 1, 0], 1), ([-1, 1, 1, -1], 1), ([2, 7, 7, 2], 7), ([0.0, 1.0, 1.0, 0.0], 1),
])
def test_one_dimensional_scores_score_the_positive_class(truth, positive):
    score = [0.3, 0.8, 0.2, 0.1]
    is_pos = np.asarray(truth) == positive
    assert am.pr_auc(truth, score) == pytest.approx(
        skm.average_precision_score(is_pos, score), rel=1e-15)
    assert am.roc_auc(truth, score) == skm.roc_auc_score(is_pos, score) == 0.75


def test_labels_name_negative_then_positive():
    truth, score = [2, 7, 7, 2], [0.3, 0.8, 0.2, 0.1]
    assert am.pr_auc(truth, score, labels=[7, 2]) == pytest.approx(
        skm.average_precision_score(np.asarray(truth) == 2, score), rel=1e-15)
    assert am.pr_auc([7, 7], [0.3, 0.8], labels=[2, 7]) == 1.0
    with pytest.raises(ValueError, match=r"1-D .* labels has 3 entries"):
        am.pr_auc(truth, score, labels=[2, 7, 9])
    with pytest.raises(ValueError, match=r"only the label 5.*labels=\[negative, positive\]"):
        am.pr_auc([5, 5], [0.2, 0.4])


def test_two_column_matrix_is_two_one_vs_rest_problems():
    rng = np.random.default_rng(6)
    truth = rng.integers(0, 2, 200)
    p1 = np.clip(rng.random(200) * 0.6 + 0.4 * truth, 0, 1)
    probs = np.column_stack([1 - p1, p1])
    per_class = am.pr_auc(truth, probs, average=None)
    assert per_class[1] == pytest.approx(am.pr_auc(truth, p1), rel=1e-15)
    assert per_class[0] == pytest.approx(
        skm.average_precision_score(truth == 0, probs[:, 0]), rel=1e-12)
    assert am.pr_auc(truth, probs) == pytest.approx(per_class.mean(), rel=1e-15)
    # For AUC both columns rank alike (p0 = 1 - p1), so the macro AUC is the binary AUC.
    assert am.roc_auc(truth, probs) == pytest.approx(skm.roc_auc_score(truth, p1), rel=1e-12)


def test_perfect_and_inverted_rankings_are_exact():
    truth = [0, 0, 1, 1, 1]
    score = np.array([0.1, 0.2, 0.3, 0.7, 0.9])
    assert am.roc_auc(truth, score) == 1.0 and am.pr_auc(truth, score) == 1.0
    assert am.roc_auc(truth, -score) == 0.0


def test_final_step_batched_over_stacked_counts():
    from affectmetrics.ranking import _ranking_batch

    rng = np.random.default_rng(7)
    # A stack of 6 weighted problems on 40 thresholds, one without negatives, one without
    # positives: each row equals the unweighted problem it stands for.
    pos = rng.integers(0, 3, (6, 40)).astype(np.float64)
    neg = rng.integers(0, 3, (6, 40)).astype(np.float64)
    neg[1] = 0.0
    pos[2] = 0.0
    auc, ap = _ranking_batch(pos, neg, np.cumsum(neg, axis=1) - neg, pos.sum(1), neg.sum(1))
    for b in range(6):
        thresholds = np.arange(40.0)
        truth = np.r_[np.ones(int(pos[b].sum())), np.zeros(int(neg[b].sum()))]
        score = np.r_[np.repeat(thresholds, pos[b].astype(int)),
                      np.repeat(thresholds, neg[b].astype(int))]
        if b == 2:
            assert np.isnan(auc[b]) and np.isnan(ap[b])
            continue
        assert ap[b] == pytest.approx(skm.average_precision_score(truth, score), rel=1e-12)
        if b == 1:
            assert np.isnan(auc[b]) and ap[b] == 1.0
            continue
        assert auc[b] == pytest.approx(skm.roc_auc_score(truth, score), rel=1e-12)


def test_undefined_classes_are_named_as_labels_not_quoted_strings():
    # The warning said "class(es) ['0', '2']", quoting the labels as strings.
    with pytest.warns(am.UndefinedMetricWarning,
                      match=r"^roc_auc is undefined for class\(es\) \[0, 2\]: "):
        am.roc_auc([1, 3, 1, 3], np.full((4, 4), 0.25) + np.eye(4)[[1, 3, 0, 2]] * 0.1)
    with pytest.warns(am.UndefinedMetricWarning, match=r"^pr_auc is undefined for class\(es\) "
                                                       r"\[2\.5\]: it needs positive samples"):
        am.pr_auc([0, 1], [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1]], labels=[0, 1, 2.5])
