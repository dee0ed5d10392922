"""Fleiss' kappa for many raters assigning categories."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import _as_numeric, _check_ndim, _check_ratings, _first_position, _fmt_value
from ..exceptions import _warn_undefined

__all__ = ["fleiss_kappa", "rating_counts"]


def rating_counts(ratings: Any, *, nan_policy: str = "raise") -> tuple[np.ndarray, np.ndarray]:
    """The (n_items, n_categories) table of how many raters chose each category per item.

    The same table as ``statsmodels.stats.inter_rater.aggregate_raters``.

    Parameters
    ----------
    ratings : array-like of shape (n_items, n_raters)
        Category codes, one row per item, one column per rater; NaN marks a missing rating.
    nan_policy : {"raise", "omit", "keep"}, default "raise"
        ``"omit"`` drops the items with a missing rating; ``"keep"`` counts only the ratings
        given (rows then sum to different totals).

    Returns
    -------
    counts : ndarray of shape (n_items, n_categories), int64
    categories : ndarray of shape (n_categories,)
        The categories seen, sorted; column ``j`` of ``counts`` counts ``categories[j]``.

    Examples
    --------
    >>> from affectmetrics import annotations
    >>> counts, categories = annotations.rating_counts([[0, 0, 2], [2, 2, 2]])
    >>> counts.tolist(), categories.tolist()
    ([[2, 1], [0, 3]], [0.0, 2.0])
    """
    data = _check_ratings(ratings, nan_policy=nan_policy)
    item, _ = np.nonzero(data.present)
    categories, codes = np.unique(data.values[data.present], return_inverse=True)
    c = categories.shape[0]
    counts = np.bincount(item * c + codes.reshape(-1), minlength=data.values.shape[0] * c)
    return counts.reshape(-1, c).astype(np.int64), categories


def _check_count_table(table: Any) -> np.ndarray:
    arr = _as_numeric(table, "ratings")
    _check_ndim(arr, "ratings", (2,), "a 2-D (n_items, n_categories) count table")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"ratings (a count table) is empty (shape {arr.shape})")
    values = arr.astype(np.float64)
    bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
    if bad.any():
        pos = _first_position(bad)
        raise ValueError(
            f"ratings (a count table) must hold non-negative whole counts; found "
            f"{_fmt_value(arr[pos])} at (item, category) {pos}")
    per_item = values.sum(axis=1)
    uneven = per_item != per_item[0]
    if uneven.any():
        i = int(np.argmax(uneven))
        raise ValueError(
            f"every item must have the same number of ratings for Fleiss' kappa; item 0 has "
            f"{per_item[0]:.15g} and item {i} has {per_item[i]:.15g} (drop or complete those "
            "items first)")
    if per_item[0] < 2:
        raise ValueError(
            f"Fleiss' kappa needs at least 2 ratings per item; the count table has "
            f"{per_item[0]:.15g}")
    return values


def _fleiss_batch(table: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Kappa for rows of item weights (b, n) over a count table (n, C): the final step.

    ``P_i = (sum_j n_ij^2 - m) / (m (m - 1))``, ``P = mean_i P_i``,
    ``p_j = sum_i n_ij / (N m)``, ``P_e = sum_j p_j^2``; nan where ``P_e = 1``.
    """
    m = table[0].sum()
    agreement = ((table * table).sum(axis=1) - m) / (m * (m - 1.0))
    n = weights.sum(axis=1)
    observed = (weights @ agreement) / n
    share = (weights @ table) / (n * m)[:, None]
    expected = (share * share).sum(axis=1)
    defined = expected < 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        value = (observed - expected) / np.where(defined, 1.0 - expected, 1.0)
    return np.where(defined, value, np.nan)


def _fleiss_table(ratings: Any, counts: bool, nan_policy: str) -> np.ndarray:
    if counts:
        return _check_count_table(ratings)
    if nan_policy not in ("raise", "omit"):
        raise ValueError(f"nan_policy must be 'raise' or 'omit', got {nan_policy!r}")
    return rating_counts(ratings, nan_policy=nan_policy)[0].astype(np.float64)


def fleiss_kappa(ratings: Any, *, counts: bool = False, nan_policy: str = "raise") -> float:
    """Fleiss' kappa: chance-corrected agreement of m raters per item on categories.

    .. math::

        \\kappa = \\frac{\\bar P - P_e}{1 - P_e}, \\quad
        \\bar P = \\frac{1}{N} \\sum_i \\frac{\\sum_j n_{ij}^2 - m}{m (m - 1)}, \\quad
        P_e = \\sum_j p_j^2, \\quad p_j = \\frac{1}{N m} \\sum_i n_{ij}

    where ``n_ij`` is the number of the ``m`` raters who put item ``i`` in category ``j``.

    Parameters
    ----------
    ratings : array-like of shape (n_items, n_raters), or (n_items, n_categories)
        Category codes, one row per item and one column per rater (NaN: missing); or, with
        ``counts=True``, the count table ``n_ij`` (statsmodels' input, from its
        ``aggregate_raters`` or :func:`rating_counts`).
    counts : bool, default False
        Whether ``ratings`` is already the count table.
    nan_policy : {"raise", "omit"}, default "raise"
        Fleiss' kappa needs the same number of ratings per item: a missing rating is
        refused, or with ``"omit"`` its item is dropped.

    Returns
    -------
    float
        At most 1; 0 is the agreement expected by chance given the category shares;
        the minimum is ``-1 / (m - 1)``.

    Raises
    ------
    ValueError
        For a missing rating under ``nan_policy="raise"``, a count table whose items have
        different numbers of ratings or fewer than 2, or a malformed matrix.

    Warns
    -----
    UndefinedMetricWarning
        When every rating is the same category (``P_e = 1``); kappa is then nan.

    Notes
    -----
    statsmodels' ``fleiss_kappa`` asserts equal row sums and returns nan (with a NumPy
    warning) when a single category is used; this function says which item differs, and
    warns with an UndefinedMetricWarning.

    References
    ----------
    J. L. Fleiss, "Measuring nominal scale agreement among many raters", Psychological
    Bulletin 76(5), 1971 (``fleiss1971measuring``).

    Examples
    --------
    >>> from affectmetrics import annotations
    >>> # Counts [[3, 0], [0, 3], [2, 1]]: P_i = 1, 1, 1/3, P = 7/9; p = (5/9, 4/9),
    >>> # P_e = 41/81: kappa = (63/81 - 41/81) / (40/81) = 22/40
    >>> annotations.fleiss_kappa([[0, 0, 0], [1, 1, 1], [0, 0, 1]])
    0.55
    """
    table = _fleiss_table(ratings, counts, nan_policy)
    value = float(_fleiss_batch(table, np.ones((1, table.shape[0])))[0])
    if np.isnan(value):
        _warn_undefined(
            "fleiss_kappa is undefined: every rating is the same category (chance agreement "
            "is 1); returning nan")
    return value
