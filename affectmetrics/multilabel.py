"""Multi-label metrics for facial action units (AU occurrence): per-AU F1, ROC AUC and AP.

Truth is an ``(n, L)`` 0/1 matrix, one column per AU; predictions are 0/1 or scores of the
same shape (a score counts as "present" when it exceeds ``threshold``).

The statistics step of F1 is one 2 x 2 confusion matrix per label, ``(L, 2, 2)`` counts that
merge by addition; the final step reuses the classification F1 of
:mod:`affectmetrics.classification` on that stack (the F1 of class 1 of each label's matrix,
or of their sum for the micro average). The ranking metrics reuse the per-threshold counts
and final steps of :mod:`affectmetrics.ranking`, one binary problem per label. The
:class:`MultilabelAccumulator` keeps exactly these statistics, so it agrees with the
functions after any split of the data.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._validation import (
    _check_continuous,
    _check_nan_policy,
    _check_unique_names,
    _first_position,
    _fmt_value,
    _real_option,
)
from .accumulators import (
    _STATE_VERSION,
    _bin_index,
    _check_positive_int,
    _check_score_options,
    _check_state_kind,
    _entry,
    _entry_counts,
    _entry_int,
    _entry_str,
    _histogram_counts,
    _histogram_error_bounds,
    _state_from_json,
    _state_to_json,
)
from .classification import _AVERAGES, _f1_batch, _f1_final
from .exceptions import UndefinedMetricWarning, _warn_undefined
from .ranking import _rank_counts, _RankCounts, _ranking_batch

__all__ = ["MultilabelAccumulator", "multilabel_f1", "multilabel_pr_auc", "multilabel_roc_auc"]

_F1_AVERAGES = _AVERAGES  # the averages of multiclass F1
_RANK_AVERAGES = ("macro", "micro", "weighted", None)


# -- validation and statistics ----------------------------------------------------------


def _check_multilabel(
    y_true: Any,
    y_pred: Any,
    *,
    nan_policy: str = "raise",
    pred_name: str = "y_pred",
    true_name: str = "y_true",
    allow_empty: bool = False,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate an (n, L) 0/1 truth and (n, L) predictions or scores.

    Returns the truth as bool, the predictions as float64 and the rows omitted.
    """
    t, p, n_omitted = _check_continuous(y_true, y_pred, nan_policy=nan_policy,
                                        allow_empty=allow_empty, names=(true_name, pred_name))
    if t.ndim != 2:
        raise ValueError(f"{true_name} must be an (n, L) 0/1 matrix with one column per "
                         f"label; got shape {t.shape}")
    if t.dtype.kind != "b":
        bad = (t != 0) & (t != 1)
        if bad.any():
            pos = _first_position(bad)
            raise ValueError(f"{true_name} must hold 0/1 labels; found {_fmt_value(t[pos])} "
                             f"at position {pos}")
    return t.astype(bool), p.astype(np.float64), n_omitted


def _check_threshold(threshold: float, name: str = "threshold") -> float:
    value = _real_option(threshold, name, "a finite number")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {threshold!r}")
    return value


def _label_confusion(t: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Per-label 2 x 2 confusion matrices (L, 2, 2): [[TN, FP], [FN, TP]] (int64)."""
    n = t.shape[0]
    tp = np.count_nonzero(t & predicted, axis=0)
    pos_true = np.count_nonzero(t, axis=0)
    pos_pred = np.count_nonzero(predicted, axis=0)
    cms = np.stack([n - pos_true - pos_pred + tp, pos_pred - tp, pos_true - tp, tp], axis=-1)
    return cms.reshape(-1, 2, 2).astype(np.int64)


def _label_names(names: Any, n_labels: int) -> np.ndarray:
    if names is None:
        return np.arange(n_labels)
    if isinstance(names, (str, bytes)):
        raise TypeError(f"label_names must be a sequence of {n_labels} names, got the "
                        f"string {names!r}")
    arr = np.asarray(names)
    if arr.ndim != 1 or arr.shape[0] != n_labels:
        raise ValueError(f"label_names must name each of the {n_labels} labels; got "
                         f"{arr.shape[0] if arr.ndim == 1 else arr.shape}")
    _check_unique_names(arr.tolist(), "label_names")
    return arr


# -- final steps --------------------------------------------------------------------------


def _multilabel_f1_batch(cms: np.ndarray, average: str | None,
                         zero_division: float) -> np.ndarray:
    """F1 of stacks of per-label confusion matrices (..., L, 2, 2): (...) or (..., L)."""
    if average == "micro":
        return _f1_batch(cms.sum(axis=-3), None, zero_division)[..., 1]
    per_label = _f1_batch(cms, None, zero_division)[..., 1]
    if average is None:
        return per_label
    defined = ~np.isnan(per_label)
    weights = defined.astype(np.float64)
    if average == "weighted":
        by_support = np.where(defined, cms[..., 1, :].sum(axis=-1), 0.0)
        # No positives in any label: the weights are all 0, and the mean falls back to the
        # unweighted one, as scikit-learn's does.
        weights = np.where(by_support.sum(axis=-1, keepdims=True) > 0, by_support, weights)
    weight_sum = weights.sum(axis=-1)
    value = (np.where(defined, per_label, 0.0) * weights).sum(axis=-1) / np.where(
        weight_sum > 0, weight_sum, 1.0)
    return np.where(weight_sum > 0, value, np.nan)


def _multilabel_f1_from_counts(cms: np.ndarray, average: str | None = "macro",
                               zero_division: float = 0.0) -> float | np.ndarray:
    """Final step shared by :func:`multilabel_f1` and :class:`MultilabelAccumulator`."""
    return _f1_final(lambda avg, zd: _multilabel_f1_batch(cms, avg, zd),
                     bool(cms[..., 0, :, :].sum() > 0), cms.shape[0], average, zero_division,
                     "multilabel_f1",
                     "every label has a zero denominator (never present, never predicted)")


def _label_rank_counts(t: np.ndarray, scores: np.ndarray) -> list[_RankCounts]:
    return [_rank_counts(scores[:, j], t[:, j]) for j in range(t.shape[1])]


def _multilabel_rank_score(which: str, counts: list[_RankCounts], pooled: _RankCounts | None,
                           names: np.ndarray, average: str | None) -> float | np.ndarray:
    """Final step of the per-label ranking metrics (``which``: the public function's name)."""
    if average not in _RANK_AVERAGES:
        raise ValueError(f"average must be one of {_RANK_AVERAGES}, got {average!r}")
    column = 0 if which == "multilabel_roc_auc" else 1

    def final(c: _RankCounts) -> float:
        return float(_ranking_batch(*c)[column])

    reason = ("it needs both positive and negative samples" if which == "multilabel_roc_auc"
              else "it needs positive samples")
    if average == "micro":
        value = final(pooled)
        if np.isnan(value):
            _warn_undefined(f"{which} is undefined: {reason}; returning nan")
        return float(value)
    per_label = np.array([final(c) for c in counts], dtype=np.float64)
    undefined = np.isnan(per_label)
    if undefined.any():
        outcome = ("returning nan for them" if average is None
                   else "they are left out of the average")
        _warn_undefined(f"{which} is undefined for label(s) {names[undefined].tolist()}: "
                        f"{reason}; {outcome}")
    if average is None:
        return per_label
    if undefined.all():
        _warn_undefined(f"{which} is undefined for every label; returning nan")
        return float("nan")
    weights = (np.ones(len(counts)) if average == "macro"
               else np.array([c.n_pos for c in counts], dtype=np.float64))[~undefined]
    return float(np.dot(per_label[~undefined], weights) / weights.sum())


# -- functions ----------------------------------------------------------------------------


def multilabel_f1(
    y_true: Any,
    y_pred: Any,
    *,
    threshold: float = 0.5,
    average: str | None = "macro",
    zero_division: float = 0.0,
    nan_policy: str = "raise",
) -> float | np.ndarray:
    """F1 score per label (action unit) of multi-label predictions, averaged.

    .. math::

        F_1^{(l)} = \\frac{2\\,TP_l}{2\\,TP_l + FP_l + FN_l}, \\qquad
        F_1^{macro} = \\frac{1}{L} \\sum_{l=1}^{L} F_1^{(l)}, \\qquad
        F_1^{micro} = \\frac{2 \\sum_l TP_l}{\\sum_l (2\\,TP_l + FP_l + FN_l)}

    Parameters
    ----------
    y_true : array-like of shape (n, L)
        0/1 (or bool) occurrence of each of the L labels in each sample.
    y_pred : array-like of shape (n, L)
        0/1 predictions, or scores (probabilities, logits with ``threshold=0``).
    threshold : float, default 0.5
        A label is predicted present when ``y_pred > threshold`` (as torchmetrics and
        Keras do); 0/1 predictions are unchanged by the default.
    average : {"macro", "micro", "weighted", None}, default "macro"
        ``"macro"``: unweighted mean over labels (the ABAW AU score, the BP4D/DISFA
        protocols); ``"micro"``: from counts pooled over labels; ``"weighted"``: weighted by
        each label's number of positives (the unweighted mean when no label has any, as
        scikit-learn); ``None``: per-label array.
    zero_division : {0.0, 1.0, nan}, default 0.0
        The F1 of a label with a zero denominator (never present and never predicted); nan
        leaves such labels out of the average.
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` drops every sample (row) with a NaN in either argument.

    Returns
    -------
    float, or ndarray of shape (L,) when ``average=None``
        In [0, 1].

    Raises
    ------
    ValueError
        Shapes other than two equal (n, L), truth values other than 0/1, NaN under
        ``nan_policy="raise"``, inf, or an unknown ``average``/``zero_division``.

    Warns
    -----
    UndefinedMetricWarning
        With ``zero_division=nan`` when every label has a zero denominator; nan is returned.

    Notes
    -----
    Equal to ``sklearn.metrics.f1_score`` on multilabel indicator matrices with the same
    ``average`` and ``zero_division``.

    References
    ----------
    D. Kollias et al., "ABAW: Valence-Arousal Estimation, Expression Recognition, Action
    Unit Detection & Multi-Task Learning Challenges", CVPR Workshops, 2022.

    Examples
    --------
    >>> import affectmetrics as am
    >>> truth = [[1, 0], [1, 1], [0, 1], [0, 0]]
    >>> scores = [[0.9, 0.2], [0.4, 0.8], [0.1, 0.7], [0.6, 0.1]]
    >>> # AU 0: TP 1, FP 1, FN 1 -> 1/2; AU 1: TP 2 -> 1: macro 3/4
    >>> am.multilabel_f1(truth, scores)
    0.75
    >>> am.multilabel_f1(truth, scores, average=None).tolist()
    [0.5, 1.0]
    """
    threshold = _check_threshold(threshold)
    t, p, _ = _check_multilabel(y_true, y_pred, nan_policy=nan_policy)
    return _multilabel_f1_from_counts(_label_confusion(t, p > threshold), average,
                                      zero_division)


def multilabel_roc_auc(
    y_true: Any,
    y_score: Any,
    *,
    average: str | None = "macro",
    label_names: Any = None,
    nan_policy: str = "raise",
) -> float | np.ndarray:
    """ROC AUC per label (action unit), averaged.

    .. math::

        \\mathrm{AUC}_l = \\frac{1}{P_l N_l} \\sum_{i:\\,y_{il}=1} \\sum_{j:\\,y_{jl}=0}
            \\left([s_{il} > s_{jl}] + \\tfrac12 [s_{il} = s_{jl}]\\right)

    Parameters
    ----------
    y_true : array-like of shape (n, L)
        0/1 occurrence of each label.
    y_score : array-like of shape (n, L)
        Scores on any scale (only ranks matter).
    average : {"macro", "micro", "weighted", None}, default "macro"
        ``"macro"``: mean over labels that have positives and negatives; ``"weighted"``: by
        their number of positives; ``"micro"``: one problem over all (sample, label) pairs;
        ``None``: per-label array.
    label_names : sequence, optional
        Names of the labels (e.g. ``("AU1", "AU2", ...)``), used in warnings.
    nan_policy : {"raise", "omit"}, default "raise"

    Returns
    -------
    float, or ndarray of shape (L,) when ``average=None``
        In [0, 1]; 0.5 is chance.

    Warns
    -----
    UndefinedMetricWarning
        For a label without positives or without negatives: nan, left out of the average.

    Notes
    -----
    Equal to ``sklearn.metrics.roc_auc_score`` on multilabel indicators where every label
    has both classes (scikit-learn raises otherwise). Shares its final step with
    :func:`affectmetrics.roc_auc`.

    Examples
    --------
    >>> import affectmetrics as am
    >>> truth = [[1, 0], [1, 1], [0, 1], [0, 0]]
    >>> scores = [[0.9, 0.2], [0.4, 0.8], [0.1, 0.7], [0.6, 0.1]]
    >>> # AU 0: pairs (0.9 > 0.1, 0.9 > 0.6, 0.4 > 0.1, 0.4 < 0.6): 3/4; AU 1: 1
    >>> am.multilabel_roc_auc(truth, scores, average=None).tolist()
    [0.75, 1.0]
    """
    t, s, _ = _check_multilabel(y_true, y_score, nan_policy=nan_policy, pred_name="y_score")
    pooled = _rank_counts(s.reshape(-1), t.reshape(-1)) if average == "micro" else None
    return _multilabel_rank_score("multilabel_roc_auc", _label_rank_counts(t, s), pooled,
                                  _label_names(label_names, t.shape[1]), average)


def multilabel_pr_auc(
    y_true: Any,
    y_score: Any,
    *,
    average: str | None = "macro",
    label_names: Any = None,
    nan_policy: str = "raise",
) -> float | np.ndarray:
    """Average precision per label (action unit), step-wise, averaged.

    .. math::

        \\mathrm{AP}_l = \\sum_t (R_t - R_{t-1})\\, P_t

    over the distinct thresholds of label l's scores (scikit-learn's
    ``average_precision_score``).

    Parameters
    ----------
    y_true : array-like of shape (n, L)
    y_score : array-like of shape (n, L)
    average : {"macro", "micro", "weighted", None}, default "macro"
        As for :func:`multilabel_roc_auc`; labels without positives are left out.
    label_names : sequence, optional
    nan_policy : {"raise", "omit"}, default "raise"

    Returns
    -------
    float, or ndarray of shape (L,) when ``average=None``
        In [0, 1]; a label's prevalence is its chance level.

    Warns
    -----
    UndefinedMetricWarning
        For a label without positives: nan, left out of the average.

    Examples
    --------
    >>> import affectmetrics as am
    >>> # AU 0 ranked 0.9 (pos), 0.6 (neg), 0.4 (pos): AP = 1/2 + 1/2 * 2/3 = 5/6
    >>> round(am.multilabel_pr_auc([[1], [0], [1]], [[0.9], [0.6], [0.4]]), 6)
    0.833333
    """
    t, s, _ = _check_multilabel(y_true, y_score, nan_policy=nan_policy, pred_name="y_score")
    pooled = _rank_counts(s.reshape(-1), t.reshape(-1)) if average == "micro" else None
    return _multilabel_rank_score("multilabel_pr_auc", _label_rank_counts(t, s), pooled,
                                  _label_names(label_names, t.shape[1]), average)


# -- accumulator --------------------------------------------------------------------------


class MultilabelAccumulator:
    """Streaming per-label F1, ROC AUC and AP for action-unit occurrence.

    The state is one 2 x 2 confusion matrix per label (of ``scores > threshold``) plus, for
    the ranking metrics, either the scores themselves (``bins=None``, exact) or per-label
    histograms of the positives' and negatives' scores (``bins=N``, memory O(L·bins), with
    the binning error bounds of :class:`~affectmetrics.ClassificationAccumulator`).
    Counts and histograms merge by addition.

    Parameters
    ----------
    num_labels : int
        Number of labels L (AUs).
    threshold : float, default 0.5
        A label is predicted present when its score exceeds it.
    bins : int, optional
        Binned ranking metrics instead of keeping the scores.
    score_range : (float, float), default (0.0, 1.0)
        Range of the scores in binned mode.
    label_names : sequence of str, optional
        Names of the labels (e.g. ``("AU1", "AU2", ...)``): keys of the per-label results.
    nan_policy : {"raise", "omit"}, default "raise"

    Examples
    --------
    >>> import affectmetrics as am
    >>> acc = am.MultilabelAccumulator(2, label_names=("AU1", "AU12"))
    >>> acc.update([[1, 0], [1, 1]], [[0.9, 0.2], [0.4, 0.8]])
    >>> acc.update([[0, 1], [0, 0]], [[0.1, 0.7], [0.6, 0.1]])
    >>> result = acc.compute()
    >>> result["f1"], result["f1_per_label"]["AU12"]
    (0.75, 1.0)
    """

    def __init__(
        self,
        num_labels: int,
        *,
        threshold: float = 0.5,
        bins: int | None = None,
        score_range: tuple[float, float] = (0.0, 1.0),
        label_names: Any = None,
        nan_policy: str = "raise",
    ) -> None:
        self.num_labels = _check_positive_int(num_labels, "num_labels")
        self.threshold = _check_threshold(threshold)
        self.bins, self.score_range = _check_score_options(bins, score_range)
        names = _label_names(label_names, self.num_labels)
        self.label_names = tuple(str(v) for v in names)
        _check_nan_policy(nan_policy)
        self.nan_policy = nan_policy
        self.reset()

    def reset(self) -> None:
        """Forget every sample seen."""
        self._counts = np.zeros((self.num_labels, 2, 2), dtype=np.int64)
        self._truth: list[np.ndarray] = []
        self._scores: list[np.ndarray] = []
        if self.bins is not None:
            self._pos_hist = np.zeros((self.num_labels, self.bins), dtype=np.int64)
            self._neg_hist = np.zeros((self.num_labels, self.bins), dtype=np.int64)
        self.n_omitted = 0

    @property
    def n_samples(self) -> int:
        """Samples accumulated so far (after omitting NaN rows)."""
        return int(self._counts[0].sum())

    def update(self, y_true: Any, y_score: Any) -> None:
        """Add a batch: ``(n, num_labels)`` 0/1 truth and scores (or 0/1 predictions)."""
        t, s, n_omitted = _check_multilabel(y_true, y_score, nan_policy=self.nan_policy,
                                            pred_name="y_score", allow_empty=True)
        if t.shape[1] != self.num_labels:
            raise ValueError(f"y_true has {t.shape[1]} columns (shape {t.shape}) but "
                             f"num_labels={self.num_labels}")
        if self.bins is not None:
            # Bin first: a score outside score_range must leave the state untouched.
            pos, neg = self._histograms(t, s)
            self._pos_hist += pos
            self._neg_hist += neg
        else:
            self._truth.append(t.copy())
            self._scores.append(s.copy())
        self._counts += _label_confusion(t, s > self.threshold)
        self.n_omitted += n_omitted

    def _histograms(self, t: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bins = self.bins
        flat = _bin_index(s, bins, self.score_range) + (np.arange(self.num_labels) * bins)
        size = self.num_labels * bins
        pos = np.bincount(flat[t], minlength=size)
        every = np.bincount(flat.reshape(-1), minlength=size)
        return pos.reshape(-1, bins), (every - pos).reshape(-1, bins)

    def merge(self, other: MultilabelAccumulator) -> MultilabelAccumulator:
        """Add the samples of ``other`` (left unchanged) to this accumulator; returns self."""
        if not isinstance(other, MultilabelAccumulator):
            raise TypeError(f"can only merge a MultilabelAccumulator, got "
                            f"{type(other).__name__}")
        mine = (self.num_labels, self.threshold, self.bins, self.score_range, self.label_names)
        theirs = (other.num_labels, other.threshold, other.bins, other.score_range,
                  other.label_names)
        if mine != theirs:
            raise ValueError("cannot merge accumulators with different (num_labels, threshold, "
                             f"bins, score_range, label_names): {mine} and {theirs}")
        self._counts = self._counts + other._counts
        self._truth = self._truth + other._truth
        self._scores = self._scores + other._scores
        if self.bins is not None:
            self._pos_hist = self._pos_hist + other._pos_hist
            self._neg_hist = self._neg_hist + other._neg_hist
        self.n_omitted += other.n_omitted
        return self

    def _rank_counts(self) -> tuple[list[_RankCounts], _RankCounts]:
        if self.bins is not None:
            counts = _histogram_counts(self._pos_hist, self._neg_hist)
            pooled = _histogram_counts(self._pos_hist.sum(axis=0, keepdims=True),
                                       self._neg_hist.sum(axis=0, keepdims=True))[0]
            return counts, pooled
        t = (np.concatenate(self._truth) if self._truth
             else np.zeros((0, self.num_labels), bool))
        s = np.concatenate(self._scores) if self._scores else np.zeros((0, self.num_labels))
        self._truth, self._scores = [t], [s]
        return _label_rank_counts(t, s), _rank_counts(s.reshape(-1), t.reshape(-1))

    def compute(self) -> dict[str, Any]:
        """Every metric over the samples so far.

        Returns
        -------
        dict
            ``f1`` (macro over labels), ``f1_micro``, ``auc`` and ``auc_pr`` (macro over
            labels with the needed samples) as floats, and ``f1_per_label``,
            ``auc_per_label``, ``auc_pr_per_label`` as dicts from label name to float.
        """
        names = np.array(self.label_names)
        counts, _ = self._rank_counts()
        per_f1 = _multilabel_f1_from_counts(self._counts, None)
        auc = _multilabel_rank_score("multilabel_roc_auc", counts, None, names, None)
        ap = _multilabel_rank_score("multilabel_pr_auc", counts, None, names, None)
        # the macro averages of the per-label values above (each warning issued once)
        return {
            "f1": _multilabel_f1_from_counts(self._counts, "macro"),
            "f1_micro": _multilabel_f1_from_counts(self._counts, "micro"),
            "auc": _nanmean_or_warn(auc, "multilabel_roc_auc"),
            "auc_pr": _nanmean_or_warn(ap, "multilabel_pr_auc"),
            "f1_per_label": dict(zip(self.label_names, per_f1.tolist(), strict=True)),
            "auc_per_label": dict(zip(self.label_names, auc.tolist(), strict=True)),
            "auc_pr_per_label": dict(zip(self.label_names, ap.tolist(), strict=True)),
        }

    def error_bounds(self) -> dict[str, dict[str, float]]:
        """Per-label bounds on the binning error of AUC and AP (zeros in exact mode).

        The formulas of :class:`~affectmetrics.ClassificationAccumulator`, per label:
        ``{"auc": {name: bound}, "auc_pr": {name: bound}}``; nan where the metric is
        undefined.
        """
        if self.bins is None:
            bounds = {"auc": np.zeros(self.num_labels), "auc_pr": np.zeros(self.num_labels)}
        else:
            bounds = _histogram_error_bounds(self._pos_hist, self._neg_hist)
        return {key: dict(zip(self.label_names, values.tolist(), strict=True))
                for key, values in bounds.items()}

    def state_dict(self) -> dict[str, Any]:
        """The state as plain values and arrays, for checkpoints and between processes.

        Every entry is a string, a number or a NumPy array (exact mode writes ``bins=0``), so
        the dict round-trips through ``np.savez``/``np.load`` without ``allow_pickle``.
        """
        state: dict[str, Any] = {
            "kind": "multilabel", "version": _STATE_VERSION, "num_labels": self.num_labels,
            "threshold": self.threshold, "bins": 0 if self.bins is None else self.bins,
            "score_range": np.array(self.score_range, dtype=np.float64),
            "label_names": np.array(self.label_names, dtype=str),
            "nan_policy": self.nan_policy, "n_omitted": self.n_omitted,
            "counts": self._counts.copy(),
        }
        if self.bins is None:
            self._rank_counts()
            state["truth"], state["scores"] = self._truth[0].copy(), self._scores[0].copy()
        else:
            state["pos_hist"], state["neg_hist"] = self._pos_hist.copy(), self._neg_hist.copy()
        return state

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> MultilabelAccumulator:
        """Rebuild an accumulator from :meth:`state_dict` output (or its ``np.load``).

        Raises
        ------
        ValueError
            Naming the entry, for a state that no data could have produced.
        """
        if not isinstance(state, dict):
            _check_state_kind(state, "multilabel", set())
        exact = "bins" not in state or _entry(state, "bins") == 0
        keys = {"kind", "version", "num_labels", "threshold", "bins", "score_range",
                "label_names", "nan_policy", "n_omitted", "counts"}
        keys |= {"truth", "scores"} if exact else {"pos_hist", "neg_hist"}
        _check_state_kind(state, "multilabel", keys)
        score_range = np.asarray(_entry(state, "score_range"), dtype=np.float64)
        acc = cls(_entry_int(state, "num_labels", 1), threshold=float(_entry(state, "threshold")),
                  bins=None if exact else _entry_int(state, "bins", 1),
                  score_range=(float(score_range[0]), float(score_range[-1])),
                  label_names=[str(v) for v in np.asarray(state["label_names"]).reshape(-1)],
                  nan_policy=_entry_str(state, "nan_policy"))
        size = acc.num_labels
        counts = _entry_counts(state, "counts", (size, 2, 2))
        n = int(counts[0].sum())
        if (counts.sum(axis=(1, 2)) != n).any():
            raise ValueError("state entry 'counts' has labels with different sample counts")
        if acc.bins is None:
            truth, scores = np.asarray(state["truth"]), np.asarray(state["scores"])
            for name, arr in (("truth", truth), ("scores", scores)):
                if arr.ndim != 2 or arr.shape[1] != size or arr.dtype.kind not in "biuf":
                    raise ValueError(f"state entry {name!r} must be an (n, {size}) array of "
                                     f"numbers; got shape {arr.shape}, dtype {arr.dtype}")
            if truth.shape != scores.shape or truth.shape[0] != n:
                raise ValueError("state entries 'truth', 'scores' and 'counts' disagree on the "
                                 "sample count")
            if truth.dtype.kind != "b" and ((truth != 0) & (truth != 1)).any():
                raise ValueError("state entry 'truth' holds values other than 0 and 1")
            scores = scores.astype(np.float64)
            if not np.isfinite(scores).all():
                raise ValueError("state entry 'scores' holds NaN or infinite values")
            if truth.shape[0] and not np.array_equal(
                    _label_confusion(truth.astype(bool), scores > acc.threshold), counts):
                raise ValueError("state entries 'truth' and 'scores' disagree with 'counts'")
            acc._truth, acc._scores = [truth.astype(bool)], [scores.copy()]
        else:
            for name in ("pos_hist", "neg_hist"):
                hist = _entry_counts(state, name, (size, acc.bins))
                setattr(acc, f"_{name}", hist)
            if (acc._pos_hist.sum(axis=1) != counts[:, 1, :].sum(axis=1)).any() or (
                    (acc._pos_hist + acc._neg_hist).sum(axis=1) != n).any():
                raise ValueError("state entries 'pos_hist'/'neg_hist' disagree with 'counts'")
        acc._counts = counts
        acc.n_omitted = _entry_int(state, "n_omitted", 0)
        return acc

    def to_json(self) -> str:
        """The state as strict JSON (``json.dumps(..., allow_nan=False)``), as the other
        accumulators' :meth:`~affectmetrics.ClassificationAccumulator.to_json`; the label
        names are a JSON list."""
        state = self.state_dict()
        state["label_names"] = list(self.label_names)
        return _state_to_json(state)

    @classmethod
    def from_json(cls, text: str) -> MultilabelAccumulator:
        """Rebuild an accumulator from :meth:`to_json` output (checked as
        :meth:`from_state_dict`)."""
        return cls.from_state_dict(_state_from_json(text))

    def __repr__(self) -> str:
        mode = "exact" if self.bins is None else f"bins={self.bins}"
        return (f"MultilabelAccumulator(num_labels={self.num_labels}, {mode}, "
                f"n_samples={self.n_samples})")


def _nanmean_or_warn(values: np.ndarray, metric: str) -> float:
    defined = ~np.isnan(values)
    if not defined.any():
        _warn_undefined(f"{metric} is undefined for every label; returning nan")
        return float("nan")
    return float(values[defined].mean())


# -- report support -----------------------------------------------------------------------


def _au_scores(t: np.ndarray, s: np.ndarray, threshold: float, names: tuple[str, ...]
               ) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The report's AU metrics (``au_f1``, ``au_f1_micro``, ``au_auc``, ``au_auc_pr`` and
    ``f1_<AU>``) and per-AU arrays, from validated (n, L) truth and scores."""
    counts = _label_confusion(t, s > threshold)
    per_f1 = _multilabel_f1_from_counts(counts, None)
    labels = np.array(names)
    rank_counts = _label_rank_counts(t, s)
    with warnings.catch_warnings():
        # Labels without positives are nan per AU and left out of the mean, silently here
        # as a report's absent classes are.
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        auc = _multilabel_rank_score("multilabel_roc_auc", rank_counts, None, labels, None)
        ap = _multilabel_rank_score("multilabel_pr_auc", rank_counts, None, labels, None)
    metrics = {"au_f1": _multilabel_f1_from_counts(counts, "macro"),
               "au_f1_micro": _multilabel_f1_from_counts(counts, "micro"),
               "au_auc": float(np.nanmean(auc)) if (~np.isnan(auc)).any() else float("nan"),
               "au_auc_pr": float(np.nanmean(ap)) if (~np.isnan(ap)).any() else float("nan")}
    metrics.update({f"f1_{name}": float(v) for name, v in zip(names, per_f1, strict=True)})
    per_au = {"f1": per_f1, "auc": auc, "auc_pr": ap, "support": counts[:, 1, :].sum(axis=1)}
    return metrics, per_au


class _MultilabelEngine:
    """AU F1 (macro, micro, per AU) for many bootstrap weight rows at once.

    The statistics step weighted: per-label counts ``W @ [t, p, t & p]`` make a stack of
    2 x 2 confusion matrices (b, L, 2, 2); the final step is the functions'. Same interface
    as the bootstrap engine (``n``, ``keys``, ``estimate``, ``__call__``).
    """

    def __init__(self, t: np.ndarray, s: np.ndarray, threshold: float,
                 names: tuple[str, ...]) -> None:
        predicted = s > threshold
        self.n = t.shape[0]
        self._features = np.concatenate([t, predicted, t & predicted], axis=1).astype(float)
        self._size = t.shape[1]
        self._names = names
        self.keys = ["au_f1", "au_f1_micro", *(f"f1_{name}" for name in names)]

    def _counts(self, weights: np.ndarray) -> np.ndarray:
        size = self._size
        sums = weights @ self._features
        pos_true, pos_pred, tp = (sums[:, i * size:(i + 1) * size] for i in range(3))
        n = weights.sum(axis=1)[:, None]
        cells = [n - pos_true - pos_pred + tp, pos_pred - tp, pos_true - tp, tp]
        return np.stack(cells, axis=-1).reshape(weights.shape[0], size, 2, 2)

    def _named(self, macro: np.ndarray, micro: np.ndarray, per: np.ndarray
               ) -> dict[str, np.ndarray]:
        out = {"au_f1": macro, "au_f1_micro": micro}
        out.update({f"f1_{name}": per[..., j] for j, name in enumerate(self._names)})
        return out

    def __call__(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        cms = self._counts(weights)
        with np.errstate(invalid="ignore", divide="ignore"):
            return self._named(_multilabel_f1_batch(cms, "macro", 0.0),
                               _multilabel_f1_batch(cms, "micro", 0.0),
                               _multilabel_f1_batch(cms, None, 0.0))

    def estimate(self, warn: bool = True) -> dict[str, float]:
        cms = self._counts(np.ones((1, self.n)))[0].astype(np.int64)
        with warnings.catch_warnings():
            if not warn:
                warnings.simplefilter("ignore", UndefinedMetricWarning)
            values = self._named(np.asarray(_multilabel_f1_from_counts(cms, "macro")),
                                 np.asarray(_multilabel_f1_from_counts(cms, "micro")),
                                 np.asarray(_multilabel_f1_from_counts(cms, None)))
        return {key: float(value) for key, value in values.items()}
