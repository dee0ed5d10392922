"""Every bad input the contract lists, for every function: a clear error, never a traceback
from deep inside NumPy and never a silently wrong number."""

import re

import numpy as np
import pytest

import affectmetrics as am

CONTINUOUS = [am.ccc, am.pearson, am.rmse, am.sagr]
LABELS = [am.accuracy, am.f1_score, am.cohen_kappa, am.krippendorff_alpha, am.confusion_matrix]
SCORES = [am.roc_auc, am.pr_auc]
ALL = CONTINUOUS + LABELS + SCORES


def good_args(metric):
    rng = np.random.default_rng(0)
    if metric in CONTINUOUS:
        return rng.normal(size=20), rng.normal(size=20)
    if metric in LABELS:
        return np.arange(20) % 4, (np.arange(20) + 1) % 4
    return np.arange(20) % 4, rng.random((20, 4))


@pytest.mark.parametrize("metric", ALL, ids=lambda m: m.__name__)
def test_empty_input(metric):
    empty_pred = np.zeros((0, 4)) if metric in SCORES else []
    with pytest.raises(ValueError, match="empty"):
        metric([], empty_pred)


@pytest.mark.parametrize("metric", ALL, ids=lambda m: m.__name__)
def test_length_mismatch_names_both_lengths(metric):
    t, p = good_args(metric)
    with pytest.raises(ValueError, match=re.escape("y_true has 20 samples") + ".*19"):
        metric(t, p[:-1])


@pytest.mark.parametrize("metric", ALL, ids=lambda m: m.__name__)
def test_three_dimensional_input(metric):
    t, _p = good_args(metric)
    with pytest.raises(ValueError, match="3-D"):
        metric(t, np.zeros((20, 2, 2)))


@pytest.mark.parametrize("metric", ALL, ids=lambda m: m.__name__)
def test_strings_are_a_type_error(metric):
    _t, p = good_args(metric)
    with pytest.raises(TypeError, match="y_true must hold numbers"):
        metric(np.array(["a"] * 20), p)
    with pytest.raises(TypeError, match="y_true must be an array of numbers"):
        metric("happy", p)


@pytest.mark.parametrize("metric", ALL, ids=lambda m: m.__name__)
def test_objects_that_are_not_numbers(metric):
    t, p = good_args(metric)
    t = list(t)
    t[3] = "x"
    t = np.array(t, dtype=object)
    with pytest.raises(TypeError, match="found str 'x' at position 3"):
        metric(t, p)


@pytest.mark.parametrize("metric", ALL, ids=lambda m: m.__name__)
def test_inf_is_refused_with_its_position(metric):
    t, p = good_args(metric)
    p = np.array(p, dtype=np.float64)
    p.flat[5] = np.inf
    with pytest.raises(ValueError, match=r"infinite value.*position"):
        metric(t, p)


@pytest.mark.parametrize("metric", ALL, ids=lambda m: m.__name__)
def test_nan_raises_by_default_saying_how_many_and_where(metric):
    t, p = good_args(metric)
    t = np.array(t, dtype=np.float64)
    t[[4, 9]] = np.nan
    with pytest.raises(ValueError, match=r"y_true contains 2 NaN value\(s\); the first is at "
                                         r"position 4.*nan_policy='omit'"):
        metric(t, p)


@pytest.mark.parametrize("metric", ALL, ids=lambda m: m.__name__)
def test_all_nan_under_omit_is_refused(metric):
    t, p = good_args(metric)
    t = np.full(20, np.nan)
    with pytest.raises(ValueError, match="nothing is left"):
        metric(t, p, nan_policy="omit")


@pytest.mark.parametrize("metric", ALL, ids=lambda m: m.__name__)
def test_unknown_nan_policy(metric):
    t, p = good_args(metric)
    with pytest.raises(ValueError, match="nan_policy must be"):
        metric(t, p, nan_policy="propagate")


@pytest.mark.parametrize("metric", CONTINUOUS, ids=lambda m: m.__name__)
def test_continuous_shape_mismatch(metric):
    with pytest.raises(ValueError, match=r"shape \(5, 2\).*shape \(5, 3\)"):
        metric(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="no columns"):
        metric(np.zeros((5, 0)), np.zeros((5, 0)))
    with pytest.raises(ValueError, match="0-D"):
        metric(1.0, 2.0)


@pytest.mark.parametrize("metric", LABELS + SCORES, ids=lambda m: m.__name__)
def test_label_outside_the_score_matrix(metric):
    t = np.array([0, 1, 2, 5])
    with pytest.raises(ValueError, match=r"label 5 at index 3.*columns of y_(pred|score)"):
        metric(t, np.random.default_rng(0).random((4, 3)))


@pytest.mark.parametrize("metric", LABELS + SCORES, ids=lambda m: m.__name__)
def test_label_outside_labels(metric):
    t, p = good_args(metric)
    t = t.copy()
    t[7] = 9
    with pytest.raises(ValueError, match=r"y_true contains the label 9 at index 7.*labels"):
        metric(t, p, labels=[0, 1, 2, 3])


@pytest.mark.parametrize("metric", LABELS, ids=lambda m: m.__name__)
def test_predicted_label_outside_labels(metric):
    with pytest.raises(ValueError, match=r"y_pred contains the label 4 at index 1"):
        metric([0, 1, 2], [0, 4, 2], labels=[0, 1, 2])


@pytest.mark.parametrize("metric", LABELS + SCORES, ids=lambda m: m.__name__)
def test_score_matrix_columns_disagree_with_labels(metric):
    with pytest.raises(ValueError, match="has 3 columns but labels has 4 entries"):
        metric([0, 1, 2], np.eye(3), labels=[0, 1, 2, 3])


@pytest.mark.parametrize("metric", LABELS + SCORES, ids=lambda m: m.__name__)
def test_bad_labels_argument(metric):
    t, p = good_args(metric)
    with pytest.raises(ValueError, match="labels contains 1 more than once"):
        metric(t, p, labels=[0, 1, 1, 2])
    with pytest.raises(ValueError, match="labels is empty"):
        metric(t, p, labels=[])


@pytest.mark.parametrize("metric", LABELS + SCORES, ids=lambda m: m.__name__)
def test_y_true_must_be_one_dimensional(metric):
    with pytest.raises(ValueError, match="y_true must be 1-D"):
        metric(np.zeros((4, 2)), np.zeros(4))


def test_one_dimensional_scores_with_many_classes():
    with pytest.raises(ValueError, match=r"1-D .* but there are 3 classes"):
        am.roc_auc([0, 1, 2], [0.1, 0.5, 0.9])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: am.f1_score([0, 1], [0, 1], average="samples"), "average must be one of"),
        (lambda: am.f1_score([0, 1], [0, 1], zero_division=0.5), "zero_division must be"),
        (lambda: am.cohen_kappa([0, 1], [0, 1], weights="cubic"), "weights must be None"),
        (lambda: am.roc_auc([0, 1], np.eye(2), average="samples"), "average must be one of"),
        (lambda: am.ccc([[1, 2], [3]], [[1, 2], [3]]), "could not be read as an array"),
        (lambda: am.ccc([1 + 2j, 3], [1, 2]), "real numbers"),
    ],
)
def test_bad_options(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
