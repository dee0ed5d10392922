"""Bootstrap intervals over items for alpha, ICC and Fleiss' kappa, on the core's engine."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import _check_nan_policy, _check_ratings
from ..agreement import _LEVELS, _alpha_from_coincidence, _alpha_from_sums, _delta2
from ..bootstrap import BootstrapResult, _bootstrap, _check_options
from ..exceptions import UndefinedMetricWarning
from .alpha import (
    _coincidence_by_item,
    _interval_alpha,
    _interval_sums,
    _pair_cells,
    krippendorff_alpha,
)
from .fleiss import _fleiss_batch, _fleiss_table, fleiss_kappa
from .icc import (
    _anova_sums,
    _check_confidence_level,
    _check_form,
    _icc_values,
    _mean_squares,
    icc,
)

__all__ = ["bootstrap_agreement"]

_METRICS = ("krippendorff_alpha", "icc", "fleiss_kappa")


class _RatingsEngine:
    """The engine protocol of :func:`affectmetrics.bootstrap._bootstrap` for a ratings metric:
    ``n`` items, ``keys``, ``estimate(warn)`` (the metric's own function on all items, with
    its warnings) and ``__call__(weights)`` (the metric for rows of item weights, silently).
    """

    n: int
    keys: list[str]
    _function: Callable[[], float]

    def estimate(self, warn: bool = True) -> dict[str, float]:
        with warnings.catch_warnings():
            if not warn:
                warnings.simplefilter("ignore", UndefinedMetricWarning)
            return {self.keys[0]: float(self._function())}


class _AlphaEngine(_RatingsEngine):
    """Alpha for rows of item weights: weighted sums of per-item statistics.

    Interval: the per-item sums of :func:`_interval_sums` (linear in the ratings). Nominal
    and ratio, whose ``delta^2`` does not depend on the marginals: the observed
    disagreement is a weighted sum of per-item scalars and the expected one a quadratic
    form of the resample's value counts (memory ``b x C``, not ``b x C^2``). Ordinal: the
    weighted sum of per-item coincidence matrices.
    """

    def __init__(self, ratings: Any, level: str) -> None:
        self._function = lambda: krippendorff_alpha(ratings, level=level)
        data = _check_ratings(ratings)
        values, present = data.values, data.present
        self._level = level
        self.n = values.shape[0]
        self.keys = ["krippendorff_alpha"]
        self._pairable = bool((present.sum(axis=1) >= 2).any())
        if not self._pairable:  # alpha is undefined on every resample
            return
        if level == "interval":
            self._sums = _interval_sums(values, present)
        elif level == "ordinal":
            by_item, self._domain = _coincidence_by_item(values, present)
            self._by_item_t = by_item.T.tocsr()  # (C*C, n_items)
        else:
            from scipy import sparse

            item, cell, weight, domain = _pair_cells(values, present)
            self._d2 = _delta2(level, domain, np.zeros(domain.shape[0]))
            self._observed = np.bincount(item, weights=weight * self._d2.reshape(-1)[cell],
                                         minlength=self.n)
            use = present & (present.sum(axis=1) >= 2)[:, None]
            rows, _ = np.nonzero(use)
            codes = np.searchsorted(domain, values[use])
            self._counts_t = sparse.csr_matrix(  # (C, n_items): value counts per item
                (np.ones(rows.shape[0]), (codes, rows)), shape=(domain.shape[0], self.n))

    def __call__(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        if not self._pairable:
            value = np.full(weights.shape[0], np.nan)
        elif self._level == "interval":
            value = _interval_alpha(self._sums, weights)
        elif self._level == "ordinal":
            c = self._domain.shape[0]
            coincidence = np.asarray(self._by_item_t @ weights.T).T.reshape(-1, c, c)
            value = _alpha_from_coincidence(coincidence, self._domain, self._level)
        else:
            marginals = np.asarray(self._counts_t @ weights.T).T  # (b, C)
            value = _alpha_from_sums(marginals.sum(axis=1), weights @ self._observed,
                                     ((marginals @ self._d2) * marginals).sum(axis=1))
        return {"krippendorff_alpha": value}


class _ICCEngine(_RatingsEngine):
    """One ICC form for rows of item weights, from the weighted ANOVA sums."""

    def __init__(self, ratings: Any, form: str, nan_policy: str) -> None:
        self._function = lambda: icc(ratings, form=form, nan_policy=nan_policy).value
        self._x = _check_ratings(ratings, nan_policy=nan_policy).values
        self._form = form
        self.n = self._x.shape[0]
        self.keys = ["icc"]

    def __call__(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        k = self._x.shape[1]
        n, ss_items, ss_raters, ss_error, cross = _anova_sums(self._x, weights)
        squares = _mean_squares(n, k, ss_items, ss_raters, ss_error)
        return {"icc": _icc_values(n, k, cross, *squares)[self._form]}


class _FleissEngine(_RatingsEngine):
    """Fleiss' kappa for rows of item weights over the count table."""

    def __init__(self, ratings: Any, counts: bool, nan_policy: str) -> None:
        self._function = lambda: fleiss_kappa(ratings, counts=counts, nan_policy=nan_policy)
        self._table = _fleiss_table(ratings, counts, nan_policy)
        self.n = self._table.shape[0]
        self.keys = ["fleiss_kappa"]

    def __call__(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        return {"fleiss_kappa": _fleiss_batch(self._table, weights)}


def _groups_of_kept_items(ratings: Any, groups: Any, n_kept: int) -> Any:
    """The group ids of the items ``nan_policy="omit"`` kept, when given for every item."""
    ids = np.asarray(groups)
    data = _check_ratings(ratings)
    if ids.ndim == 1 and ids.shape[0] == data.values.shape[0] != n_kept:
        return ids[data.present.all(axis=1)]
    return groups


def bootstrap_agreement(
    ratings: Any,
    *,
    metric: str = "krippendorff_alpha",
    level: str = "nominal",
    form: str = "3,1",
    counts: bool = False,
    nan_policy: str = "raise",
    confidence_level: float = 0.95,
    n_resamples: int = 1000,
    method: str = "percentile",
    seed: Any = None,
    groups: Any = None,
) -> BootstrapResult:
    """Bootstrap confidence interval of an agreement measure, resampling items.

    Items (rows) are drawn with replacement, each with all its ratings; ``groups`` draws
    whole groups of items instead (say, all utterances of a speaker). The resamples,
    percentile and BCa intervals are those of :func:`affectmetrics.bootstrap_ci` (the same
    engine); each resample's value comes from the metric's own final step, evaluated for a
    whole block of resamples at once (item weights times per-item statistics: coincidence
    matrices for alpha, ANOVA moments for ICC, category counts for Fleiss' kappa).

    Parameters
    ----------
    ratings : array-like of shape (n_items, n_raters)
        One row per item, one column per rater, NaN for a missing rating (or, for Fleiss'
        kappa with ``counts=True``, the (n_items, n_categories) count table).
    metric : {"krippendorff_alpha", "icc", "fleiss_kappa"}, default "krippendorff_alpha"
    level : str, default "nominal"
        Alpha's level of measurement (see :func:`krippendorff_alpha`).
    form : str, default "3,1"
        The ICC form (see :func:`icc`).
    counts : bool, default False
        Fleiss' kappa: ``ratings`` is the count table.
    nan_policy : {"raise", "omit"}, default "raise"
        For ICC and Fleiss' kappa: refuse missing ratings, or drop their items first.
        Alpha keeps missing ratings (they are part of its definition).
    confidence_level : float, default 0.95
    n_resamples : int, default 1000
    method : {"percentile", "bca"}, default "percentile"
    seed : int or numpy Generator, optional
    groups : array-like of shape (n_items,), optional
        Group ids of the items: resample whole groups. Under ``nan_policy="omit"`` (ICC
        and kappa) the ids of the dropped items are dropped with them; ids for the kept
        items only are accepted too.

    Returns
    -------
    BootstrapResult
        One key, the metric's name (``"krippendorff_alpha"``, ``"icc"``, ``"fleiss_kappa"``);
        ``estimate`` is the metric's function on the same data (the same number).

    Raises
    ------
    ValueError
        For an unknown metric, level, form or option, or invalid ratings (as the metric's
        function raises).
    TypeError
        For a ``confidence_level`` that is not a number or a ``seed`` NumPy cannot use.

    Warns
    -----
    UndefinedMetricWarning
        When the metric itself is undefined on the data (from the metric's function).

    Notes
    -----
    Resampling items treats the raters as fixed; with very few items (say under 20) the
    intervals are unreliable. For ICC the F-based interval of :func:`icc` is the classical
    one; the bootstrap makes no normality assumption. Resamples where the metric is
    undefined are left out.

    References
    ----------
    B. Efron, R. J. Tibshirani, An Introduction to the Bootstrap, Chapman & Hall, 1993;
    A. F. Hayes, K. Krippendorff, "Answering the call for a standard reliability measure for
    coding data", Communication Methods and Measures 1(1), 2007 (``hayes2007answering``).

    Examples
    --------
    >>> import numpy as np
    >>> from affectmetrics import annotations
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.integers(0, 3, 200)
    >>> ratings = np.stack([np.where(rng.random(200) < 0.8, truth, rng.integers(0, 3, 200))
    ...                     for _ in range(4)], axis=1)
    >>> result = annotations.bootstrap_agreement(ratings, n_resamples=200, seed=1)
    >>> result.estimate["krippendorff_alpha"] == annotations.krippendorff_alpha(ratings)
    True
    >>> result.low["krippendorff_alpha"] < result.high["krippendorff_alpha"]
    True
    """
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {_METRICS}, got {metric!r}")
    _check_confidence_level(confidence_level)
    _check_options(confidence_level, n_resamples, method)
    try:
        np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"seed must be None, a non-negative integer or a NumPy Generator; "
                        f"got {seed!r}") from None
    _check_nan_policy(nan_policy)  # also for alpha, which keeps missing ratings
    engine: _RatingsEngine
    if metric == "krippendorff_alpha":
        if level not in _LEVELS:
            raise ValueError(f"level must be one of {_LEVELS}, got {level!r}")
        engine = _AlphaEngine(ratings, level)
    elif metric == "icc":
        _check_form(form)
        engine = _ICCEngine(ratings, form, nan_policy)
    else:
        engine = _FleissEngine(ratings, counts, nan_policy)
    if groups is not None and metric != "krippendorff_alpha" and not counts:
        groups = _groups_of_kept_items(ratings, groups, engine.n)
    return _bootstrap(engine, confidence_level=confidence_level,  # type: ignore[arg-type]
                      n_resamples=n_resamples, method=method, seed=seed, groups=groups,
                      progress=False)
