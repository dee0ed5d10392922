"""Krippendorff's alpha for any number of raters with missing ratings."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import _check_ratings, _first_position, _fmt_value, _Ratings
from ..agreement import (
    _LEVELS,
    _alpha_from_coincidence,
    _alpha_from_sums,
    _alpha_value,
    _delta2,
    _pow2_scaled,
)
from ..exceptions import _warn_undefined

__all__ = ["krippendorff_alpha"]


def _check_ratio_ratings(data: _Ratings, name: str = "ratings") -> None:
    """Refuse negative ratings at the ratio level, naming the first one's position."""
    negative = data.present & (np.where(data.present, data.values, 0.0) < 0)
    if negative.any():
        pos = _first_position(negative)
        raise ValueError(
            f"{name} holds {int(negative.sum())} negative rating(s); the first is "
            f"{_fmt_value(data.values[pos])} at (item, rater) {pos}. level='ratio' needs "
            "ratings >= 0, on a scale with an absolute zero (use level='interval' for signed "
            "ratings)")


def _pair_cells(values: np.ndarray, present: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each pairable item's contribution to the coincidence matrix, as sparse triplets.

    Item ``u`` with ``m_u >= 2`` ratings and value counts ``N_u`` adds
    ``(N_u N_u^T - diag(N_u)) / (m_u - 1)`` to ``o``. Returns ``(item, cell, weight, values)``
    with ``cell = c * C + k`` over the C distinct values (sorted); the work is the sum over
    items of the squared number of distinct values in the item, with no loop over items.
    """
    item, _ = np.nonzero(present)
    domain, codes = np.unique(values[present], return_inverse=True)
    n_values = domain.shape[0]
    m = present.sum(axis=1)
    pairable = m[item] >= 2
    item, codes = item[pairable], codes.reshape(-1)[pairable]
    # Distinct (item, value) entries with their counts, sorted by item.
    keys, count = np.unique(item * n_values + codes, return_counts=True)
    ent_item, ent_code = keys // n_values, keys % n_values
    per_item = np.bincount(ent_item, minlength=present.shape[0])
    start = np.cumsum(per_item) - per_item
    reps = per_item[ent_item]
    left = np.repeat(np.arange(keys.shape[0]), reps)
    offset = np.arange(left.shape[0]) - np.repeat(np.cumsum(reps) - reps, reps)
    right = start[ent_item[left]] + offset
    pair_item = ent_item[left]
    weight = (count[left] * count[right] - np.where(left == right, count[left], 0)).astype(
        np.float64) / (m[pair_item] - 1)
    cell = ent_code[left] * n_values + ent_code[right]
    return pair_item, cell, weight, domain


# Item-by-value count tables up to this many cells are built densely (32 MB of float64).
_DENSE_CELLS = 1 << 22
# Beyond this many distinct values alpha's sums are taken in blocks, not as C x C arrays.
_BLOCKED_VALUES = 2048


def _coincidence(values: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The C x C coincidence matrix and the value domain (C sorted distinct values).

    With few distinct values, from the dense (n_items, C) count table ``N`` in one matrix
    product, ``o = N^T diag(1 / (m - 1)) N - diag(sum_u N_u / (m_u - 1))`` over pairable
    items; otherwise by summing the per-item pairs of :func:`_pair_cells`.
    """
    domain, codes = np.unique(values[present], return_inverse=True)
    c, n_items = domain.shape[0], present.shape[0]
    if n_items * c > _DENSE_CELLS:
        _, cell, weight, domain = _pair_cells(values, present)
        return np.bincount(cell, weights=weight, minlength=c * c).reshape(c, c), domain
    item, _ = np.nonzero(present)
    counts = np.bincount(item * c + codes.reshape(-1), minlength=n_items * c).reshape(
        n_items, c).astype(np.float64)
    m = present.sum(axis=1)
    pairable = m >= 2
    counts = counts[pairable]
    scaled = counts / (m[pairable] - 1.0)[:, None]
    return scaled.T @ counts - np.diag(scaled.sum(axis=0)), domain


def _alpha_sums_pairwise(values: np.ndarray, present: np.ndarray, level: str
                         ) -> tuple[float, float, float]:
    """``(n.., sum(o * d2), sum(outer(n, n) * d2))`` without forming a C x C matrix.

    For very many distinct values: the observed sum over the cells the items fill (the
    triplets of :func:`_pair_cells`), the expected one over blocks of rows of ``d2``, so
    memory stays near ``_DENSE_CELLS`` whatever C (time is still C squared).
    """
    _, cell, weight, domain = _pair_cells(values, present)
    c = domain.shape[0]
    left, right = cell // c, cell % c
    marginals = np.bincount(left, weights=weight, minlength=c)
    observed = float(weight @ _delta2(level, domain, marginals, (left, right)))
    expected, columns = 0.0, np.arange(c)
    block = max(1, _DENSE_CELLS // c)
    for start in range(0, c, block):
        rows = np.arange(start, min(start + block, c))
        d2 = _delta2(level, domain, marginals, (rows[:, None], columns[None, :]))
        expected += float(marginals[rows] @ (d2 @ marginals))
    return float(marginals.sum()), observed, expected


def _coincidence_by_item(values: np.ndarray, present: np.ndarray) -> tuple[Any, np.ndarray]:
    """The (n_items, C*C) sparse matrix of per-item coincidences and the value domain."""
    from scipy import sparse  # only the bootstrap needs it; keeps `import affectmetrics` light

    item, cell, weight, domain = _pair_cells(values, present)
    c = domain.shape[0]
    by_item = sparse.csr_matrix((weight, (item, cell)), shape=(present.shape[0], c * c))
    return by_item, domain


def _interval_sums(values: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per-item sums from which interval alpha follows without a coincidence matrix.

    With ``delta^2 = (c - k)^2``, ``sum(o * d2) = sum_u 2 m_u SS_u / (m_u - 1)`` (``SS_u``:
    the item's sum of squared deviations from its mean) and ``sum(outer(n, n) * d2) =
    2 (n.. Q - S^2)`` with ``S``, ``Q`` the sum and sum of squares of the pairable values.
    Returns ``(m, s, q, observed, low, high)`` per item (zeros, and empty extremes, for the
    items that are not pairable), on values scaled by a power of two and centred on their
    mean, so memory and time are linear in the ratings, whatever the number of values.
    """
    m = present.sum(axis=1)
    use = present & (m >= 2)[:, None]
    m = np.where(m >= 2, m, 0)
    x = _pow2_scaled(values)[0]
    xc = np.where(use, x - x[use].mean(), 0.0)
    s = xc.sum(axis=1)
    mean = s / np.maximum(m, 1)
    dev = np.where(use, xc - mean[:, None], 0.0)
    ss = (dev * dev).sum(axis=1)
    observed = 2.0 * m * ss / np.maximum(m - 1, 1)
    low = np.where(use, x, np.inf).min(axis=1)
    high = np.where(use, x, -np.inf).max(axis=1)
    return m.astype(np.float64), s, ss + s * mean, observed, low, high


def _interval_alpha(sums: tuple[np.ndarray, ...], weights: np.ndarray) -> np.ndarray:
    """Interval alpha for rows of item weights (b, n) from :func:`_interval_sums`.

    nan where the drawn items hold a single value (the expected disagreement is exactly 0).
    """
    m, s, q, observed, low, high = sums
    total, s_w = weights @ m, weights @ s
    expected = 2.0 * (total * (weights @ q) - s_w * s_w)
    drawn = weights > 0
    spread = (np.where(drawn, high, -np.inf).max(axis=1)
              > np.where(drawn, low, np.inf).min(axis=1))
    return _alpha_from_sums(total, weights @ observed, np.where(spread, expected, 0.0))


def krippendorff_alpha(ratings: Any, *, level: str = "nominal") -> float:
    """Krippendorff's alpha for a ratings matrix: any number of raters, missing ratings allowed.

    .. math::

        \\alpha = 1 - (n_{\\cdot\\cdot} - 1)
          \\frac{\\sum_{c,k} o_{ck}\\, \\delta^2_{ck}}{\\sum_{c,k} n_c n_k\\, \\delta^2_{ck}},
        \\qquad
        o_{ck} = \\sum_u \\frac{\\#\\{(i, j) : i \\ne j,\\ x_{ui} = c,\\ x_{uj} = k\\}}{m_u - 1}

    over the items ``u`` with ``m_u >= 2`` ratings (the pairable ones); ``n_c`` are the
    marginals of the coincidence matrix ``o`` and ``n..`` their total. ``delta^2`` is the
    level's difference function (nominal, ordinal, interval, ratio), the same as in the
    two-coder :func:`affectmetrics.krippendorff_alpha`; both end in one final step.

    Parameters
    ----------
    ratings : array-like of shape (n_items, n_raters)
        One row per item (unit), one column per rater (coder); NaN marks a missing rating.
        Values are category codes (nominal), ranks (ordinal) or numbers (interval, ratio).
    level : {"nominal", "ordinal", "interval", "ratio"}, default "nominal"
        Level of measurement.

    Returns
    -------
    float
        At most 1 (perfect agreement); 0 is chance agreement; negative is systematic
        disagreement.

    Raises
    ------
    ValueError
        If ``ratings`` is not 2-D with at least 2 rater columns, holds inf, or ``level``
        is unknown; or a rating is negative at ``level="ratio"``.

    Warns
    -----
    UndefinedMetricWarning
        When no item has two ratings (nothing is pairable) or a single value is used
        throughout (expected disagreement 0); alpha is then nan.

    Notes
    -----
    Items with fewer than two ratings are not pairable and do not count. At the interval
    level the two sums come straight from each item's mean and squared deviations
    (``sum(o * d2) = sum_u 2 m_u SS_u / (m_u - 1)``), in time and memory linear in the
    ratings however many distinct values they hold. The other levels use the C x C
    coincidence matrix over the C distinct values (as the ``krippendorff`` package does);
    beyond 2,048 values its cells are summed in blocks of rows instead, so memory stays
    bounded while time grows as C squared (about 2 s for C = 5,000). The bootstrap of
    ordinal alpha still forms one C x C matrix per resample. The ratio level needs
    ratings >= 0.
    The ``krippendorff`` package takes raters in rows (``reliability_data``); this function
    takes items in rows, like every ratings matrix in :mod:`affectmetrics.annotations`, and
    defaults to the nominal level (the package to interval).

    References
    ----------
    K. Krippendorff, "Computing Krippendorff's Alpha-Reliability", University of
    Pennsylvania, 2011 (``krippendorff2011computing``).

    Examples
    --------
    >>> import numpy as np
    >>> from affectmetrics import annotations
    >>> # Item 1: (a, a, b) adds o_aa = 2/2, o_ab = o_ba = 2/2; item 2: (b, b, nan) adds
    >>> # o_bb = 2/1. o = [[1, 1], [1, 2]], n = (2, 3), n.. = 5:
    >>> # alpha = 1 - 4 * 2 / (2 * 2 * 3) = 1/3
    >>> round(annotations.krippendorff_alpha([[0, 0, 1], [1, 1, np.nan]]), 6)
    0.333333
    """
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {_LEVELS}, got {level!r}")
    data = _check_ratings(ratings)
    if level == "ratio":
        _check_ratio_ratings(data)
    if not (data.present.sum(axis=1) >= 2).any():
        _warn_undefined(
            "krippendorff_alpha is undefined: no item has two or more ratings (no pairable "
            "values); returning nan")
        return float("nan")
    if level == "interval":
        sums = _interval_sums(data.values, data.present)
        return _alpha_value(float(_interval_alpha(sums, np.ones((1, data.values.shape[0])))[0]))
    if np.unique(data.values[data.present]).shape[0] > _BLOCKED_VALUES:
        total, observed, expected = _alpha_sums_pairwise(data.values, data.present, level)
        return _alpha_value(float(_alpha_from_sums(np.float64(total), np.float64(observed),
                                                   np.float64(expected))))
    coincidence, domain = _coincidence(data.values, data.present)
    return _alpha_value(float(_alpha_from_coincidence(coincidence, domain, level)))
