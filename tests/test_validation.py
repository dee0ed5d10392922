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


@pytest.mark.parametrize(
    "call",
    [
        # Each used to be NumPy's or Python's own error ("could not convert string to
        # float: 'warn'", "'int' object is not iterable", "too many values to unpack"),
        # or was accepted (the string "1" as zero_division, "01" as score_range).
        lambda: am.f1_score([0, 1], [0, 1], zero_division="warn"),
        lambda: am.f1_score([0, 1], [0, 1], zero_division="1"),
        lambda: am.f1_score([0, 1], [0, 1], zero_division=None),
        lambda: am.ClassificationAccumulator(2, bins=4, score_range="ab"),
        lambda: am.ClassificationAccumulator(2, bins=4, score_range="01"),
        lambda: am.ClassificationAccumulator(2, bins=4, score_range=1),
        lambda: am.ClassificationAccumulator(2, bins=4, score_range=(0, 1, 2)),
        # hi - lo overflows: every score fell into bin 0 (a silently wrong binned AUC).
        lambda: am.ClassificationAccumulator(2, bins=4, score_range=(-1.5e308, 1.5e308)),
    ],
)
def test_bad_option_values_are_value_errors_naming_the_option(call):
    # a value of the wrong type (a string or None as zero_division) is a TypeError
    with pytest.raises((ValueError, TypeError), match=r"^(zero_division|score_range) must be"):
        call()


# -- label dtypes: widened to int64 once, in the one validation path ---------------------

NARROW = [np.int8, np.int16, np.int32, np.uint8, np.uint16, np.uint32, np.uint64]


def test_int8_labels_never_wrap():
    # issue 10: int8 [100, 100] against [45, 45] scored 1.0; the int64 answer is 0.0.
    t, p = np.array([100, 100], np.int8), np.array([45, 45], np.int8)
    assert am.accuracy(t, p, labels=[-100, 45, 100]) == 0.0
    assert am.accuracy(t, p, labels=np.array([-100, 45, 100], np.int8)) == 0.0
    np.testing.assert_array_equal(am.confusion_matrix(t, p, labels=[-100, 45, 100]),
                                  [[0, 0, 0], [0, 0, 0], [0, 2, 0]])
    # Labels spanning more than the int8 range, no labels= (the union of labels seen).
    assert am.accuracy(np.array([-100, 100], np.int8), np.array([100, 100], np.int8)) == 0.5


@pytest.mark.parametrize("dtype", [*NARROW, np.int64, bool])
@pytest.mark.parametrize("metric", LABELS, ids=lambda m: m.__name__)
def test_every_integer_dtype_gives_the_int64_answer(metric, dtype):
    rng = np.random.default_rng(1)
    t = rng.integers(0, 2, 60)
    p = rng.integers(0, 2, 60)
    want = metric(t.astype(np.int64), p.astype(np.int64))
    got = metric(t.astype(dtype), p.astype(dtype))
    np.testing.assert_array_equal(got, want)
    # Mixed dtypes: int8 truth, uint16 predictions, int64 labels.
    got = metric(t.astype(np.int8), p.astype(np.uint16), labels=np.array([0, 1]))
    np.testing.assert_array_equal(got, metric(t, p, labels=[0, 1]))


def test_mixed_dtypes_with_wide_values():
    t = np.array([200, 60000, 7], np.uint16)
    p = np.array([-56, 100, 7], np.int8)  # -56 is what 200 wraps to in int8
    assert am.accuracy(t, p) == pytest.approx(1 / 3, rel=1e-15)
    assert am.confusion_matrix(t, p).shape == (5, 5)  # -56, 7, 100, 200, 60000
    assert am.cohen_kappa(t.astype(np.uint64), p) == pytest.approx(
        am.cohen_kappa(t.astype(np.int64), p.astype(np.int64)), rel=1e-15)


def test_bool_labels_are_zero_and_one():
    t = np.array([True, False, True, True])
    p = np.array([True, True, False, True])
    assert am.accuracy(t, p) == am.accuracy([1, 0, 1, 1], [1, 1, 0, 1]) == 0.5
    assert am.accuracy(t, [1, 1, 0, 1]) == 0.5  # bool truth, int predictions
    assert am.f1_score(t, p, labels=[0, 1]) == am.f1_score([1, 0, 1, 1], [1, 1, 0, 1])
    assert am.roc_auc(t, [0.9, 0.1, 0.4, 0.8]) == 1.0


def test_uint64_beyond_int64_is_refused_by_name():
    t = np.array([0, 2**64 - 1], dtype=np.uint64)
    with pytest.raises(ValueError, match=r"y_true has the value 18446744073709551615 at "
                                         r"position 1, beyond the int64 range"):
        am.accuracy(t, [0, 1])


def test_huge_int64_labels_stay_distinct():
    # 2**60 and 2**60 + 1 are one float64: labels must not pass through floats.
    t = np.array([2**60, 2**60 + 1, 2**60 + 1], dtype=np.int64)
    p = np.array([2**60 + 1, 2**60 + 1, 2**60], dtype=np.int64)
    np.testing.assert_array_equal(am.confusion_matrix(t, p), [[0, 1], [1, 1]])


def test_float_labels():
    # An integer-valued float is that integer's class; any other float is a class of its own.
    assert am.accuracy([1.0, 2.0, 0.0], [1, 2, 1]) == pytest.approx(2 / 3, rel=1e-15)
    assert am.accuracy([1.0, 2.0], [1, 2], labels=[0, 1, 2]) == 1.0
    np.testing.assert_array_equal(am.confusion_matrix([1.5, 1.5, 2], [1.5, 2, 2]),
                                  [[1, 1], [0, 1]])
    with pytest.raises(ValueError, match=r"y_true contains the label 1.5 at index 0"):
        am.accuracy([1.5, 1.0], [1, 1], labels=[0, 1, 2])


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, bool])
def test_accumulator_takes_narrow_labels(dtype):
    rng = np.random.default_rng(3)
    t = rng.integers(0, 2, 100)
    scores = rng.random((100, 2))
    acc = am.ClassificationAccumulator(num_classes=2)
    acc.update(t.astype(dtype), scores)
    want = am.ClassificationAccumulator(num_classes=2)
    want.update(t, scores)
    assert acc.compute() == want.compute()


def test_positions_after_omitted_rows_are_the_callers():
    # Row 0 has a NaN and is dropped under omit; the bad value is at the caller's row 1,
    # which used to be reported as index/row/position 0 (its place among the rows kept).
    with pytest.raises(ValueError, match="label 3 at index 1,"):
        am.accuracy([np.nan, 3, 0], [0, 1, 0], labels=[0, 1], nan_policy="omit")
    with pytest.raises(ValueError, match="label 7 at index 2,"):
        am.confusion_matrix([0, np.nan, 1], [0, 1, 7], labels=[0, 1], nan_policy="omit")
    with pytest.raises(ValueError, match="y_score row 1 is not a probability vector"):
        am.roc_auc([0, 1, 0], [[np.nan, 0.5], [3.0, -1.0], [0.5, 0.5]],
                   scores="probabilities", nan_policy="omit")
    with pytest.raises(ValueError, match=r"value 1\.5 at position 2, outside \[0, 1\]"):
        am.pr_auc([0, 1, 1], [np.nan, 0.2, 1.5], scores="probabilities", nan_policy="omit")
    acc = am.ClassificationAccumulator(num_classes=2, bins=4, scores="raw", nan_policy="omit")
    with pytest.raises(ValueError, match=r"value 2 at position \(1, 0\), outside score_range"):
        acc.update([0, 1], [[np.nan, 0.5], [2.0, 0.1]])
    assert acc.n_samples == 0 and acc.n_omitted == 0


def test_pandas_nullable_labels_with_missing_values_are_nan():
    # A pandas "boolean" column with <NA> was a TypeError ("found NAType <NA>"), while an
    # "Int64" column with <NA> was NaN; both are missing values.
    import pandas as pd

    truth = pd.Series([True, False, None, True], dtype="boolean")
    with pytest.raises(ValueError, match="1 NaN value"):
        am.accuracy(truth, [1, 0, 0, 0])
    assert am.accuracy(truth, [1, 0, 0, 0], nan_policy="omit") == 2 / 3
    assert am.accuracy(pd.Series([1, 0, None, 1], dtype="Int64"), [1, 0, 0, 0],
                       nan_policy="omit") == 2 / 3
    with pytest.raises(TypeError, match="must hold numbers; found str 'a'"):
        am.accuracy(pd.Series(["a", "b"], dtype="string"), [1, 0])
