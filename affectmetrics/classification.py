"""Expression (classification) metrics computed from one confusion matrix.

Accuracy, F1, unweighted average recall (UAR) and Cohen's kappa are each a final step over
the confusion matrix, the statistics step shared with
:class:`~affectmetrics.ClassificationAccumulator` (which merges confusion matrices by
addition); :func:`classification_scores` returns them from one validated matrix.
``y_pred`` may be labels ``(n,)`` or an ``(n, C)`` score
matrix whose arg-max (first maximum on ties) is the prediction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._validation import _check_classification, _ClassData, _real_option
from .exceptions import _warn_undefined

__all__ = ["accuracy", "classification_scores", "cohen_kappa", "confusion_matrix", "f1_score",
           "uar"]

_AVERAGES = ("macro", "micro", "weighted", None)
_KAPPA_WEIGHTS = (None, "linear", "quadratic")


def _confusion(codes_true: np.ndarray, codes_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion matrix (rows: truth, columns: prediction) from one ``bincount``."""
    flat = np.bincount(codes_true * n_classes + codes_pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes).astype(np.int64, copy=False)


def _confusion_of(data: _ClassData) -> np.ndarray:
    return _confusion(data.y_true, data.y_pred, data.classes.shape[0])


def _accuracy_batch(cms: np.ndarray) -> np.ndarray:
    """Accuracy of a stack of confusion matrices (..., C, C); nan where empty."""
    total = cms.sum(axis=(-2, -1))
    correct = np.trace(cms, axis1=-2, axis2=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, correct / np.where(total > 0, total, 1), np.nan)


def _accuracy_from_cm(cm: np.ndarray) -> float:
    total = int(cm.sum())
    if total == 0:
        _warn_undefined("accuracy is undefined: no samples were seen; returning nan")
        return float("nan")
    return int(np.trace(cm)) / total


def _check_zero_division(zero_division: float) -> float:
    value = _real_option(zero_division, "zero_division", "0.0, 1.0 or nan")
    if not (value in (0.0, 1.0) or np.isnan(value)):
        raise ValueError(f"zero_division must be 0.0, 1.0 or nan, got {zero_division!r}")
    return value


def _f1_batch(cms: np.ndarray, average: str | None, zero_division: float) -> np.ndarray:
    """F1 of a stack of confusion matrices (..., C, C): shape (...), or (..., C) per class."""
    tp = np.diagonal(cms, axis1=-2, axis2=-1).astype(np.float64)
    support = cms.sum(axis=-1)
    # 2 TP + FP + FN = (TP + FN) + (TP + FP): support plus predicted count
    denom = (support + cms.sum(axis=-2)).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if average == "micro":
            # Every sample is one TP or one (FP, FN) pair, so micro F1 equals accuracy.
            total = denom.sum(axis=-1)
            return np.where(total > 0, 2.0 * tp.sum(axis=-1) / np.where(total > 0, total, 1),
                            zero_division)
        per_class = np.where(denom > 0, 2.0 * tp / np.where(denom > 0, denom, 1.0),
                             zero_division)
        if average is None:
            return per_class
        defined = ~np.isnan(per_class)
        weights = np.where(defined, 1.0 if average == "macro" else support, 0.0)
        weight_sum = weights.sum(axis=-1)
        value = (np.where(defined, per_class, 0.0) * weights).sum(axis=-1) / np.where(
            weight_sum > 0, weight_sum, 1.0)
    return np.where(weight_sum > 0, value, np.where(defined.any(axis=-1), zero_division, np.nan))


def _f1_final(
    batch: Callable[[str | None, float], np.ndarray], seen: bool, size: int,
    average: str | None, zero_division: float, metric: str, all_zero: str,
) -> float | np.ndarray:
    """The undefined cases of an F1 from counts, shared by multiclass and multi-label F1:
    nothing seen (nan per class or averaged), and an average with no defined member under
    ``zero_division=nan``; ``batch(average, zero_division)`` computes the value."""
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
    zero_division = _check_zero_division(zero_division)
    if not seen:
        _warn_undefined(f"{metric} is undefined: no samples were seen; returning nan")
        return float("nan") if average is not None else np.full(size, np.nan)
    value = batch(average, zero_division)
    if average is None:
        return value
    if np.isnan(value):
        _warn_undefined(f"{metric} is undefined: {all_zero} and zero_division=nan; "
                        "returning nan")
    return float(value)


def _f1_from_cm(
    cm: np.ndarray, average: str | None = "macro", zero_division: float = 0.0
) -> float | np.ndarray:
    return _f1_final(lambda avg, zd: _f1_batch(cm, avg, zd), bool(cm.sum() > 0), cm.shape[0],
                     average, zero_division, "f1_score", "every class has a zero denominator")


def _uar_batch(cms: np.ndarray, zero_division: float = 0.0) -> np.ndarray:
    """UAR of a stack of confusion matrices (..., C, C); nan where no class has a recall.

    A class without true samples has recall ``zero_division``; nan leaves it out of the mean.
    """
    tp = np.diagonal(cms, axis1=-2, axis2=-1).astype(np.float64)
    support = cms.sum(axis=-1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, tp / np.where(support > 0, support, 1.0), zero_division)
    defined = ~np.isnan(recall)
    count = defined.sum(axis=-1)
    total = np.where(defined, recall, 0.0).sum(axis=-1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _uar_from_cm(cm: np.ndarray, zero_division: float = 0.0) -> float:
    zero_division = _check_zero_division(zero_division)
    if cm.sum() == 0:
        _warn_undefined("uar is undefined: no samples were seen; returning nan")
        return float("nan")
    value = float(_uar_batch(cm, zero_division))
    if np.isnan(value):
        _warn_undefined("uar is undefined: no class has true samples and zero_division=nan; "
                        "returning nan")
    return value


def _kappa_weight_matrix(n_classes: int, weights: str | None) -> np.ndarray:
    if weights not in _KAPPA_WEIGHTS:
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")
    idx = np.arange(n_classes)
    dist = np.abs(idx[:, None] - idx[None, :]).astype(np.float64)
    if weights is None:
        return (dist > 0).astype(np.float64)
    return dist if weights == "linear" else dist * dist


def _kappa_batch(cms: np.ndarray, weights: str | None = None) -> np.ndarray:
    """Kappa of a stack of confusion matrices (..., C, C); nan where p_e = 1 or empty."""
    w = _kappa_weight_matrix(cms.shape[-1], weights)
    n = cms.sum(axis=(-2, -1)).astype(np.float64)
    # Products of the marginals in float64: each is the exact product correctly rounded,
    # which is what the int64 product became once weighted, but int64 products overflow
    # beyond about 3e9 samples (a merged accumulator) and gave nan or garbage.
    rows = cms.sum(axis=-1).astype(np.float64)
    cols = cms.sum(axis=-2).astype(np.float64)
    expected = rows[..., :, None] * cols[..., None, :]
    disagreement_expected = (w * expected).sum(axis=(-2, -1))
    defined = (n > 0) & (disagreement_expected > 0)
    # 1 - sum(w * O) / sum(w * E) with E = outer(rows, cols) / n, kept in counts so that
    # the constant predictor's kappa is exactly 0.
    with np.errstate(invalid="ignore", divide="ignore"):
        value = 1.0 - n * (w * cms).sum(axis=(-2, -1)) / np.where(
            defined, disagreement_expected, 1.0)
    return np.where(defined, value, np.nan)


def _kappa_from_cm(cm: np.ndarray, weights: str | None = None) -> float:
    value = float(_kappa_batch(cm, weights))
    if np.isnan(value):
        _warn_undefined(
            "cohen_kappa is undefined: the expected disagreement is 0 (p_e = 1, e.g. both "
            "raters used a single and the same class); returning nan"
        )
    return value


#: The metrics of one confusion matrix, by key: final steps with their defaults (macro F1,
#: unweighted kappa). Shared by :func:`classification_scores`, the accumulator and the
#: adapters; a new confusion-matrix metric (e.g. UAR) is one entry here.
_CONFUSION_STEPS: dict[str, Callable[[np.ndarray], float]] = {
    "accuracy": _accuracy_from_cm,
    "f1": _f1_from_cm,
    "uar": _uar_from_cm,
    "kappa": _kappa_from_cm,
}


def _confusion_results(cm: np.ndarray) -> dict[str, float]:
    """Every metric of :data:`_CONFUSION_STEPS` from one confusion matrix."""
    return {key: step(cm) for key, step in _CONFUSION_STEPS.items()}


def classification_scores(
    y_true: Any, y_pred: Any, *, labels: Any = None, nan_policy: str = "raise"
) -> dict[str, float]:
    """Accuracy, macro F1, UAR and Cohen's kappa from one validated confusion matrix.

    The input is validated and counted once; each metric is then a final step over the
    same ``C x C`` matrix, so the values are those of :func:`accuracy`, :func:`f1_score`
    (``average="macro"``), :func:`uar` and :func:`cohen_kappa` to the last digit, at the cost
    of one.

    .. math::

        \\mathrm{accuracy} = \\frac{\\operatorname{tr} O}{n}, \\quad
        F_1 = \\frac{1}{C} \\sum_c \\frac{2 O_{cc}}{r_c + k_c}, \\quad
        \\kappa = 1 - \\frac{n \\sum_{i \\ne j} O_{ij}}{\\sum_{i \\ne j} r_i k_j}

    with ``O`` the confusion matrix, ``r`` its row sums (truth) and ``k`` its column sums
    (predictions).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True class labels.
    y_pred : array-like of shape (n,) or (n, C)
        Predicted labels, or a score matrix whose arg-max is the prediction.
    labels : array-like of shape (C,), optional
        The class set and its order; every class in it takes part in the macro F1.
    nan_policy : {"raise", "omit"}, default "raise"

    Returns
    -------
    dict of str to float
        ``{"accuracy", "f1", "uar", "kappa"}`` (keys of the accumulator's ``compute()``).

    Raises
    ------
    ValueError, TypeError
        As :func:`accuracy`, naming the argument.

    Warns
    -----
    UndefinedMetricWarning
        Under each metric's own name, where :func:`f1_score` or :func:`cohen_kappa` would.

    Examples
    --------
    >>> import affectmetrics as am
    >>> # O = [[1, 1], [0, 2]]: accuracy 3/4; F1 (2/3 + 4/5) / 2; kappa 1/2
    >>> scores = am.classification_scores([0, 0, 1, 1], [0, 1, 1, 1])
    >>> scores["accuracy"], round(scores["f1"], 6), scores["kappa"]
    (0.75, 0.733333, 0.5)
    """
    data = _check_classification(y_true, y_pred, labels=labels, nan_policy=nan_policy)
    return _confusion_results(_confusion_of(data))


def confusion_matrix(
    y_true: Any, y_pred: Any, *, labels: Any = None, nan_policy: str = "raise"
) -> np.ndarray:
    """Confusion matrix ``C[i, j]``: samples of true class i predicted as class j.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True class labels.
    y_pred : array-like of shape (n,) or (n, C)
        Predicted labels, or a score matrix whose arg-max is the prediction.
    labels : array-like of shape (C,), optional
        The class set and its order. Default: ``range(C)`` for a score matrix, else the
        sorted union of the labels seen.
    nan_policy : {"raise", "omit"}, default "raise"

    Returns
    -------
    ndarray of shape (C, C), int64

    Examples
    --------
    >>> import affectmetrics as am
    >>> am.confusion_matrix([0, 0, 1, 2], [0, 1, 1, 2]).tolist()
    [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    """
    data = _check_classification(y_true, y_pred, labels=labels, nan_policy=nan_policy)
    return _confusion_of(data)


def accuracy(y_true: Any, y_pred: Any, *, labels: Any = None,
             nan_policy: str = "raise") -> float:
    """Fraction of samples whose predicted class is the true class.

    .. math::

        \\mathrm{accuracy} = \\tfrac{1}{n} \\sum_i [y_i = \\hat y_i]

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True class labels.
    y_pred : array-like of shape (n,) or (n, C)
        Predicted labels, or a score matrix whose arg-max (first maximum on ties) is the
        prediction.
    labels : array-like of shape (C,), optional
        The class set; a label outside it is an error.
    nan_policy : {"raise", "omit"}, default "raise"

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> import affectmetrics as am
    >>> # 3 of 4 correct
    >>> am.accuracy([0, 1, 2, 2], [0, 1, 2, 1])
    0.75
    """
    data = _check_classification(y_true, y_pred, labels=labels, nan_policy=nan_policy)
    return _accuracy_from_cm(_confusion_of(data))


def f1_score(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    average: str | None = "macro",
    zero_division: float = 0.0,
    nan_policy: str = "raise",
) -> float | np.ndarray:
    """F1 score per class, averaged.

    .. math::

        F_1^{(c)} = \\frac{2\\,TP_c}{2\\,TP_c + FP_c + FN_c}

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True class labels.
    y_pred : array-like of shape (n,) or (n, C)
        Predicted labels, or a score matrix whose arg-max is the prediction.
    labels : array-like of shape (C,), optional
        The class set and its order; every class in it takes part in the average, including
        classes absent from both arguments.
    average : {"macro", "micro", "weighted", None}, default "macro"
        ``"macro"``: unweighted mean over classes; ``"weighted"``: weighted by support;
        ``"micro"``: from pooled counts (equals accuracy); ``None``: per-class array.
    zero_division : {0.0, 1.0, nan}, default 0.0
        The F1 of a class whose denominator is 0 (never predicted and never present). With
        nan, such classes are left out of the average.
    nan_policy : {"raise", "omit"}, default "raise"

    Returns
    -------
    float, or ndarray of shape (C,) when ``average=None``

    Examples
    --------
    >>> import affectmetrics as am
    >>> # class 0: TP=1, FP=0, FN=1 -> 2/3; class 1: TP=1, FP=1, FN=0 -> 2/3
    >>> round(am.f1_score([0, 0, 1], [0, 1, 1]), 6)
    0.666667
    """
    data = _check_classification(y_true, y_pred, labels=labels, nan_policy=nan_policy)
    return _f1_from_cm(_confusion_of(data), average=average, zero_division=zero_division)


def cohen_kappa(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    weights: str | None = None,
    nan_policy: str = "raise",
) -> float:
    """Cohen's kappa: agreement between truth and prediction beyond chance.

    .. math::

        \\kappa = \\frac{p_o - p_e}{1 - p_e}
              = 1 - \\frac{\\sum_{ij} w_{ij} O_{ij}}{\\sum_{ij} w_{ij} E_{ij}}

    with ``O`` the confusion matrix, ``E`` the outer product of its marginals divided by n,
    and disagreement weights ``w`` (``1 - I`` unweighted; ``|i - j|`` linear;
    ``(i - j)^2`` quadratic, over the class order), as in scikit-learn.

    Parameters
    ----------
    y_true : array-like of shape (n,)
    y_pred : array-like of shape (n,) or (n, C)
    labels : array-like of shape (C,), optional
        The class set and its order (the order matters for weighted kappa).
    weights : {None, "linear", "quadratic"}, default None
    nan_policy : {"raise", "omit"}, default "raise"

    Returns
    -------
    float
        In [-1, 1]; 0 is chance agreement.

    Warns
    -----
    UndefinedMetricWarning
        When the expected disagreement is 0 (p_e = 1: both sides use one and the same
        class); nan is returned.

    References
    ----------
    J. Cohen, "A coefficient of agreement for nominal scales", Educational and Psychological
    Measurement 20(1), 37-46, 1960.

    Examples
    --------
    >>> import affectmetrics as am
    >>> # O = [[1, 1], [0, 2]], p_o = 3/4; marginals (2, 2) and (1, 3), p_e = (2*1 + 2*3)/16 = 1/2
    >>> am.cohen_kappa([0, 0, 1, 1], [0, 1, 1, 1])
    0.5
    """
    data = _check_classification(y_true, y_pred, labels=labels, nan_policy=nan_policy)
    return _kappa_from_cm(_confusion_of(data), weights=weights)


def uar(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    zero_division: float = 0.0,
    nan_policy: str = "raise",
) -> float:
    """Unweighted average recall: the mean over classes of each class's recall.

    .. math::

        \\mathrm{UAR} = \\frac{1}{C} \\sum_{c=1}^{C} \\frac{TP_c}{TP_c + FN_c}

    The measure of the INTERSPEECH/ComParE challenges for speech emotion; unlike accuracy
    it gives every class the same weight, so a majority-class predictor scores 1/C.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True class labels.
    y_pred : array-like of shape (n,) or (n, C)
        Predicted labels, or a score matrix whose arg-max (first maximum on ties) is the
        prediction.
    labels : array-like of shape (C,), optional
        The class set; every class in it takes part in the mean. Default: ``range(C)`` for a
        score matrix, else the sorted union of the labels seen.
    zero_division : {0.0, 1.0, nan}, default 0.0
        The recall of a class without true samples (in ``labels`` or predicted only): 0.0 as
        scikit-learn's ``recall_score`` and audmetric do; nan leaves such classes out of the
        mean, which is scikit-learn's ``balanced_accuracy_score``.
    nan_policy : {"raise", "omit"}, default "raise"

    Returns
    -------
    float
        In [0, 1]; chance level is 1/C.

    Raises
    ------
    ValueError
        As :func:`accuracy`; or ``zero_division`` not 0.0, 1.0 or nan.

    Warns
    -----
    UndefinedMetricWarning
        With ``zero_division=nan`` when no class has true samples; nan is returned.

    Notes
    -----
    Equal to ``sklearn.metrics.recall_score(average="macro")`` with the same ``labels`` and
    ``zero_division``, to audmetric's ``unweighted_average_recall``, and to
    ``balanced_accuracy_score`` whenever every class has true samples (or with
    ``zero_division=nan``).

    References
    ----------
    B. Schuller, S. Steidl, A. Batliner, "The INTERSPEECH 2009 Emotion Challenge",
    Proc. Interspeech, 312-315, 2009.

    Examples
    --------
    >>> import affectmetrics as am
    >>> # recalls: class 0 1/2, class 1 2/2: mean 3/4 (accuracy is also 3/4 here)
    >>> am.uar([0, 0, 1, 1], [0, 1, 1, 1])
    0.75
    >>> # a majority-class predictor on 3 classes: recalls 1, 0, 0
    >>> round(am.uar([0, 0, 0, 0, 1, 2], [0, 0, 0, 0, 0, 0]), 6)
    0.333333
    """
    data = _check_classification(y_true, y_pred, labels=labels, nan_policy=nan_policy)
    return _uar_from_cm(_confusion_of(data), zero_division=zero_division)
