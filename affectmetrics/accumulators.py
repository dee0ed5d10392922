"""Streaming, mergeable accumulators: update batch by batch, merge across workers, compute.

Both accumulators hold only the statistics step of their metrics (mergeable moments; a
confusion matrix plus scores or histograms) and call the same final steps as the functions,
so that any split of the data, merged in any order, gives the one-shot result.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ._moments import (
    _BLOCK_ROWS,
    _ccc_from_moments,
    _checked_moments,
    _empty_moments,
    _icc_from_moments,
    _merge_moments,
    _Moments,
    _moments,
    _pearson_from_moments,
    _rmse_from_moments,
    _sagr_from_moments,
)
from ._scores import _check_score_kind, _probability_rows
from ._validation import (
    _as_numeric,
    _caller_position,
    _check_classification,
    _check_continuous,
    _check_labels_arg,
    _check_nan_policy,
    _first_position,
    _fmt_value,
)
from .agreement import _alpha_from_cm
from .classification import _confusion, _confusion_results
from .ranking import _class_counts, _RankCounts, _score_from_counts

__all__ = ["ClassificationAccumulator", "ContinuousAccumulator"]

# Version 2: no None entries (exact mode writes bins=0), the score rule ("scores") and the
# exact scores after it ("scores_seen").
_STATE_VERSION = 2
_READABLE_VERSIONS = (2,)


def _check_state_kind(state: dict[str, Any], kind: str, keys: set[str]) -> None:
    """The state is a dict of ``kind`` in a readable version, with exactly ``keys``."""
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict from state_dict(), got {type(state).__name__}")
    found = _entry_str(state, "kind")
    if found != kind:
        raise ValueError(f"state is for {found!r}, not for {kind!r}")
    version = _entry_int(state, "version")
    if version not in _READABLE_VERSIONS:
        raise ValueError(
            f"state has version {version!r}; this affectmetrics reads versions "
            f"{_READABLE_VERSIONS}"
        )
    missing = sorted(keys - state.keys())
    if missing:
        raise ValueError(f"state is missing the entries {missing}")
    unknown = sorted(str(key) for key in state.keys() - keys)
    if unknown:
        raise ValueError(f"state has unknown entries {unknown}")


def _entry(state: dict[str, Any], key: str) -> Any:
    if key not in state:
        raise ValueError(f"state is missing the entry {key!r}")
    value = state[key]
    return value.item() if isinstance(value, np.ndarray) and value.ndim == 0 else value


def _entry_str(state: dict[str, Any], key: str) -> str:
    value = _entry(state, key)
    if not isinstance(value, str):
        raise ValueError(f"state entry {key!r} must be a string, got {value!r}")
    return value


def _entry_int(state: dict[str, Any], key: str, minimum: int | None = None) -> int:
    value = _entry(state, key)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"state entry {key!r} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"state entry {key!r} must be >= {minimum}, got {value}")
    return int(value)


def _entry_array(state: dict[str, Any], key: str) -> np.ndarray:
    """An array entry holding numbers (a ragged list or objects are refused by name)."""
    value = _entry(state, key)
    try:
        arr = np.asarray(value)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"state entry {key!r} could not be read as an array: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"state entry {key!r} must hold numbers, got dtype {arr.dtype}")
    return arr


#: Counts above this are refused: no data set has 2**62 samples, and sums of counts (the
#: sample total, the marginals) must not overflow int64. Products of counts are taken in
#: float64 by the final steps (kappa's marginals, the U statistic).
_MAX_COUNT = 2**62


def _entry_counts(state: dict[str, Any], key: str, shape: tuple[int, ...]) -> np.ndarray:
    """An array entry of non-negative integer counts of the given shape (a copy, int64)."""
    arr = _entry_array(state, key)
    if arr.size == 0:
        arr = arr.reshape(shape) if arr.size == int(np.prod(shape)) else arr
    if arr.shape != shape:
        raise ValueError(f"state entry {key!r} has shape {arr.shape}, expected {shape}")
    if arr.dtype.kind == "f" and not (np.isfinite(arr) & (arr == np.round(arr))).all():
        raise ValueError(f"state entry {key!r} must hold integers")
    if (arr < 0).any():
        pos = _first_position(arr < 0)
        raise ValueError(f"state entry {key!r} has the negative count "
                         f"{_fmt_value(arr[pos])} at position {pos}")
    # Compared before the cast: a float or uint64 beyond int64 would wrap to a negative.
    too_big = arr > _MAX_COUNT
    if too_big.any() or float(np.sum(arr, dtype=np.float64)) > _MAX_COUNT:
        pos = _first_position(too_big) if too_big.any() else None
        where = f" ({_fmt_value(arr[pos])} at position {pos})" if pos is not None else ""
        raise ValueError(f"state entry {key!r} counts more than 2**62 samples{where}")
    return arr.astype(np.int64)


def _state_to_json(state: dict[str, Any]) -> str:
    """Strict JSON (no NaN or inf literals) of a state dict; arrays keep dtype and shape."""
    out: dict[str, Any] = {}
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            flat = value.reshape(-1)
            if value.dtype.kind == "f":
                data: list[Any] = [
                    float(v) if np.isfinite(v) else ("inf" if v > 0 else "-inf") for v in flat
                ]
            else:
                data = flat.tolist()
            out[key] = {"dtype": value.dtype.str, "shape": list(value.shape), "data": data}
        elif isinstance(value, tuple):
            out[key] = list(value)
        else:
            out[key] = value
    return json.dumps(out, allow_nan=False)


def _state_from_json(text: str) -> dict[str, Any]:
    """Inverse of :func:`_state_to_json` (the checks are ``from_state_dict``'s)."""
    try:
        raw = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"state is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"state JSON must be an object, got {type(raw).__name__}")
    state: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, dict) and set(value) == {"dtype", "shape", "data"}:
            try:
                dtype = np.dtype(value["dtype"])
            except (TypeError, ValueError):
                raise ValueError(f"state entry {key!r} has the unknown dtype "
                                 f"{value['dtype']!r}") from None
            if dtype.kind not in "biuf":
                raise ValueError(f"state entry {key!r} has the dtype {dtype}")
            try:
                data = [float(v) if isinstance(v, str) else v for v in value["data"]]
                state[key] = np.array(data, dtype=dtype).reshape(value["shape"])
            except (TypeError, ValueError) as exc:
                raise ValueError(f"state entry {key!r} could not be read: {exc}") from None
        else:
            state[key] = value
    return state


def _check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _as_columns(t: np.ndarray, p: np.ndarray, num_outputs: int, true_name: str
                ) -> tuple[np.ndarray, np.ndarray]:
    """Validated (n,) or (n, k) arrays as (n, num_outputs), or a clear error."""
    if t.ndim == 1:
        if num_outputs != 1:
            raise ValueError(
                f"{true_name} is 1-D but num_outputs={num_outputs}; pass (n, {num_outputs}) "
                "arrays"
            )
        return t[:, None], p[:, None]
    if t.shape[1] != num_outputs:
        raise ValueError(
            f"{true_name} has {t.shape[1]} columns (shape {t.shape}) but num_outputs="
            f"{num_outputs}"
        )
    return t, p


def _continuous_batch(
    y_true: Any,
    y_pred: Any,
    num_outputs: int,
    nan_policy: str,
    names: tuple[str, str] = ("y_true", "y_pred"),
) -> tuple[_Moments | None, int]:
    """Validate one batch and summarise it: (moments or None if empty, rows omitted)."""
    t, p, n_omitted = _check_continuous(
        y_true, y_pred, nan_policy=nan_policy, allow_empty=True, names=names
    )
    t, p = _as_columns(t, p, num_outputs, names[0])
    return (_moments(t, p) if t.shape[0] else None), n_omitted


def _continuous_results(m: _Moments) -> dict[str, np.ndarray]:
    """The final step shared by the accumulator and the adapters."""
    return {
        "ccc": _ccc_from_moments(m),
        "pearson": _pearson_from_moments(m),
        "rmse": _rmse_from_moments(m),
        "sagr": _sagr_from_moments(m),
        "icc": _icc_from_moments(m, "3,1"),
    }


def _check_score_options(bins: int | None, score_range: Any
                         ) -> tuple[int | None, tuple[float, float]]:
    """Validated ``bins`` and ``score_range`` of binned AUC (accumulators and adapters)."""
    bins = None if bins is None else _check_positive_int(bins, "bins")
    message = (f"score_range must be two finite numbers lo < hi (with a finite hi - lo), "
               f"got {score_range!r}")
    try:
        if isinstance(score_range, (str, bytes)):
            raise TypeError(message)
        lo, hi = (float(v) for v in score_range)
    except (TypeError, ValueError):  # not a pair, or not numbers
        raise ValueError(message) from None
    # The width must be finite too: (-1.5e308, 1.5e308) would scale every score to bin 0.
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi and np.isfinite(hi - lo)):
        raise ValueError(message)
    return bins, (lo, hi)


def _bin_index(y_score: np.ndarray, bins: int, score_range: tuple[float, float],
               name: str = "y_score", rows: np.ndarray | None = None) -> np.ndarray:
    """Bin of every score; ``rows`` (the caller's row numbers after omitted rows, or None)
    names the caller's position of a score outside ``score_range``."""
    lo, hi = score_range
    outside = (y_score < lo) | (y_score > hi)
    if outside.any():
        pos = _first_position(outside)
        raise ValueError(
            f"{name} has the value {_fmt_value(y_score[pos])} at position "
            f"{_caller_position(pos, rows)}, outside "
            f"score_range {score_range}; binned mode needs scores in that range "
            "(e.g. probabilities), or bins=None"
        )
    scaled = (y_score.astype(np.float64) - lo) * (bins / (hi - lo))
    return np.minimum(scaled.astype(np.intp), bins - 1)


def _histograms(codes: np.ndarray, y_score: np.ndarray, bins: int,
                score_range: tuple[float, float], name: str = "y_score",
                rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-class histograms (C, bins) of the positives' and the negatives' scores."""
    n_classes = y_score.shape[1]
    flat = (_bin_index(y_score, bins, score_range, name, rows)
            + (np.arange(n_classes) * bins)[None, :])
    every = np.bincount(flat.reshape(-1), minlength=n_classes * bins)
    own = np.bincount(flat[np.arange(codes.shape[0]), codes], minlength=n_classes * bins)
    return own.reshape(n_classes, bins), (every - own).reshape(n_classes, bins)


def _histogram_error_bounds(pos_hist: np.ndarray, neg_hist: np.ndarray
                            ) -> dict[str, np.ndarray]:
    """Per-row bounds on the binning error of AUC and AP from histograms (rows: classes or
    labels); nan where the metric is undefined. Only pairs in one bin can be misordered."""
    size = pos_hist.shape[0]
    auc, ap = np.full(size, np.nan), np.full(size, np.nan)
    for k, (pos, neg) in enumerate(zip(pos_hist, neg_hist, strict=True)):
        n_pos, n_neg = int(pos.sum()), int(neg.sum())
        if n_pos and n_neg:  # in float64: the int64 dot product overflows beyond ~3e9
            auc[k] = float(np.dot(pos.astype(np.float64), neg)) / (2.0 * n_pos * n_neg)
        if n_pos:
            above_pos = n_pos - np.cumsum(pos)
            above_neg = n_neg - np.cumsum(neg)
            high = (above_pos + pos) / np.maximum(above_pos + above_neg + pos, 1)
            low = (above_pos + 1) / (above_pos + above_neg + 1 + neg)
            ap[k] = float(np.sum(np.where(pos > 0, pos / n_pos * (high - low), 0.0)))
    return {"auc": auc, "auc_pr": ap}


def _histogram_counts(pos_hist: np.ndarray, neg_hist: np.ndarray) -> list[_RankCounts]:
    """Per-threshold counts from histograms: samples in one bin count as tied."""
    counts = []
    for pos, neg in zip(pos_hist, neg_hist, strict=True):
        has_pos = pos > 0
        below = np.cumsum(neg) - neg
        counts.append(_RankCounts(pos[has_pos], neg[has_pos], below[has_pos],
                                  int(pos.sum()), int(neg.sum())))
    return counts


def _empty_counts(n_classes: int) -> list[_RankCounts]:
    empty = np.zeros(0, np.int64)
    return [_RankCounts(empty, empty, empty, 0, 0)] * n_classes


def _classification_results(cm: np.ndarray, counts: list[_RankCounts] | None,
                            labels: np.ndarray) -> dict[str, float]:
    """The final step shared by the accumulator and the adapters (counts None: no AUC)."""
    results: dict[str, float] = {
        **_confusion_results(cm),
        "krippendorff_alpha": _alpha_from_cm(cm, labels, "nominal"),
    }
    if counts is not None:
        results["auc"] = _score_from_counts("roc_auc", counts, labels, "macro")
        results["auc_pr"] = _score_from_counts("pr_auc", counts, labels, "macro")
    return results


class ContinuousAccumulator:
    """Streaming CCC, Pearson's r, RMSE, SAGR and ICC(3,1) for ``num_outputs`` columns.

    The state is the mergeable moments of ``_moments.py`` (Chan et al.'s pairwise update,
    never raw sums of squares), so the result stays exact for data far from zero, and
    merging the states of any split of the data, in any order, equals the one-shot result
    to rounding (1e-12 relative).

    Parameters
    ----------
    num_outputs : int, default 1
        Number of columns (2 for valence and arousal).
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` drops rows with a NaN; their number is in :attr:`n_omitted`.

    Examples
    --------
    >>> import numpy as np
    >>> import affectmetrics as am
    >>> acc = am.ContinuousAccumulator(num_outputs=2)
    >>> truth = np.array([[0.1, 0.5], [0.4, -0.2], [-0.3, 0.0], [0.8, 0.3]])
    >>> pred = np.array([[0.2, 0.4], [0.3, -0.1], [-0.1, 0.1], [0.6, 0.2]])
    >>> acc.update(truth[:2], pred[:2])
    >>> acc.update(truth[2:], pred[2:])
    >>> bool(np.allclose(acc.compute()["ccc"], am.ccc(truth, pred), rtol=1e-12))
    True
    """

    def __init__(self, num_outputs: int = 1, *, nan_policy: str = "raise") -> None:
        self.num_outputs = _check_positive_int(num_outputs, "num_outputs")
        _check_nan_policy(nan_policy)
        self.nan_policy = nan_policy
        self.reset()

    def reset(self) -> None:
        """Forget every sample seen."""
        self._summary = _empty_moments(self.num_outputs)
        # Small batches wait here and are summarised a block at a time: one pass and one
        # merge per block instead of per batch (a training loop's 256-sample updates).
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_rows = 0
        self.n_omitted = 0

    def _flush(self) -> None:
        """Summarise the pending batches into the moments."""
        if self._pending:
            t = np.concatenate([t for t, _ in self._pending])
            p = np.concatenate([p for _, p in self._pending])
            self._summary = _merge_moments(self._summary, _moments(t, p))
            self._pending, self._pending_rows = [], 0

    @property
    def _state(self) -> _Moments:
        """The summary of everything seen (pending batches included)."""
        self._flush()
        return self._summary

    @_state.setter
    def _state(self, value: _Moments) -> None:
        self._summary, self._pending, self._pending_rows = value, [], 0

    @property
    def n_samples(self) -> int:
        """Samples accumulated so far (after omitting NaN rows)."""
        return self._summary.n + self._pending_rows

    def update(self, y_true: Any, y_pred: Any) -> None:
        """Add a batch: arrays of shape ``(n,)`` (one output) or ``(n, num_outputs)``."""
        t, p, n_omitted = _check_continuous(y_true, y_pred, nan_policy=self.nan_policy,
                                            allow_empty=True)
        t, p = _as_columns(t, p, self.num_outputs, "y_true")
        self.n_omitted += n_omitted
        if t.shape[0] == 0:
            return
        if t.shape[0] >= _BLOCK_ROWS:
            self._summary = _merge_moments(self._state, _moments(t, p))
            return
        self._pending.append((np.array(t), np.array(p)))  # copies: callers reuse buffers
        self._pending_rows += t.shape[0]
        if self._pending_rows >= _BLOCK_ROWS:
            self._flush()

    def merge(self, other: ContinuousAccumulator) -> ContinuousAccumulator:
        """Add the samples of ``other`` (left unchanged) to this accumulator; returns self."""
        if not isinstance(other, ContinuousAccumulator):
            raise TypeError(
                f"can only merge a ContinuousAccumulator, got {type(other).__name__}"
            )
        if other.num_outputs != self.num_outputs:
            raise ValueError(
                f"cannot merge accumulators with num_outputs={self.num_outputs} and "
                f"{other.num_outputs}"
            )
        self._state = _merge_moments(self._state, other._state)
        self.n_omitted += other.n_omitted
        return self

    def compute(self) -> dict[str, np.ndarray]:
        """The five metrics, each an array of length ``num_outputs``.

        Returns
        -------
        dict
            ``{"ccc", "pearson", "rmse", "sagr", "icc"}`` (ICC(3,1)) to arrays of shape
            ``(num_outputs,)``;
            undefined values are nan with an :class:`UndefinedMetricWarning`.
        """
        return _continuous_results(self._state)

    def state_dict(self) -> dict[str, Any]:
        """The state as plain values and arrays, for checkpoints and between processes.

        Every entry is a string, an int or a NumPy array (never None or an object), so the
        dict round-trips through ``np.savez``/``np.load`` without ``allow_pickle`` (see
        :meth:`to_json` for strict JSON).
        """
        return {
            "kind": "continuous",
            "version": _STATE_VERSION,
            "num_outputs": self.num_outputs,
            "nan_policy": self.nan_policy,
            "n_omitted": self.n_omitted,
            **self._state.to_dict(),
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> ContinuousAccumulator:
        """Rebuild an accumulator from :meth:`state_dict` output (or its ``np.load``).

        Raises
        ------
        ValueError
            Naming the entry, for a state that no data could have produced: missing or
            unknown entries, wrong shapes, negative or fractional counts, agreements above
            n, non-finite moments, negative sums of squares, inconsistent constancy
            (``m2 == 0`` exactly for a constant column), a cross product beyond
            Cauchy-Schwarz, ``mean_diff`` other than ``mean_true - mean_pred``, and ``sse``
            outside ``[n mean_diff**2, n d**2]`` (``d``: the largest error the extremes allow).
        """
        keys = {"kind", "version", "num_outputs", "nan_policy", "n_omitted",
                *_empty_moments(1).to_dict()}
        _check_state_kind(state, "continuous", keys)
        nan_policy = _entry_str(state, "nan_policy")
        _check_nan_policy(nan_policy)
        acc = cls(_entry_int(state, "num_outputs", 1), nan_policy=nan_policy)
        moments = _checked_moments(state)
        if moments.num_outputs != acc.num_outputs:
            raise ValueError(
                f"state holds {moments.num_outputs} outputs but num_outputs is "
                f"{acc.num_outputs}"
            )
        acc._state = moments
        acc.n_omitted = _entry_int(state, "n_omitted", 0)
        return acc

    def to_json(self) -> str:
        """The state as strict JSON (``json.dumps(..., allow_nan=False)``).

        Arrays are ``{"dtype", "shape", "data"}`` objects; the infinite bounds of a varying
        column are the strings ``"inf"`` and ``"-inf"``. Floats are written with ``repr``,
        so :meth:`from_json` restores the state bit for bit.
        """
        return _state_to_json(self.state_dict())

    @classmethod
    def from_json(cls, text: str) -> ContinuousAccumulator:
        """Rebuild an accumulator from :meth:`to_json` output (checked as
        :meth:`from_state_dict`)."""
        return cls.from_state_dict(_state_from_json(text))

    def __repr__(self) -> str:
        return (f"ContinuousAccumulator(num_outputs={self.num_outputs}, "
                f"n_samples={self.n_samples})")


class ClassificationAccumulator:
    """Streaming accuracy, macro F1, UAR, Cohen's kappa, Krippendorff's alpha, ROC AUC and AUC-PR.

    The state is the confusion matrix (of the arg-max predictions) plus, for the ranking
    metrics, either

    * the scores themselves (``bins=None``, the default): exact, memory O(n·C); or
    * per-class histograms of the positives' and the negatives' scores over ``bins`` equal
      bins of ``score_range`` (``bins=N``): memory O(C·bins), whatever n.

    Binned mode computes the exact metrics of the scores rounded to their bins. Only pairs
    of a positive and a negative that fall in the same bin can be misordered, so for each
    class, with ``p_b`` positives and ``n_b`` negatives in bin b,

    .. math::

        |\\mathrm{AUC}_{binned} - \\mathrm{AUC}| \\le \\frac{\\sum_b p_b n_b}{2 P N}

    and, with ``a_b``, ``f_b`` the positives and negatives above bin b,

    .. math::

        |\\mathrm{AP}_{binned} - \\mathrm{AP}| \\le \\sum_b \\frac{p_b}{P}
        \\left(\\frac{a_b + p_b}{a_b + f_b + p_b} - \\frac{a_b + 1}{a_b + f_b + 1 + n_b}\\right),

    both computed on the data by :meth:`error_bounds`. With well-spread scores the AUC bound
    shrinks like 1/bins.

    Parameters
    ----------
    num_classes : int
        Number of classes C (columns of the score matrix).
    bins : int, optional
        Use O(C·bins) histograms instead of keeping the scores (``0`` or None: exact).
    score_range : (float, float), default (0.0, 1.0)
        Range of the scores in binned mode, after the score rule (so probabilities, also
        for a model that outputs logits); a score outside it is an error.
    labels : array-like of shape (C,), optional
        Class labels of the columns, in order. Default ``range(C)``.
    scores : {"auto", "probabilities", "logits", "raw"}, default "auto"
        What a row of the score matrix is, as for :func:`~affectmetrics.roc_auc`: every
        row is ranked after the same per-row rule, so any batching of logits or of their
        probabilities gives the one-shot functions' values.
    nan_policy : {"raise", "omit"}, default "raise"

    Notes
    -----
    A refused batch (bad shape, NaN, inf, unknown label, score outside ``score_range``)
    raises before anything is changed: the state is exactly as it was.

    Examples
    --------
    >>> import affectmetrics as am
    >>> acc = am.ClassificationAccumulator(num_classes=2)
    >>> acc.update([0, 1], [[0.9, 0.1], [0.2, 0.8]])
    >>> acc.update([1, 0], [[0.6, 0.4], [0.7, 0.3]])
    >>> result = acc.compute()
    >>> # arg-max misses the third sample; yet every positive outscores every negative
    >>> result["accuracy"], result["auc"]
    (0.75, 1.0)
    """

    def __init__(
        self,
        num_classes: int,
        *,
        bins: int | None = None,
        score_range: tuple[float, float] = (0.0, 1.0),
        labels: Any = None,
        scores: str = "auto",
        nan_policy: str = "raise",
    ) -> None:
        self.num_classes = _check_positive_int(num_classes, "num_classes")
        self.bins, self.score_range = _check_score_options(bins or None, score_range)
        self.labels = (np.arange(self.num_classes) if labels is None
                       else _check_labels_arg(labels))
        if self.labels.shape[0] != self.num_classes:
            raise ValueError(
                f"labels has {self.labels.shape[0]} entries but num_classes is {self.num_classes}"
            )
        self.scores = _check_score_kind(scores)
        _check_nan_policy(nan_policy)
        self.nan_policy = nan_policy
        self.reset()

    def reset(self) -> None:
        """Forget every sample seen."""
        c = self.num_classes
        self._confusion = np.zeros((c, c), dtype=np.int64)
        self._codes: list[np.ndarray] = []
        self._preds: list[np.ndarray] = []
        self._scores: list[np.ndarray] = []
        # Exact mode folds stored chunks into the confusion matrix lazily, so that an update
        # is validation plus a few copies (a training loop's small batches).
        self._chunks_counted = 0
        if self.bins is not None:
            self._pos_hist = np.zeros((c, self.bins), dtype=np.int64)
            self._neg_hist = np.zeros((c, self.bins), dtype=np.int64)
        self.n_omitted = 0

    def _count_chunks(self) -> None:
        """Add the stored chunks not yet counted to the confusion matrix."""
        done = self._chunks_counted
        for codes, preds in zip(self._codes[done:], self._preds[done:], strict=True):
            self._confusion += _confusion(codes, preds, self.num_classes)
        self._chunks_counted = len(self._codes)

    @property
    def n_samples(self) -> int:
        """Samples accumulated so far (after omitting NaN rows)."""
        self._count_chunks()
        return int(self._confusion.sum())

    @property
    def confusion_matrix(self) -> np.ndarray:
        """The confusion matrix so far (rows: truth, columns: arg-max prediction)."""
        self._count_chunks()
        return self._confusion.copy()

    def update(self, y_true: Any, y_score: Any) -> None:
        """Add a batch: labels ``(n,)`` and an ``(n, num_classes)`` score matrix.

        Everything is checked before the state changes: a refused batch leaves it as it was.
        """
        score_arr = _as_numeric(y_score, "y_score")
        if score_arr.ndim != 2:
            raise ValueError(
                f"y_score must be an (n, {self.num_classes}) score matrix; got shape "
                f"{score_arr.shape}"
            )
        data = _check_classification(
            y_true, score_arr, labels=self.labels, nan_policy=self.nan_policy,
            scores=True, score_kind=self.scores, pred_name="y_score", allow_empty=True,
            labels_checked=True,
        )
        codes, preds, scores = data.y_true, data.y_pred, data.y_score
        if codes.shape[0] == 0:
            self.n_omitted += data.n_omitted
            return
        if self.bins is None:
            # Copies: callers reuse their buffers.
            chunk = (np.array(codes, dtype=np.intp), np.array(preds, dtype=np.intp),
                     np.array(scores, dtype=np.float64))
            self._codes.append(chunk[0])
            self._preds.append(chunk[1])
            self._scores.append(chunk[2])
        else:
            # May refuse a score outside score_range: computed before anything changes.
            pos, neg = _histograms(codes, scores, self.bins, self.score_range,
                                   rows=data.rows)
            cm = _confusion(codes, preds, self.num_classes)
            self._pos_hist += pos
            self._neg_hist += neg
            self._confusion += cm
        self.n_omitted += data.n_omitted

    def _check_compatible(self, other: ClassificationAccumulator) -> None:
        if not isinstance(other, ClassificationAccumulator):
            raise TypeError(
                f"can only merge a ClassificationAccumulator, got {type(other).__name__}"
            )
        mine = (self.num_classes, self.bins, self.score_range, self.scores)
        theirs = (other.num_classes, other.bins, other.score_range, other.scores)
        if mine != theirs or not np.array_equal(self.labels, other.labels):
            raise ValueError(
                "cannot merge accumulators with different (num_classes, bins, score_range, "
                f"scores) or labels: {mine} with labels {self.labels.tolist()} and {theirs} "
                f"with labels {other.labels.tolist()}"
            )

    def merge(self, other: ClassificationAccumulator) -> ClassificationAccumulator:
        """Add the samples of ``other`` (left unchanged) to this accumulator; returns self."""
        self._check_compatible(other)
        self._count_chunks()
        other._count_chunks()
        self._confusion = self._confusion + other._confusion
        self._codes = self._codes + other._codes
        self._preds = self._preds + other._preds
        self._scores = self._scores + other._scores
        self._chunks_counted = len(self._codes)
        if self.bins is not None:
            self._pos_hist = self._pos_hist + other._pos_hist
            self._neg_hist = self._neg_hist + other._neg_hist
        self.n_omitted += other.n_omitted
        return self

    def _compact(self) -> None:
        """Count the stored chunks and join them into one (later calls do not join again)."""
        self._count_chunks()
        if len(self._codes) > 1:
            self._codes = [np.concatenate(self._codes)]
            self._preds = [np.concatenate(self._preds)]
            self._scores = [np.concatenate(self._scores)]
            self._chunks_counted = 1

    def _rank_counts(self) -> list[_RankCounts]:
        if self.bins is not None:
            return _histogram_counts(self._pos_hist, self._neg_hist)
        if not self._scores:
            return _empty_counts(self.num_classes)
        self._compact()
        return _class_counts(self._codes[0], self._scores[0])

    def compute(self) -> dict[str, float]:
        """Every metric over the samples so far.

        Returns
        -------
        dict
            ``accuracy``, ``f1`` (macro), ``uar``, ``kappa``, ``krippendorff_alpha`` (nominal),
            ``auc`` and ``auc_pr`` (macro one-vs-rest), as floats.
        """
        counts = self._rank_counts()
        self._count_chunks()
        return _classification_results(self._confusion, counts, self.labels)

    def error_bounds(self) -> dict[str, np.ndarray]:
        """Per-class bounds on the binning error of AUC and AP (zeros in exact mode).

        See the class docstring for the formulas; a class whose metric is undefined gets nan.
        """
        if self.bins is None:
            return {"auc": np.zeros(self.num_classes), "auc_pr": np.zeros(self.num_classes)}
        return _histogram_error_bounds(self._pos_hist, self._neg_hist)

    def state_dict(self) -> dict[str, Any]:
        """The state as plain values and arrays, for checkpoints and between processes.

        Every entry is a string, an int or a NumPy array (never None or an object: exact
        mode writes ``bins=0``), so the dict round-trips through ``np.savez``/``np.load``
        without ``allow_pickle`` (see :meth:`to_json` for strict JSON). Exact mode holds
        ``codes`` (n,) and the scores after the score rule (n, C); binned mode the
        histograms ``pos_hist`` and ``neg_hist`` (C, bins).
        """
        self._compact()
        c = self.num_classes
        state: dict[str, Any] = {
            "kind": "classification",
            "version": _STATE_VERSION,
            "num_classes": c,
            "bins": 0 if self.bins is None else self.bins,
            "score_range": np.array(self.score_range, dtype=np.float64),
            "labels": self.labels.copy(),
            "scores": self.scores,
            "nan_policy": self.nan_policy,
            "n_omitted": self.n_omitted,
            "confusion": self._confusion.copy(),
        }
        if self.bins is None:
            state["codes"] = (self._codes[0].astype(np.int64) if self._codes
                              else np.zeros(0, dtype=np.int64))
            state["scores_seen"] = (self._scores[0].copy() if self._scores
                                    else np.zeros((0, c)))
        else:
            state["pos_hist"] = self._pos_hist.copy()
            state["neg_hist"] = self._neg_hist.copy()
        return state

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> ClassificationAccumulator:
        """Rebuild an accumulator from :meth:`state_dict` output (or its ``np.load``).

        Raises
        ------
        ValueError
            Naming the entry, for a state that no data could have produced: missing or
            unknown entries, wrong shapes, negative or fractional counts, counts beyond
            2**62, class codes out of range, NaN or infinite scores, scores that are not
            probability vectors under any rule but ``"raw"``, or parts that disagree (the
            codes or the histograms against the confusion matrix's row sums).
        """
        if not isinstance(state, dict):
            _check_state_kind(state, "classification", set())
        # The mode decides which entries belong: read 'bins' first, so that a bad value is
        # named as such rather than as missing histograms.
        bins = _entry_int(state, "bins", 0) if "bins" in state else 0
        exact = bins == 0
        keys = {"kind", "version", "num_classes", "bins", "score_range", "labels", "scores",
                "nan_policy", "n_omitted", "confusion"}
        keys |= {"codes", "scores_seen"} if exact else {"pos_hist", "neg_hist"}
        _check_state_kind(state, "classification", keys)
        score_range = _entry_array(state, "score_range")
        if score_range.shape != (2,) or score_range.dtype.kind not in "iuf":
            raise ValueError(f"state entry 'score_range' must be two numbers, got "
                             f"{score_range.tolist()!r}")
        nan_policy = _entry_str(state, "nan_policy")
        _check_nan_policy(nan_policy)
        labels = _entry(state, "labels")
        if labels is None:
            # state_dict() always writes the labels (None would silently mean range(C)).
            raise ValueError("state entry 'labels' must be a 1-D array of class labels, "
                             "got None")
        # The arrays are read (and their shapes checked) before the accumulator is built, so
        # that a state claiming, say, 10**12 bins is refused, not allocated.
        c = _entry_int(state, "num_classes", 1)
        confusion = _entry_counts(state, "confusion", (c, c))
        if not exact:
            hists = {name: _entry_counts(state, name, (c, bins))
                     for name in ("pos_hist", "neg_hist")}
        acc = cls(
            c,
            bins=None if exact else bins,
            score_range=(float(score_range[0]), float(score_range[1])),
            labels=labels,
            scores=_entry_str(state, "scores"),
            nan_policy=nan_policy,
        )
        support = confusion.sum(axis=1)
        n = int(support.sum())
        if acc.bins is None:
            codes = _entry_counts(state, "codes", (n,))
            if (codes >= c).any():
                pos = _first_position(codes >= c)
                raise ValueError(f"state entry 'codes' has the class code {int(codes[pos])} "
                                 f"at position {pos}; codes lie in 0..{c - 1}")
            if not np.array_equal(np.bincount(codes, minlength=c), support):
                raise ValueError("state entries 'codes' and 'confusion' disagree on the "
                                 "samples of each class")
            scores = _entry_array(state, "scores_seen")
            if scores.shape != (n, c) and not (scores.size == 0 and n == 0):
                raise ValueError(f"state entry 'scores_seen' has shape {scores.shape}, "
                                 f"expected {(n, c)}")
            scores = scores.astype(np.float64).reshape(n, c)
            if not np.isfinite(scores).all():
                pos = _first_position(~np.isfinite(scores))
                raise ValueError(f"state entry 'scores_seen' has the value "
                                 f"{_fmt_value(scores[pos])} at position {pos}; scores "
                                 "must be finite")
            if acc.scores != "raw" and n:
                # After the rule every row is a probability vector (kept or a softmax).
                bad = ~_probability_rows(np, scores)
                if bad.any():
                    row = int(np.argmax(bad))
                    raise ValueError(
                        f"state entry 'scores_seen' row {row} is not a probability vector "
                        f"(sum {float(scores[row].sum()):.6g}); under scores="
                        f"{acc.scores!r} every row is one after the score rule")
            if n:
                preds = np.zeros(n, dtype=np.intp)  # counted already: confusion is loaded
                acc._codes, acc._preds, acc._scores = [codes.astype(np.intp)], [preds], [scores]
                acc._chunks_counted = 1
        else:
            if not np.array_equal(hists["pos_hist"].sum(axis=1), support):
                raise ValueError("state entries 'pos_hist' and 'confusion' disagree on the "
                                 "samples of each class")
            if not np.array_equal(hists["neg_hist"].sum(axis=1), n - support):
                raise ValueError("state entries 'neg_hist' and 'confusion' disagree on the "
                                 "samples outside each class")
            acc._pos_hist, acc._neg_hist = hists["pos_hist"], hists["neg_hist"]
        acc._confusion = confusion
        acc.n_omitted = _entry_int(state, "n_omitted", 0)
        return acc

    def to_json(self) -> str:
        """The state as strict JSON (``json.dumps(..., allow_nan=False)``).

        Arrays are ``{"dtype", "shape", "data"}`` objects; floats are written with
        ``repr``, so :meth:`from_json` restores the state bit for bit.
        """
        return _state_to_json(self.state_dict())

    @classmethod
    def from_json(cls, text: str) -> ClassificationAccumulator:
        """Rebuild an accumulator from :meth:`to_json` output (checked as
        :meth:`from_state_dict`)."""
        return cls.from_state_dict(_state_from_json(text))

    def __repr__(self) -> str:
        mode = "exact" if self.bins is None else f"bins={self.bins}"
        return (f"ClassificationAccumulator(num_classes={self.num_classes}, {mode}, "
                f"n_samples={self.n_samples})")
