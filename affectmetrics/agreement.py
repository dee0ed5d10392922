"""Krippendorff's alpha with the truth and the prediction as two coders."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import _check_classification
from .classification import _confusion_of
from .exceptions import _warn_undefined

__all__ = ["krippendorff_alpha"]

_LEVELS = ("nominal", "ordinal", "interval", "ratio")


def _pow2_scaled(x: np.ndarray) -> tuple[np.ndarray, int]:
    """``x / 2**e`` with ``2**e`` just above its largest finite magnitude, and ``e``.

    Interval and ratio alpha, the ICC and correlations do not depend on the ratings' unit,
    but their squares overflow near 1e300 and underflow to 0 near 1e-300. Dividing by a
    power of two is exact (no rounding), so results on ordinary magnitudes are unchanged;
    NaN stays NaN. ``np.ldexp(y, e)`` maps a result in the scaled units back.
    """
    finite = np.abs(x[np.isfinite(x)])
    amax = float(finite.max()) if finite.size else 0.0
    if amax == 0.0:
        return x, 0
    e = int(np.frexp(amax)[1])
    return np.ldexp(x, -e), e


def _check_ratio_values(values: np.ndarray, name: str) -> None:
    """Refuse negative values at the ratio level, whose difference ``(c - k) / (c + k)``
    needs a scale starting at an absolute zero (a pair ``-1, 1`` would count as agreeing)."""
    negative = values < 0
    if negative.any():
        raise ValueError(
            f"{name} holds negative values (the first is {float(values[negative][0]):g}); "
            "level='ratio' needs values >= 0, on a scale with an absolute zero (use "
            "level='interval' for signed ratings)")


def _delta2(level: str, values: np.ndarray, marginals: np.ndarray,
            pairs: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Krippendorff's squared difference function for each pair of classes.

    ``marginals`` may be a stack (..., C); the result broadcasts to (..., C, C). With
    ``pairs = (i, j)``, arrays of class indices, only those pairs (shape of ``i`` and ``j``
    broadcast; 1-D ``marginals``): a block of rows, or the cells a coincidence matrix uses.
    """
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {_LEVELS}, got {level!r}")
    c = values.shape[0]
    if pairs is None:
        if level == "nominal":
            return 1.0 - np.eye(c)
        i, j = np.meshgrid(np.arange(c), np.arange(c), indexing="ij")
    else:
        i, j = pairs
    if level == "nominal":
        return (i != j).astype(np.float64)
    if level == "ordinal":
        # delta(c, k) = (sum of n_g for g from c to k) - (n_c + n_k) / 2, in class order.
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        cum = np.cumsum(marginals, axis=-1)
        between = cum[..., hi] - cum[..., lo] + marginals[..., lo]
        d = between - (marginals[..., i] + marginals[..., j]) / 2.0
        return d * d
    v = _pow2_scaled(values.astype(np.float64))[0]  # both levels are unit-free
    diff = v[i] - v[j]
    if level == "interval":
        return diff * diff
    total = v[i] + v[j]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(total != 0, diff / np.where(total != 0, total, 1.0), 0.0)
    return ratio * ratio


def _alpha_from_coincidence(
    coincidence: np.ndarray, values: np.ndarray, level: str = "nominal"
) -> np.ndarray:
    """Alpha from a stack of coincidence matrices (..., C, C): the final step of every path.

    ``alpha = 1 - (n.. - 1) * sum(o * d2) / sum(outer(n_c, n_c) * d2)`` with ``n_c`` the
    marginals of ``o`` and ``n..`` their total; nan where the expected disagreement is 0.
    """
    coincidence = np.asarray(coincidence, dtype=np.float64)
    marginals = coincidence.sum(axis=-1)
    total = marginals.sum(axis=-1)
    d2 = _delta2(level, values, marginals)
    expected = (marginals[..., :, None] * marginals[..., None, :] * d2).sum(axis=(-2, -1))
    return _alpha_from_sums(total, (coincidence * d2).sum(axis=(-2, -1)), expected)


def _alpha_from_sums(total: np.ndarray, observed: np.ndarray, expected: np.ndarray
                     ) -> np.ndarray:
    """``1 - (n.. - 1) * observed / expected``, nan where ``expected`` is 0.

    ``observed = sum(o * d2)`` and ``expected = sum(outer(n_c, n_c) * d2)``: the last line of
    every path, whether the sums come from coincidence matrices or straight from the ratings.
    """
    defined = expected > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        value = 1.0 - (total - 1.0) * observed / np.where(defined, expected, 1.0)
    return np.where(defined, value, np.nan)


def _alpha_batch(cms: np.ndarray, values: np.ndarray, level: str = "nominal") -> np.ndarray:
    """Alpha for two coders from a stack of confusion matrices (..., C, C).

    With two coders and no missing values every unit is pairable, the coincidence matrix is
    ``o = cm + cm.T`` and ``n.. = 2n``.
    """
    return _alpha_from_coincidence(cms + np.swapaxes(cms, -1, -2), values, level)


def _alpha_value(value: float) -> float:
    """The scalar alpha, warning when it is undefined (expected disagreement 0)."""
    if np.isnan(value):
        _warn_undefined(
            "krippendorff_alpha is undefined: the expected disagreement is 0 (a single value "
            "is used throughout); returning nan"
        )
    return value


def _alpha_from_cm(cm: np.ndarray, values: np.ndarray, level: str = "nominal") -> float:
    return _alpha_value(float(_alpha_batch(cm, values, level)))


def krippendorff_alpha(
    y_true: Any,
    y_pred: Any,
    *,
    level: str = "nominal",
    labels: Any = None,
    nan_policy: str = "raise",
) -> float:
    """Krippendorff's alpha, treating the truth and the prediction as two coders.

    .. math::

        \\alpha = 1 - \\frac{D_o}{D_e}
               = 1 - (n_{\\cdot\\cdot} - 1)
                 \\frac{\\sum_{c,k} o_{ck}\\, \\delta^2_{ck}}{\\sum_{c,k} n_c n_k\\, \\delta^2_{ck}}

    where ``o`` is the coincidence matrix (the confusion matrix plus its transpose),
    ``n_c`` its marginals and ``n.. = 2n`` the number of pairable values.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Labels of the first coder (the ground truth).
    y_pred : array-like of shape (n,) or (n, C)
        Labels of the second coder, or a score matrix whose arg-max is the label.
    level : {"nominal", "ordinal", "interval", "ratio"}, default "nominal"
        Level of measurement. ``"nominal"`` suits expression categories; the others use the
        class order (ordinal) or the label values (interval, ratio).
    labels : array-like of shape (C,), optional
        The class set and its order.
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` drops units with a missing value (with two coders a unit with one value
        is not pairable and would be dropped by the definition anyway).

    Returns
    -------
    float
        At most 1; 0 is chance agreement; negative is systematic disagreement.

    Raises
    ------
    ValueError
        For an unknown ``level``, or negative values at the ratio level.

    Warns
    -----
    UndefinedMetricWarning
        When a single value is used throughout (expected disagreement 0).

    Notes
    -----
    The ``krippendorff`` package's ``alpha`` defaults to the interval level; this function
    defaults to nominal, the level for expression categories.

    References
    ----------
    K. Krippendorff, "Computing Krippendorff's Alpha-Reliability", University of Pennsylvania,
    2011; K. Krippendorff, Content Analysis: An Introduction to Its Methodology, 2004.

    Examples
    --------
    >>> import affectmetrics as am
    >>> # o = [[2, 1], [1, 4]], n_c = (3, 5), n.. = 8: alpha = 1 - 7 * 2 / (2 * 3 * 5) = 8/15
    >>> round(am.krippendorff_alpha([0, 0, 1, 1], [0, 1, 1, 1]), 6)
    0.533333
    """
    data = _check_classification(y_true, y_pred, labels=labels, nan_policy=nan_policy)
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {_LEVELS}, got {level!r}")
    if level == "ratio":
        _check_ratio_values(data.classes, "y_true/y_pred (or labels)")
    return _alpha_from_cm(_confusion_of(data), data.classes, level)
