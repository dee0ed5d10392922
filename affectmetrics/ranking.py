"""One-vs-rest ROC AUC and average precision from sorted scores and counts.

Neither metric needs a ROC or PR curve. Per class, the scores of the positives and of the
negatives are sorted (one sort of the column's elements in total); then, at each distinct
positive score ``u`` with ``p_u`` positives:

* ``neg_below(u)`` negatives score strictly lower and ``neg_eq(u)`` tie with it, so
  ``AUC = sum_u p_u (neg_below + neg_eq / 2) / (P N)`` (the Mann-Whitney U statistic, ties
  counted one half), kept in integers until the final division;
* ``tp_ge(u)`` positives and ``fp_ge(u) = N - neg_below(u)`` negatives score at least ``u``, so
  ``AP = sum_u (p_u / P) * tp_ge / (tp_ge + fp_ge)`` (the step-wise sum of scikit-learn's
  ``average_precision_score``; thresholds without positives add nothing to recall).

These per-threshold counts are the statistics step; the binned
:class:`~affectmetrics.ClassificationAccumulator` produces the same counts from its
histograms and the bootstrap engine from resampling weights, and all of them share one final
step, :func:`_ranking_batch`, batched over stacks of counts (classes, resamples).

Before any ranking, a score matrix goes through the score rule of ``_scores.py`` (logits and
probabilities of one model rank alike), applied by the validation path.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ._validation import _check_classification, _fmt_value
from .exceptions import _warn_undefined

__all__ = ["pr_auc", "roc_auc"]

_AVERAGES = ("macro", "weighted", "micro", None)


class _RankCounts(NamedTuple):
    """Counts at each distinct score that has positives, in ascending score order."""

    pos: np.ndarray  # positives at this score
    neg_eq: np.ndarray  # negatives tied with it
    neg_below: np.ndarray  # negatives strictly below it
    n_pos: int
    n_neg: int


def _rank_counts(scores: np.ndarray, is_pos: np.ndarray) -> _RankCounts:
    """Per-threshold counts for one binary problem (one sort of the scores in total)."""
    pos = np.sort(scores[is_pos]).astype(np.float64, copy=False)
    neg = np.sort(scores[~is_pos]).astype(np.float64, copy=False)
    n_pos, n_neg = pos.shape[0], neg.shape[0]
    if n_pos == 0:
        empty = np.zeros(0, dtype=np.int64)
        return _RankCounts(empty, empty, empty, 0, n_neg)
    new = np.empty(n_pos, dtype=bool)
    new[0] = True
    np.not_equal(pos[1:], pos[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    values = pos[starts]
    counts = np.diff(np.append(starts, n_pos))
    below = np.searchsorted(neg, values, side="left")
    upto = np.searchsorted(neg, values, side="right")
    return _RankCounts(counts.astype(np.int64), (upto - below).astype(np.int64),
                       below.astype(np.int64), n_pos, n_neg)


def _ranking_batch(
    pos: np.ndarray,
    neg_eq: np.ndarray,
    neg_below: np.ndarray,
    n_pos: Any,
    n_neg: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """ROC AUC and average precision from per-threshold counts: the one final step.

    Shared by the functions, both accumulator modes, the adapters and the bootstrap engine
    (whose counts are sums of resampling weights). Thresholds run along the last axis in
    ascending score order; leading axes are a stack (classes, resamples), and a threshold
    without positives adds nothing.

    Parameters
    ----------
    pos, neg_eq, neg_below : ndarray of shape (..., T)
        Positives at each threshold, negatives tied with it, negatives strictly below it.
    n_pos, n_neg : int or ndarray of shape (...)
        Positives and negatives in all.

    Returns
    -------
    auc, ap : ndarray of shape (...)
        ``AUC = sum(pos * (2 neg_below + neg_eq)) / (2 P N)`` (nan unless P > 0 and N > 0) and
        ``AP = sum(pos * tp_ge / (tp_ge + fp_ge)) / P`` (nan unless P > 0), with
        ``tp_ge = P - cumsum(pos) + pos`` and ``fp_ge = N - neg_below`` the samples scoring at
        least the threshold. With only positives (N = 0) every precision is 1 and AP = 1.
    """
    n_pos = np.asarray(n_pos)
    n_neg = np.asarray(n_neg)
    # Twice the U statistic: exact in int64 for counts, and in float64 below 2**53. It is at
    # most 2 P N, which overflows int64 beyond about 4e9 samples (binned accumulators are
    # for such data): there the counts are taken in float64 (relative error 1e-16).
    if pos.dtype.kind in "iu" and bool(np.any(2.0 * n_pos * n_neg >= 2.0**63)):
        pos, neg_eq, neg_below = (a.astype(np.float64) for a in (pos, neg_eq, neg_below))
    twice_u = (pos * (2 * neg_below + neg_eq)).sum(axis=-1)
    tp_ge = n_pos[..., None] - np.cumsum(pos, axis=-1) + pos
    fp_ge = n_neg[..., None] - neg_below
    has_pos = pos > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = twice_u / (2.0 * n_pos * n_neg)
        precision = np.where(has_pos, tp_ge / np.where(has_pos, tp_ge + fp_ge, 1), 0.0)
        ap = (pos * precision).sum(axis=-1) / n_pos
    auc = np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)
    return auc, np.where(n_pos > 0, ap, np.nan)


def _class_counts(codes: np.ndarray, y_score: np.ndarray) -> list[_RankCounts]:
    """Counts for every one-vs-rest problem."""
    return [_rank_counts(y_score[:, k], codes == k) for k in range(y_score.shape[1])]


def _micro_counts(codes: np.ndarray, y_score: np.ndarray) -> _RankCounts:
    onehot = np.zeros(y_score.shape, dtype=bool)
    onehot[np.arange(codes.shape[0]), codes] = True
    return _rank_counts(y_score.reshape(-1), onehot.reshape(-1))


def _average(
    per_class: np.ndarray,
    support: np.ndarray,
    average: str | None,
    metric: str,
    classes: np.ndarray,
    reason: str,
) -> float | np.ndarray:
    undefined = np.isnan(per_class)
    if undefined.any():
        names = "[" + ", ".join(_fmt_value(c) for c in classes[undefined]) + "]"
        outcome = ("returning nan for them" if average is None
                   else "they are left out of the average")
        _warn_undefined(f"{metric} is undefined for class(es) {names}: {reason}; {outcome}")
    if average is None:
        return per_class
    if undefined.all():
        _warn_undefined(f"{metric} is undefined for every class; returning nan")
        return float("nan")
    values = per_class[~undefined]
    if average == "macro":
        return float(values.mean())
    weights = support[~undefined].astype(np.float64)
    return float(np.dot(values, weights) / weights.sum())


def _check_average(average: str | None) -> None:
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")


def _score_from_counts(
    which: str, counts: list[_RankCounts], classes: np.ndarray, average: str | None
) -> float | np.ndarray:
    """Final step shared by the functions and both accumulator modes.

    ``average="single"`` scores one binary (or pooled micro) problem given as ``counts[0]``.
    """
    column = 0 if which == "roc_auc" else 1
    reason = ("it needs both positive and negative samples" if which == "roc_auc"
              else "it needs positive samples")
    per_class = np.array([float(_ranking_batch(*c)[column]) for c in counts])
    if average == "single":
        if np.isnan(per_class[0]):
            _warn_undefined(f"{which} is undefined: {reason}; returning nan")
        return float(per_class[0])
    support = np.array([c.n_pos for c in counts])
    return _average(per_class, support, average, which, classes, reason)


def _ranking_score(
    which: str,
    codes: np.ndarray,
    y_score: np.ndarray,
    classes: np.ndarray,
    average: str | None,
) -> float | np.ndarray:
    """roc_auc / pr_auc on validated codes and an (n, C) or (n, 1) score matrix."""
    _check_average(average)
    if y_score.shape[1] == 1 and classes.shape[0] == 2:
        # A 1-D binary score (one column, two classes): the positive class is the second.
        # An (n, 1) score matrix (one class) is a one-vs-rest problem like any other.
        return _score_from_counts(which, [_rank_counts(y_score[:, 0], codes == 1)],
                                  classes, "single")
    if average == "micro":
        return _score_from_counts(which, [_micro_counts(codes, y_score)], classes, "single")
    return _score_from_counts(which, _class_counts(codes, y_score), classes, average)


def roc_auc(
    y_true: Any,
    y_score: Any,
    *,
    labels: Any = None,
    average: str | None = "macro",
    scores: str = "auto",
    nan_policy: str = "raise",
) -> float | np.ndarray:
    """One-vs-rest area under the ROC curve.

    .. math::

        \\mathrm{AUC}_c = \\frac{1}{P_c N_c} \\sum_{i \\in \\mathrm{pos}_c}
            \\sum_{j \\in \\mathrm{neg}_c}
            \\left([s_i > s_j] + \\tfrac{1}{2}[s_i = s_j]\\right)

    the Mann-Whitney U statistic of class ``c``'s scores against the rest's, which equals the
    trapezoidal area under the ROC curve.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True class labels.
    y_score : array-like of shape (n, C), or (n,) for two classes
        Probabilities or logits, one column per class (see ``scores``); for two classes
        also a 1-D score of the positive class (any increasing scale: only ranks matter).
    labels : array-like of shape (C,), optional
        The classes of the score columns, in order. Default ``range(C)``. With a 1-D
        score, ``[negative, positive]``; without it the positive class is 1 when the labels
        lie in {0, 1} or {-1, 1} (even if only one of them occurs), else the larger of the
        two labels seen.
    average : {"macro", "weighted", "micro", None}, default "macro"
        ``"macro"``: mean over classes that have both positives and negatives;
        ``"weighted"``: weighted by their number of positives; ``"micro"``: one problem
        pooled over all (sample, class) pairs; ``None``: per-class array. An ``(n, 2)``
        matrix is two one-vs-rest problems like any other; for the positive class alone
        pass its column as a 1-D score.
    scores : {"auto", "probabilities", "logits", "raw"}, default "auto"
        What a row of the score matrix is. ``"auto"``: a row in [0, 1] summing to 1
        (within 0.01) is a probability vector and is kept, any other row is logits and is
        replaced by its softmax, so logits and probabilities of one model give the same
        value, however the data are batched. ``"probabilities"``: every row must be a
        probability vector; ``"logits"``: softmax every row; ``"raw"``: rank the columns as
        given (other scores, e.g. decision values).
    nan_policy : {"raise", "omit"}, default "raise"

    Returns
    -------
    float, or ndarray of shape (C,) when ``average=None``
        In [0, 1]; 0.5 is chance.

    Warns
    -----
    UndefinedMetricWarning
        For a class without positives (or without negatives): its AUC is nan and it is left
        out of the average.

    Notes
    -----
    Exact: no thresholds are binned (Keras' ``AUC`` uses 200 by default). On
    probabilities this is scikit-learn's ``roc_auc_score(multi_class="ovr")``, and on logits
    torchmetrics' ``multiclass_auroc`` (which applies the softmax); an absent class gives nan
    for that class instead of an error for all.

    References
    ----------
    J. A. Hanley, B. J. McNeil, "The meaning and use of the area under a receiver operating
    characteristic (ROC) curve", Radiology 143(1), 1982.

    Examples
    --------
    >>> import affectmetrics as am
    >>> # positive scores 0.8, 0.4; negatives 0.4, 0.1: pairs 1 + 1 + 0.5 + 1 = 3.5 of 4
    >>> am.roc_auc([1, 1, 0, 0], [0.8, 0.4, 0.4, 0.1])
    0.875
    """
    data = _check_classification(y_true, y_score, labels=labels, nan_policy=nan_policy,
                                 scores=True, score_kind=scores, pred_name="y_score")
    return _ranking_score("roc_auc", data.y_true, data.y_score, data.classes, average)


def pr_auc(
    y_true: Any,
    y_score: Any,
    *,
    labels: Any = None,
    average: str | None = "macro",
    scores: str = "auto",
    nan_policy: str = "raise",
) -> float | np.ndarray:
    """One-vs-rest average precision (area under the precision-recall curve, step-wise).

    .. math::

        \\mathrm{AP}_c = \\sum_t (R_t - R_{t-1})\\, P_t

    over the distinct score thresholds ``t`` in decreasing order, with precision ``P_t`` and
    recall ``R_t`` of "score >= t". This is scikit-learn's ``average_precision_score``, not
    the trapezoidal rule, which overestimates the area.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True class labels.
    y_score : array-like of shape (n, C), or (n,) for two classes
        As for :func:`roc_auc`.
    labels : array-like of shape (C,), optional
        As for :func:`roc_auc` (the positive class of a 1-D score).
    average : {"macro", "weighted", "micro", None}, default "macro"
        As for :func:`roc_auc`; classes without positives are left out.
    scores : {"auto", "probabilities", "logits", "raw"}, default "auto"
        What a row of the score matrix is; as for :func:`roc_auc`.
    nan_policy : {"raise", "omit"}, default "raise"

    Returns
    -------
    float, or ndarray of shape (C,) when ``average=None``
        In [0, 1]; the prevalence of the class is chance level.

    Warns
    -----
    UndefinedMetricWarning
        For a class without positives (recall is undefined): nan, left out of the average.

    Notes
    -----
    With positives only (no negatives) every precision is 1, so AP is 1.0 (scikit-learn
    agrees); ROC AUC is undefined there.

    References
    ----------
    M. Zhu, "Recall, precision and average precision", University of Waterloo, 2004;
    scikit-learn issue #4577 on the trapezoidal overestimate.

    Examples
    --------
    >>> import affectmetrics as am
    >>> # ranked 0.8 (pos), 0.6 (neg), 0.4 (pos): AP = 1/2 * 1 + 1/2 * 2/3 = 5/6
    >>> round(am.pr_auc([1, 0, 1], [0.8, 0.6, 0.4]), 6)
    0.833333
    """
    data = _check_classification(y_true, y_score, labels=labels, nan_policy=nan_policy,
                                 scores=True, score_kind=scores, pred_name="y_score")
    return _ranking_score("pr_auc", data.y_true, data.y_score, data.classes, average)
