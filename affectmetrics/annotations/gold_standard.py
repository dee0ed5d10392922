"""The evaluator weighted estimator: a gold standard from several raters' continuous ratings."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import _check_ratings
from ..agreement import _pow2_scaled
from ..exceptions import _warn_undefined

__all__ = ["evaluator_weighted_estimator"]

_REFERENCES = ("others", "all")
_REFERENCE_WORDS = {"others": "the other raters", "all": "all raters"}


def _rater_weights(values: np.ndarray, present: np.ndarray, reference: str
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Each rater's Pearson correlation with the mean rating of the others (or of all).

    Over the items the rater rated and where the reference mean exists; centred two-pass
    moments, vectorised over raters. Returns ``(weights, n_pairs)``; a weight is nan when
    fewer than 2 items pair or either side is constant.
    """
    x = np.where(present, values, 0.0)
    total, count = x.sum(axis=1, keepdims=True), present.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        if reference == "others":
            ref = (total - x) / (count - present)
            pairs = present & (count - present > 0)
        else:
            ref = np.broadcast_to(total / count, x.shape)
            pairs = present
    n = pairs.sum(axis=0)
    safe_n = np.maximum(n, 1)
    x0, r0 = np.where(pairs, x, 0.0), np.where(pairs, ref, 0.0)
    xc = np.where(pairs, x0 - x0.sum(axis=0) / safe_n, 0.0)
    rc = np.where(pairs, r0 - r0.sum(axis=0) / safe_n, 0.0)
    sxx, srr, sxr = (xc * xc).sum(axis=0), (rc * rc).sum(axis=0), (xc * rc).sum(axis=0)
    # Exact constancy: a column whose paired values are all equal has zero variance.
    big = np.finfo(np.float64).max
    x_const = np.where(pairs, x, -big).max(axis=0) == np.where(pairs, x, big).min(axis=0)
    r_const = np.where(pairs, ref, -big).max(axis=0) == np.where(pairs, ref, big).min(axis=0)
    defined = (n >= 2) & ~x_const & ~r_const
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.clip(sxr / np.sqrt(sxx * srr), -1.0, 1.0)
    return np.where(defined, r, np.nan), n


def evaluator_weighted_estimator(
    ratings: Any, *, reference: str = "others", return_weights: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Evaluator weighted estimator (EWE): the raters' mean weighted by their reliability.

    .. math::

        \\hat x_n = \\frac{\\sum_{k \\in K_n} r_k\\, x_{n,k}}{\\sum_{k \\in K_n} r_k},
        \\qquad r_k = \\mathrm{corr}_n\\left(x_{n,k},\\ \\bar x_{n,\\setminus k}\\right)

    where ``K_n`` are the raters who rated item ``n`` and ``r_k`` is Pearson's correlation,
    over the items rater ``k`` rated, between the rater's ratings and the mean rating of the
    other raters of the same item (``reference="others"``), or the mean of all raters
    including ``k`` (``reference="all"``, Grimm & Kroschel's equation as printed).

    Parameters
    ----------
    ratings : array-like of shape (n_items, n_raters)
        Continuous ratings (valence, arousal, dominance), one row per item, one column per
        rater; NaN marks a missing rating.
    reference : {"others", "all"}, default "others"
        What each rater is correlated with: the mean of the other raters (leave-one-out,
        as audpsychometric does; a rater does not vouch for itself) or of all raters.
    return_weights : bool, default False
        Also return the raters' weights ``r_k``.

    Returns
    -------
    ewe : ndarray of shape (n_items,)
        The gold standard per item, in the ratings' units.
    weights : ndarray of shape (n_raters,)
        Only with ``return_weights=True``.

    Raises
    ------
    ValueError
        If ``ratings`` is not 2-D with at least 2 raters, holds inf, or ``reference`` is
        unknown.

    Warns
    -----
    UndefinedMetricWarning
        When a rater's weight is undefined (fewer than 2 paired items, or a constant
        rater or reference): every item is then nan, since the weights are not all known;
        or when an item has no rating or its raters' weights sum to 0 (that item is nan).

    Notes
    -----
    Weights are used as computed: a rater who correlates negatively with the others gets a
    negative weight (the published estimator does not clip). Missing ratings are handled
    per item: only the raters of item ``n`` enter its sums, and each weight is computed over
    the items its rater rated. With complete data and ``reference="others"`` this equals
    ``audpsychometric.evaluator_weighted_estimator``.

    References
    ----------
    M. Grimm, K. Kroschel, "Evaluation of natural emotions using self assessment
    manikins", IEEE ASRU, 2005 (``grimm2005evaluation``); B. Schuller, Intelligent Audio
    Analysis, Springer, 2013, eq. 5.1-5.3 (``schuller2013intelligent``).

    Examples
    --------
    >>> from affectmetrics import annotations
    >>> # Rater 1 rates (1, 2, 3) against the others' means (1, 2.5, 2.5): centred
    >>> # (-1, 0, 1) and (-1, .5, .5), r_1 = 1.5 / sqrt(2 * 1.5) = 0.866 = r_2; rater 3 rates
    >>> # (1, 3, 2) against (1, 2, 3): r_3 = 1 / 2. Item 2:
    >>> # (0.866 * 2 + 0.866 * 2 + 0.5 * 3) / (0.866 + 0.866 + 0.5) = 2.224
    >>> ewe, w = annotations.evaluator_weighted_estimator(
    ...     [[1, 1, 1], [2, 2, 3], [3, 3, 2]], return_weights=True)
    >>> w.round(3).tolist(), ewe.round(3).tolist()
    ([0.866, 0.866, 0.5], [1.0, 2.224, 2.776])
    """
    if reference not in _REFERENCES:
        raise ValueError(f"reference must be one of {_REFERENCES}, got {reference!r}")
    data = _check_ratings(ratings)
    # Weights are unit-free and the estimate is linear in the ratings: work in units scaled
    # by a power of two (exact), so ratings near 1e300 or 1e-300 neither overflow nor vanish.
    values, exponent = _pow2_scaled(data.values)
    present = data.present
    weights, n_pairs = _rater_weights(values, present, reference)
    undefined = np.flatnonzero(np.isnan(weights))
    if undefined.size:
        j = int(undefined[0])
        _warn_undefined(
            f"evaluator_weighted_estimator is undefined: the weight of rater column {j} "
            f"(its correlation with the mean of {_REFERENCE_WORDS[reference]}) cannot be computed "
            f"from {int(n_pairs[j])} paired item(s) (fewer than 2, or constant ratings); "
            "returning nan for every item")
        ewe = np.full(values.shape[0], np.nan)
    else:
        w = np.where(present, weights, 0.0)
        num = (w * np.where(present, values, 0.0)).sum(axis=1)
        den = w.sum(axis=1)
        ok = den != 0
        ewe = np.ldexp(np.where(ok, num / np.where(ok, den, 1.0), np.nan), exponent)
        if not ok.all():
            i = int(np.argmin(ok))
            _warn_undefined(
                f"evaluator_weighted_estimator is undefined for {int((~ok).sum())} item(s): "
                f"the first is item {i}, whose raters' weights sum to 0 (or it has no "
                "rating); returning nan there")
    return (ewe, weights) if return_weights else ewe
