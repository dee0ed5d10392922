"""The one input-validation path shared by every metric, accumulator and adapter.

Every public function calls :func:`_check_continuous` or :func:`_check_classification`
(both built on :func:`_as_numeric`, :func:`_check_lengths` and :func:`_nonfinite_rows`), so
that errors read alike everywhere: they name the argument, the shapes found, or the
offending value and its position.

Validation never converts a whole array to float64: conversion happens block by block where
the statistics are computed (see ``_moments.py``), so float32 input costs no full-size copy.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._scores import _apply_score_rule, _check_score_kind

__all__: list[str] = []

_NAN_POLICIES = ("raise", "omit")
# Integer labels spanning at most this many values are encoded with a lookup table (O(n))
# instead of a sort.
_LUT_SPAN = 1 << 20


def _check_nan_policy(nan_policy: str) -> None:
    if nan_policy not in _NAN_POLICIES:
        raise ValueError(f"nan_policy must be 'raise' or 'omit', got {nan_policy!r}")


def _fmt_value(value: Any) -> str:
    """Format a label or data value for an error message (``3`` rather than ``3.0``)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return repr(value.item() if isinstance(value, np.generic) else value)


def _fmt_number(value: Any, decimals: int) -> str:
    """A table cell: ``decimals`` fixed decimals, in scientific notation from 1e15 on.

    Fixed-point writes every integer digit of a large value (the RMSE of data near 1e160 took
    161 characters, most of them beyond float64's 17 significant digits).
    """
    value = float(value)
    if np.isfinite(value) and abs(value) >= 1e15:
        return f"{value:.{decimals}e}"
    return f"{value:.{decimals}f}"


def _first_position(mask: np.ndarray) -> int | tuple[int, ...]:
    """Index (1-D) or index tuple (n-D) of the first True entry of ``mask``."""
    flat = int(np.argmax(mask.reshape(-1)))
    if mask.ndim == 1:
        return flat
    return tuple(int(i) for i in np.unravel_index(flat, mask.shape))


def _as_numeric(x: Any, name: str) -> np.ndarray:
    """Convert ``x`` to a numeric (bool, integer or float) array without copying if possible.

    Raises
    ------
    TypeError
        If ``x`` holds strings, complex numbers or other non-numeric objects.
    ValueError
        If ``x`` is ragged (rows of different lengths).
    """
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be an array of numbers, got the string {x!r}")
    try:
        arr = np.asarray(x)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(f"{name} could not be read as an array: {exc}") from None
    kind = arr.dtype.kind
    if kind in "biuf":
        return arr
    if kind in "USa":
        raise TypeError(
            f"{name} must hold numbers, got strings (dtype {arr.dtype}); "
            "encode class names as integers 0..C-1 first"
        )
    if kind == "O":
        if hasattr(x, "to_numpy"):  # pandas nullable dtypes: pd.NA is missing, like None
            try:
                return np.asarray(x.to_numpy(dtype=np.float64, na_value=np.nan))
            except (TypeError, ValueError):
                pass  # non-numeric entries: named below
        try:
            return arr.astype(np.float64)
        except (TypeError, ValueError):
            for pos in np.ndindex(arr.shape):
                value = arr[pos]
                try:
                    float(value)
                except (TypeError, ValueError):
                    where = pos[0] if arr.ndim == 1 else pos
                    raise TypeError(
                        f"{name} must hold numbers; found {type(value).__name__} "
                        f"{value!r} at position {where}"
                    ) from None
            raise  # pragma: no cover - astype failed but every element converts
    raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")


def _check_ndim(arr: np.ndarray, name: str, allowed: tuple[int, ...], what: str) -> None:
    if arr.ndim not in allowed:
        raise ValueError(f"{name} must be {what}; got a {arr.ndim}-D array of shape {arr.shape}")


def _check_lengths(allow_empty: bool = False, **arrays: np.ndarray) -> int:
    """Check that all arrays have the same number of samples (rows) and, unless
    ``allow_empty`` (a streaming update of an empty batch), at least one."""
    items = list(arrays.items())
    n = items[0][1].shape[0]
    for name, arr in items[1:]:
        if arr.shape[0] != n:
            raise ValueError(
                f"{items[0][0]} has {n} samples, {name} has {arr.shape[0]}; "
                "they must have the same length"
            )
    if n == 0 and not allow_empty:
        names = " and ".join(name for name, _ in items)
        raise ValueError(f"{names} are empty; at least one sample is needed")
    return n


def _nonfinite_rows(nan_policy: str, **arrays: np.ndarray) -> np.ndarray | None:
    """Refuse inf always and NaN under ``nan_policy="raise"``.

    Returns the boolean mask of rows to drop (NaN in any argument) under ``"omit"``,
    or ``None`` when every value is finite.
    """
    drop = None
    for name, arr in arrays.items():
        if arr.dtype.kind != "f":
            continue
        # Fast path: a finite sum proves there is no NaN or inf, without a boolean temporary.
        # An overflowing sum of finite values merely falls through to the exact check.
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(np.sum(arr)):
                continue
        inf = np.isinf(arr)
        if inf.any():
            pos = _first_position(inf)
            raise ValueError(
                f"{name} contains {int(inf.sum())} infinite value(s); the first is "
                f"{_fmt_value(arr[pos])} at position {pos}"
            )
        nan = np.isnan(arr)
        if not nan.any():
            continue
        if nan_policy == "raise":
            raise ValueError(
                f"{name} contains {int(nan.sum())} NaN value(s); the first is at position "
                f"{_first_position(nan)} (nan_policy='raise'; pass nan_policy='omit' to drop "
                "the samples that have a NaN)"
            )
        rows = nan if nan.ndim == 1 else nan.any(axis=tuple(range(1, nan.ndim)))
        drop = rows if drop is None else drop | rows
    return drop


def _omit(
    drop: np.ndarray | None, *arrays: np.ndarray, allow_empty: bool = False
) -> tuple[list[np.ndarray], int]:
    """Drop the rows in ``drop`` from every array; refuse if nothing is left."""
    if drop is None:
        return list(arrays), 0
    keep = ~drop
    n_omitted = int(drop.sum())
    if n_omitted == drop.shape[0] and not allow_empty:
        raise ValueError(
            f"every one of the {n_omitted} samples has a NaN; nothing is left to score "
            "after nan_policy='omit'"
        )
    return [a[keep] for a in arrays], n_omitted


def _check_continuous(
    y_true: Any,
    y_pred: Any,
    *,
    nan_policy: str = "raise",
    allow_empty: bool = False,
    names: tuple[str, str] = ("y_true", "y_pred"),
) -> tuple[np.ndarray, np.ndarray, int]:
    """Validate continuous targets and predictions.

    ``names`` are the argument names used in messages (adapters pass their own, such as
    ``("target", "preds")``).

    Returns
    -------
    y_true, y_pred : ndarray
        Numeric arrays of shape ``(n,)`` or ``(n, k)`` (not yet converted to float64).
    n_omitted : int
        Samples dropped under ``nan_policy="omit"``.
    """
    _check_nan_policy(nan_policy)
    true_name, pred_name = names
    t = _as_numeric(y_true, true_name)
    p = _as_numeric(y_pred, pred_name)
    for name, arr in ((true_name, t), (pred_name, p)):
        _check_ndim(arr, name, (1, 2), "1-D (n,) or 2-D (n, k)")
    _check_lengths(allow_empty, **{true_name: t, pred_name: p})
    if t.shape != p.shape:
        raise ValueError(
            f"{true_name} has shape {t.shape} but {pred_name} has shape {p.shape}; "
            "they must have the same shape"
        )
    if t.ndim == 2 and t.shape[1] == 0:
        raise ValueError(f"{true_name} and {pred_name} have no columns (shape {t.shape})")
    drop = _nonfinite_rows(nan_policy, **{true_name: t, pred_name: p})
    (t, p), n_omitted = _omit(drop, t, p, allow_empty=allow_empty)
    return t, p, n_omitted


def _check_continuous_keeping_nan(
    y_true: Any, y_pred: Any, nan_policy: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`_check_continuous` for callers that drop NaN rows themselves, after aligning
    them with other per-row data (group ids, frame positions).

    Returns the arrays with their NaN kept and, under ``nan_policy="omit"``, the boolean
    mask of rows with a NaN (None under ``"raise"``, which refuses NaN as usual).
    """
    _check_nan_policy(nan_policy)
    if nan_policy == "raise":
        t, p, _ = _check_continuous(y_true, y_pred)
        return t, p, None
    t = _as_numeric(y_true, "y_true")
    p = _as_numeric(y_pred, "y_pred")
    # every check but NaN's (NaN read as 0 here; inf is still refused)
    _check_continuous(*(np.nan_to_num(a, nan=0.0, posinf=np.inf, neginf=-np.inf)
                        for a in (t, p)))
    rows = _nonfinite_rows("omit", y_true=t, y_pred=p)
    return t, p, np.zeros(t.shape[0], dtype=bool) if rows is None else rows


@dataclass(frozen=True)
class _ClassData:
    """Validated classification input: class codes ``0..C-1`` into ``classes``."""

    y_true: np.ndarray  # (n,) intp codes
    y_pred: np.ndarray | None  # (n,) intp codes: the labels, or the arg-max of a score matrix
    y_score: np.ndarray | None  # (n, C), or (n, 1) for a 1-D binary score: scores to rank
    classes: np.ndarray  # (C,) the class labels, in code order
    n_omitted: int
    #: (n,) the caller's row number of each sample kept, or None when no row was dropped:
    #: errors raised after ``nan_policy="omit"`` name the caller's positions, not ours.
    rows: np.ndarray | None = None

    @property
    def predicted(self) -> np.ndarray | None:
        """Predicted codes: the labels given, or the arg-max (first maximum) of the score
        matrix as given (before the score rule; None for a 1-D binary score)."""
        return self.y_pred


def _as_labels(x: Any, name: str) -> np.ndarray:
    """Labels (or a score matrix) as numbers; every integer and bool dtype becomes int64.

    Narrow and unsigned integers would wrap when labels are shifted or compared with
    labels of another dtype (int8 ``100 - (-100)`` is -56), so they are widened once, here,
    for every function, accumulator and adapter. Floats pass unchanged: a float label that
    is an integer (``1.0``) is the class ``1``; any other (``1.5``) is a class of its own.
    """
    arr = _as_numeric(x, name)
    kind = arr.dtype.kind
    if kind == "b" or (kind == "i" and arr.dtype != np.int64):
        return arr.astype(np.int64)
    if kind == "u":
        if arr.dtype == np.uint64 and arr.size:
            too_big = arr > np.iinfo(np.int64).max
            if too_big.any():
                pos = _first_position(too_big)
                raise ValueError(
                    f"{name} has the value {int(arr[pos])} at position {pos}, beyond the int64 "
                    "range that class labels may take"
                )
        return arr.astype(np.int64)
    return arr


def _check_labels_arg(labels: Any) -> np.ndarray:
    classes = _as_labels(labels, "labels")
    _check_ndim(classes, "labels", (1,), "a 1-D list of class labels")
    if classes.size == 0:
        raise ValueError("labels is empty; give at least one class label")
    if classes.dtype.kind == "f" and not np.isfinite(classes).all():
        raise ValueError("labels must be finite numbers")
    uniq, counts = np.unique(classes, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"labels contains {_fmt_value(uniq[counts > 1][0])} more than once")
    # A copy: an accumulator keeps its labels, which must not follow the caller's array.
    return classes.copy()


def _integer_span(*arrays: np.ndarray) -> tuple[int, int] | None:
    """(min, max) when every array holds integers spanning at most ``_LUT_SPAN`` values."""
    arrays = tuple(a for a in arrays if a.size)
    if not arrays or not all(a.dtype.kind in "iu" for a in arrays):
        return None
    lo = min(int(a.min()) for a in arrays)
    hi = max(int(a.max()) for a in arrays)
    return (lo, hi) if hi - lo < _LUT_SPAN else None


def _union_of_labels(*arrays: np.ndarray) -> np.ndarray:
    """Sorted union of the labels seen, in O(n) for small integer labels."""
    span = _integer_span(*arrays)
    if span is None:
        if all(a.dtype.kind in "iu" for a in arrays):  # int64 beyond 2**53 stays exact
            return np.unique(np.concatenate(arrays))
        return np.unique(np.concatenate([a.astype(np.float64) for a in arrays]))
    lo, hi = span
    seen = np.zeros(hi - lo + 1, dtype=bool)
    for a in arrays:
        seen |= np.bincount(a - lo, minlength=hi - lo + 1).astype(bool)
    return np.flatnonzero(seen) + lo


def _caller_position(pos: int | tuple[int, ...], rows: np.ndarray | None
                     ) -> int | tuple[int, ...]:
    """A position in the rows kept after ``nan_policy="omit"`` as the caller's position."""
    if rows is None:
        return pos
    if isinstance(pos, tuple):
        return (int(rows[pos[0]]), *pos[1:])
    return int(rows[pos])


def _encode(values: np.ndarray, classes: np.ndarray, name: str, source: str,
            rows: np.ndarray | None = None) -> np.ndarray:
    """Map labels to codes ``0..C-1`` (their position in ``classes``); refuse unknown labels.

    ``rows`` (the caller's row numbers of ``values`` after omitted rows, or None) is used
    only to name the caller's index in the error.
    """
    n_classes = classes.shape[0]
    if values.size == 0:
        return np.zeros(0, dtype=np.intp)
    if (
        values.dtype.kind in "iu"
        and classes.dtype.kind in "iu"
        and int(classes[0]) == 0
        and np.array_equal(classes, np.arange(n_classes))
    ):
        # The common case (labels 0..C-1): only a range check, no copy.
        lo, hi = int(values.min()), int(values.max())
        if lo >= 0 and hi < n_classes:
            return values.astype(np.intp, copy=False)
        bad = (values < 0) | (values >= n_classes)
    else:
        span = _integer_span(values, classes)
        if span is not None:
            lo, hi = span
            lut = np.full(hi - lo + 1, -1, dtype=np.intp)
            lut[classes - lo] = np.arange(n_classes)
            codes = lut[values - lo]
            if codes.min() >= 0:
                return codes
            bad = codes < 0
        else:
            order = np.argsort(classes, kind="stable")
            ordered = classes[order]
            pos = np.minimum(np.searchsorted(ordered, values), n_classes - 1)
            found = ordered[pos] == values
            if found.all():
                return order[pos]
            bad = ~found
    i = _first_position(bad)
    raise ValueError(
        f"{name} contains the label {_fmt_value(values[i])} at index "
        f"{_caller_position(i, rows)}, which is not among the classes "
        f"{_describe_classes(classes, source)}"
    )


def _describe_classes(classes: np.ndarray, source: str) -> str:
    shown = ", ".join(_fmt_value(c) for c in classes[:10])
    more = ", ..." if classes.shape[0] > 10 else ""
    return f"[{shown}{more}] ({source})"


def _binary_classes(t: np.ndarray, name: str) -> np.ndarray:
    """The two classes ``[negative, positive]`` of a 1-D binary score without ``labels=``.

    Labels within {0, 1} (bools included) are ``[0, 1]`` and labels within {-1, 1} are
    ``[-1, 1]``, even when only one of them is present (so ``[1, 1, 1]`` is all positives,
    as in scikit-learn, whose ``pos_label`` defaults to 1); otherwise the two labels seen,
    the larger positive. One label seen outside those sets leaves the positive class
    unknown: a ``ValueError`` asks for ``labels=``.
    """
    seen = _union_of_labels(t)
    for pair in ((0, 1), (-1, 1)):
        if np.isin(seen, pair).all():
            return np.array(pair, dtype=seen.dtype if seen.dtype.kind == "f" else np.int64)
    if seen.shape[0] == 1:
        raise ValueError(
            f"{name} holds only the label {_fmt_value(seen[0])}, so the positive class of "
            "the 1-D score is unknown; pass labels=[negative, positive]"
        )
    return seen


def _check_classification(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    nan_policy: str = "raise",
    scores: bool = False,
    score_kind: str = "auto",
    pred_name: str = "y_pred",
    true_name: str = "y_true",
    allow_empty: bool = False,
    labels_checked: bool = False,
) -> _ClassData:
    """Validate class labels and predictions (labels or an ``(n, C)`` score matrix).

    Parameters
    ----------
    scores : bool
        If True, ``y_pred`` must be scores: an ``(n, C)`` matrix, or for two classes a 1-D
        score of the positive class (returned as ``y_score`` of shape ``(n, 1)``, the classes
        ``[negative, positive]``: ``labels`` if given, else see :func:`_binary_classes`).
        The score rule ``score_kind`` (``_scores.py``) is applied to them. If False,
        ``y_pred`` is labels ``(n,)`` or a score matrix whose arg-max (first maximum on ties)
        is the prediction.
    score_kind : {"auto", "probabilities", "logits", "raw"}
        The rule of ``_scores.py`` (the public ``scores=`` keyword).
    """
    _check_nan_policy(nan_policy)
    if scores:
        _check_score_kind(score_kind)
    t = _as_labels(y_true, true_name)
    _check_ndim(t, true_name, (1,), "1-D class labels (n,)")
    p = _as_labels(y_pred, pred_name)
    _check_ndim(p, pred_name, (1, 2), "1-D (n,) or a 2-D (n, C) score matrix")
    _check_lengths(allow_empty, **{true_name: t, pred_name: p})
    is_matrix = p.ndim == 2
    if is_matrix and p.shape[1] == 0:
        raise ValueError(f"{pred_name} has no columns (shape {p.shape})")
    drop = _nonfinite_rows(nan_policy, **{true_name: t, pred_name: p})
    (t, p), n_omitted = _omit(drop, t, p, allow_empty=allow_empty)
    rows = None if drop is None else np.flatnonzero(~drop)

    binary_scores = scores and not is_matrix
    if labels is not None:
        # Accumulators check their labels once, at construction, not at every update.
        classes = labels if labels_checked else _check_labels_arg(labels)
        source = "given by labels"
        if is_matrix and classes.shape[0] != p.shape[1]:
            raise ValueError(
                f"{pred_name} has {p.shape[1]} columns but labels has {classes.shape[0]} "
                "entries; they must match (one column per class, in the order of labels)"
            )
        if binary_scores and classes.shape[0] != 2:
            raise ValueError(
                f"{pred_name} is 1-D (the positive class's score) but labels has "
                f"{classes.shape[0]} entries; give labels=[negative, positive] or an (n, C) "
                "score matrix"
            )
    elif is_matrix:
        classes = np.arange(p.shape[1])
        source = f"0..{p.shape[1] - 1} given by the columns of {pred_name}"
    elif binary_scores:
        classes = _union_of_labels(t)
        source = f"seen in {true_name}"
        if classes.shape[0] <= 2:
            classes = _binary_classes(t, true_name)
    else:
        classes = _union_of_labels(t, p)
        source = f"seen in {true_name} and {pred_name}"

    if binary_scores and classes.shape[0] > 2:
        raise ValueError(
            f"{pred_name} is 1-D (the positive class's score) but there are "
            f"{classes.shape[0]} classes {_describe_classes(classes, source)}; pass an (n, C) "
            "score matrix"
        )
    codes_true = _encode(t, classes, true_name, source, rows)
    if is_matrix:
        codes_pred = np.argmax(p, axis=1)
        y_score = _apply_score_rule(p, score_kind, pred_name, rows) if scores else None
    elif binary_scores:
        codes_pred, y_score = None, _apply_score_rule(p, score_kind, pred_name, rows)[:, None]
    else:
        codes_pred, y_score = _encode(p, classes, pred_name, source, rows), None
    return _ClassData(codes_true, codes_pred, y_score, classes, n_omitted, rows)


_RATINGS_NAN_POLICIES = ("raise", "omit", "keep")


@dataclass(frozen=True)
class _Ratings:
    """A validated ratings matrix (n_items, n_raters) with NaN for a missing rating."""

    values: np.ndarray  # (n_items, n_raters) float64, NaN where a rating is missing
    present: np.ndarray  # (n_items, n_raters) bool
    n_omitted: int  # items dropped under nan_policy="omit"


def _check_ratings(ratings: Any, *, nan_policy: str = "keep", name: str = "ratings") -> _Ratings:
    """Validate a ratings matrix: one row per item, one column per rater.

    ``nan_policy`` says what a missing rating (NaN) means: ``"keep"`` keeps it as missing
    (the metric handles it), ``"raise"`` refuses it, ``"omit"`` drops the items that have one
    (listwise deletion). inf is always refused.
    """
    if nan_policy not in _RATINGS_NAN_POLICIES:
        raise ValueError(
            f"nan_policy must be one of {_RATINGS_NAN_POLICIES}, got {nan_policy!r}")
    arr = _as_numeric(ratings, name)
    _check_ndim(arr, name, (2,), "a 2-D (n_items, n_raters) matrix")
    n_items, n_raters = arr.shape
    if n_items == 0:
        raise ValueError(f"{name} has no items (shape {arr.shape}); at least one is needed")
    if n_raters < 2:
        raise ValueError(
            f"{name} has {n_raters} rater column(s) (shape {arr.shape}); agreement needs at "
            "least 2 raters (one column per rater)")
    values = arr.astype(np.float64)
    if arr.dtype.kind == "f":
        inf = np.isinf(arr)
        if inf.any():
            pos = _first_position(inf)
            raise ValueError(
                f"{name} contains {int(inf.sum())} infinite value(s); the first is "
                f"{_fmt_value(arr[pos])} at (item, rater) {pos}")
    present = ~np.isnan(values)
    n_omitted = 0
    if not present.all():
        if nan_policy == "raise":
            raise ValueError(
                f"{name} has {int((~present).sum())} missing rating(s) (NaN); the first is at "
                f"(item, rater) {_first_position(~present)} (nan_policy='raise'; pass "
                "nan_policy='omit' to drop the items with a missing rating)")
        if nan_policy == "omit":
            keep = present.all(axis=1)
            n_omitted = int(n_items - keep.sum())
            if n_omitted == n_items:
                raise ValueError(
                    f"every one of the {n_items} items in {name} has a missing rating; nothing "
                    "is left after nan_policy='omit'")
            values, present = values[keep], present[keep]
    return _Ratings(values, present, n_omitted)


def _id_array(ids: Any) -> np.ndarray:
    """A sequence of hashable ids as a 1-D array that keeps every id distinct.

    ``np.asarray`` turns ``[1, "1"]`` into the strings ``["1", "1"]`` (one group instead of
    two) and the tuples ``[(1, 2), (3, 4)]`` into a 2-D array; such ids are kept as objects
    instead. Nested lists (unhashable: not ids) stay 2-D, for the caller to refuse.
    """
    try:
        arr = np.asarray(ids)
    except ValueError:  # ragged: tuples of different lengths beside other ids
        arr = None
    if arr is not None and arr.dtype.kind not in "USV" and arr.ndim == 1:
        return arr
    items = list(ids)
    if arr is None:
        pass
    elif arr.ndim != 1:
        if not all(isinstance(v, tuple) for v in items):
            return arr
    elif (all(isinstance(v, str) for v in items)
          or all(isinstance(v, bytes) for v in items)):
        return arr
    out = np.empty(len(items), dtype=object)
    for i, value in enumerate(items):
        out[i] = value
    return out


def _real_option(value: Any, name: str, expected: str) -> float:
    """A numeric option as a float; a TypeError naming the option for anything else (a
    string such as scikit-learn's ``zero_division="warn"``, None, a list)."""
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {expected}, got {value!r}")
    return float(value)


def _check_unique_names(names: Any, name: str) -> tuple[str, ...]:
    """Names as strings, refused when two of them read the same (they key result dicts,
    where a repeated key would silently keep only the last value)."""
    if isinstance(names, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of names, got the string {names!r}")
    values = list(names)
    text = tuple(str(v) for v in values)
    seen: dict[str, int] = {}
    for position, value in enumerate(text):
        if value in seen:
            first = seen[value]
            raise ValueError(f"{name} must be distinct names: {values[first]!r} (at {first}) "
                             f"and {values[position]!r} (at {position}) both read {value!r}")
        seen[value] = position
    return text


def _group_codes(groups: Any, n: int, name: str = "groups") -> tuple[np.ndarray, int]:
    """Group ids of any hashable type as codes ``0..G-1`` (in sorted id order) and ``G``.

    The one encoding of group ids (subjects, videos) for the bootstrap, the paired comparison,
    reports and :func:`~affectmetrics.ccc_per_group`: integers, strings of any width, booleans
    and object arrays (mixed types included) are accepted; a missing id (None or NaN) is
    refused with its position, since a sample without a group cannot be resampled with it.
    """
    if isinstance(groups, (str, bytes)):
        raise TypeError(f"{name} must be one id per sample, got the string {groups!r}")
    arr = groups if isinstance(groups, np.ndarray) else _id_array(groups)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one id per sample); got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} entries but there are {n} samples")
    if arr.dtype.kind in "fc":
        missing = np.isnan(arr)
    elif arr.dtype.kind == "O":
        # None, and NaN (the one value not equal to itself), element by element in C.
        missing = np.asarray(np.equal(arr, None) | np.not_equal(arr, arr), dtype=bool)
    else:
        missing = np.zeros(arr.shape[0], dtype=bool)
    if missing.any():
        pos = int(np.argmax(missing))
        raise ValueError(f"{name} has a missing id ({arr[pos]!r}) at position {pos}; every "
                         "sample needs a group id")
    try:
        _, codes = np.unique(arr, return_inverse=True)
    except TypeError:
        # Ids of types that do not order among themselves (e.g. 3 and "3b"): encode by
        # first appearance, then renumber in the order of (type name, repr).
        index: dict[Any, int] = {}
        first = np.fromiter((index.setdefault(v, len(index)) for v in arr.tolist()),
                            dtype=np.intp, count=arr.shape[0])
        keys = sorted(index, key=lambda v: (type(v).__name__, repr(v)))
        rank = np.empty(len(keys), dtype=np.intp)
        rank[[index[k] for k in keys]] = np.arange(len(keys))
        codes = rank[first]
    codes = np.asarray(codes).reshape(-1)
    return codes, int(codes.max()) + 1 if codes.shape[0] else 0
