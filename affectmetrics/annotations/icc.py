"""Intraclass correlations of a ratings matrix: Shrout & Fleiss's six forms with F tests."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
from scipy.special import fdtrc, fdtri

from .._validation import _check_ratings
from ..agreement import _pow2_scaled
from ..exceptions import _warn_undefined

__all__ = ["ICC_FORMS", "ICCResult", "icc", "icc_table"]

ICC_FORMS = ("1,1", "2,1", "3,1", "1,k", "2,k", "3,k")


@dataclass(frozen=True)
class ICCResult:
    """One intraclass correlation with its F test and confidence interval.

    Attributes
    ----------
    form : str
        Shrout & Fleiss's form: ``"1,1"``, ``"2,1"``, ``"3,1"`` (one rating) or ``"1,k"``,
        ``"2,k"``, ``"3,k"`` (the mean of the k raters). McGraw & Wong call (2, .) ICC(A, .)
        (absolute agreement) and (3, .) ICC(C, .) (consistency), as pingouin does.
    value : float
        The ICC.
    f, df1, df2, pvalue : float
        The F test of ICC = 0 (``F = MSB / MSW`` for form 1, ``MSB / MSE`` otherwise).
    low, high : float
        The confidence interval (Shrout & Fleiss 1979; McGraw & Wong 1996 for form 2).
    confidence_level : float
    n_items, n_raters, n_omitted : int
        Items used, raters, and items dropped for a missing rating (``nan_policy="omit"``).
    """

    form: str
    value: float
    f: float
    df1: float
    df2: float
    pvalue: float
    low: float
    high: float
    confidence_level: float
    n_items: int
    n_raters: int
    n_omitted: int = 0


def _pair_sum(y: np.ndarray) -> np.ndarray:
    """``2 * sum_{j < l} y_j y_l`` along the last axis, without forming ``(sum y)^2``."""
    before = np.cumsum(y, axis=-1) - y
    return 2.0 * (y * before).sum(axis=-1)


def _anova_sums(x: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, ...]:
    """Two-way ANOVA sums of squares for rows of item weights (b, n): the statistics step.

    ``x`` is a complete (n, k) float64 matrix; ``weights[b, u]`` is how often item ``u`` is
    in sample ``b`` (all ones for the data itself, counts in a bootstrap resample). Returns
    ``(n, ss_items, ss_raters, ss_error, cross)``, each of shape (b,), from moments centred
    on the grand mean and on each item's mean, so no uncentred sum of squares is ever
    formed. ``cross`` is the sum of the centred cross products of distinct raters,
    ``sum_{j != l} C_jl = (k - 1)(n - 1)(MSB - MSE)``: the numerator of the forms 2 and 3
    without the cancellation of ``MSB - MSE`` (exactly 0 when one of two raters is
    constant, as in :func:`affectmetrics.icc`). The sums are in the units of ``x`` divided
    by a power of two (exact), which leaves every ratio of them unchanged.
    """
    k = x.shape[1]
    x = _pow2_scaled(x)[0]  # the ICC and F are unit-free; no overflow near 1e300
    xc = x - x.mean()
    rows = xc.mean(axis=1)
    d = xc - rows[:, None]  # within-item deviations
    n = weights.sum(axis=1)
    grand = (weights @ rows) / n
    rater_effect = (weights @ d) / n[:, None]  # (b, k): rater mean minus grand mean
    ss_items = k * (weights @ (rows * rows) - n * grand * grand)
    ss_raters = n * (rater_effect * rater_effect).sum(axis=1)
    ss_error = weights @ (d * d).sum(axis=1) - ss_raters
    # Centred per rater; a constant rater (max == min) is exactly 0, whatever the mean's
    # rounding.
    y = np.where(x.max(axis=0) == x.min(axis=0), 0.0, x - x.mean(axis=0))
    shift = (weights @ y) / n[:, None]  # (b, k): the resample's rater means, centred
    cross = weights @ _pair_sum(y) - n * _pair_sum(shift)
    return n, np.maximum(ss_items, 0.0), ss_raters, np.maximum(ss_error, 0.0), cross


def _mean_squares(n: np.ndarray, k: int, ss_items: np.ndarray, ss_raters: np.ndarray,
                  ss_error: np.ndarray) -> tuple[np.ndarray, ...]:
    """(MSB, MSW, MSJ, MSE): between items, within items, between raters, residual."""
    with np.errstate(invalid="ignore", divide="ignore"):
        msb = ss_items / (n - 1)
        msw = (ss_raters + ss_error) / (n * (k - 1))
        msj = ss_raters / (k - 1)
        mse = ss_error / ((n - 1) * (k - 1))
    return msb, msw, msj, mse


def _icc_values(n: np.ndarray, k: int, cross: np.ndarray, msb: np.ndarray, msw: np.ndarray,
                msj: np.ndarray, mse: np.ndarray) -> dict[str, np.ndarray]:
    """The six forms from the mean squares (the final step); nan where undefined.

    ``cross`` (from :func:`_anova_sums`) gives ``MSB - MSE = cross / ((k - 1)(n - 1))``.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = cross / ((k - 1) * (n - 1))  # MSB - MSE
    forms = {
        "1,1": (msb - msw, msb + (k - 1) * msw),
        "2,1": (agreement, msb + (k - 1) * mse + k * (msj - mse) / n),
        "3,1": (agreement, msb + (k - 1) * mse),
        "1,k": (msb - msw, msb),
        "2,k": (agreement, msb + (msj - mse) / n),
        "3,k": (agreement, msb),
    }
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for form, (num, den) in forms.items():
            defined = (n >= 2) & (den != 0)
            value = num / np.where(defined, den, 1.0)
            # den - num is a sum of non-negative mean squares, so value <= 1 where den > 0;
            # the rounding of num and den must not put it above (1 + 1e-15 at MSE = 0).
            # A negative den (form 2,k on tiny data) can give more than 1, as in pingouin.
            value = np.where(den > 0, np.minimum(value, 1.0), value)
            out[form] = np.where(defined, value, np.nan)
    return out


def _f_ratio(num: float, den: float) -> float:
    if den > 0:
        return num / den
    return float("inf") if num > 0 else float("nan")


def _icc_results(x: np.ndarray, confidence_level: float, n_omitted: int) -> dict[str, ICCResult]:
    n_items, k = x.shape
    n, ss_items, ss_raters, ss_error, cross = _anova_sums(x, np.ones((1, n_items)))
    squares = _mean_squares(n, k, ss_items, ss_raters, ss_error)
    values = {form: float(v[0]) for form, v in _icc_values(n, k, cross, *squares).items()}
    msb, msw, msj, mse = (float(v[0]) for v in squares)
    df1, df_w, df_e = n_items - 1.0, n_items * (k - 1.0), (n_items - 1.0) * (k - 1.0)
    f1, f3 = _f_ratio(msb, msw), _f_ratio(msb, mse)
    q = 1.0 - (1.0 - confidence_level) / 2.0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # Shrout & Fleiss (1979), forms 1 and 3: F-based limits.
        f1l, f1u = f1 / fdtri(df1, df_w, q), f1 * fdtri(df_w, df1, q)
        f3l, f3u = f3 / fdtri(df1, df_e, q), f3 * fdtri(df_e, df1, q)
        # McGraw & Wong (1996), form A: Satterthwaite's degrees of freedom.
        icc2, fj = values["2,1"], _f_ratio(msj, mse)
        a = k * icc2 * fj + n_items * (1 + (k - 1) * icc2) - k * icc2
        v = df_e * a**2 / (df1 * k**2 * icc2**2 * fj**2 + (n_items * (1 + (k - 1) * icc2)
                                                              - k * icc2) ** 2)
        if mse == 0.0:  # inf / inf above; the limit as MSE -> 0 is df_e / df1
            v = k - 1.0
        f2u, f2l = fdtri(df1, v, q), fdtri(v, df1, q)
        c = k * msj + (k * n_items - k - n_items) * mse
        l2 = n_items * (msb - f2u * mse) / (f2u * c + n_items * msb)
        u2 = n_items * (f2l * msb - mse) / (c + n_items * f2l * msb)
        limits = {
            # (F - 1) / (F + k - 1), written to reach its limit 1 at F = inf (MSE = 0).
            "1,1": (1 - k / (f1l + k - 1), 1 - k / (f1u + k - 1)),
            "2,1": (l2, u2),
            "3,1": (1 - k / (f3l + k - 1), 1 - k / (f3u + k - 1)),
            "1,k": (1 - 1 / f1l, 1 - 1 / f1u),
            "2,k": (l2 * k / (1 + l2 * (k - 1)), u2 * k / (1 + u2 * (k - 1))),
            "3,k": (1 - 1 / f3l, 1 - 1 / f3u),
        }
    out = {}
    for form in ICC_FORMS:
        one_way = form[0] == "1"
        f_value, df2 = (f1, df_w) if one_way else (f3, df_e)
        pvalue = float(fdtrc(df1, df2, f_value)) if df1 > 0 else float("nan")
        low, high = (float(b) for b in limits[form])
        if np.isnan(values[form]):
            low = high = float("nan")
        out[form] = ICCResult(form, values[form], float(f_value), df1, df2, pvalue, low, high,
                              float(confidence_level), int(n_items), int(k), n_omitted)
    return out


def _check_form(form: str) -> None:
    if form not in ICC_FORMS:
        raise ValueError(f"form must be one of {ICC_FORMS}, got {form!r}")


def _check_confidence_level(confidence_level: float) -> None:
    numeric = isinstance(confidence_level, Real) or (
        isinstance(confidence_level, np.ndarray) and confidence_level.ndim == 0
        and confidence_level.dtype.kind in "iuf")
    if isinstance(confidence_level, (bool, np.bool_)) or not numeric:
        raise TypeError(f"confidence_level must be a number in (0, 1), got "
                        f"{type(confidence_level).__name__} {confidence_level!r}")
    if not 0.0 < confidence_level < 1.0:
        raise ValueError(f"confidence_level must be in (0, 1), got {confidence_level!r}")


def _warn_icc(results: dict[str, ICCResult], forms: tuple[str, ...]) -> None:
    undefined = [form for form in forms if np.isnan(results[form].value)]
    if not undefined:
        return
    some = next(iter(results.values()))
    why = ("fewer than 2 items" if some.n_items < 2 else
           "no variance between items to compare with (every rating is the same, or the "
           "item means do not vary)")
    _warn_undefined(f"icc is undefined for form(s) {', '.join(undefined)}: {why}; "
                    "returning nan")


def icc_table(ratings: Any, *, confidence_level: float = 0.95,
              nan_policy: str = "raise") -> dict[str, ICCResult]:
    """All six intraclass correlation forms of a ratings matrix (as ``pingouin`` lists them).

    See :func:`icc` for the formulas; this computes the ANOVA once and returns
    ``{"1,1": ICCResult, "2,1": ..., "3,1": ..., "1,k": ..., "2,k": ..., "3,k": ...}``.

    Parameters
    ----------
    ratings : array-like of shape (n_items, n_raters)
        Numeric ratings, one row per item (target), one column per rater.
    confidence_level : float, default 0.95
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` drops every item with a missing rating (listwise deletion, as pingouin's
        ``nan_policy="omit"``).

    Returns
    -------
    dict of str to ICCResult

    Raises
    ------
    ValueError
        If ``ratings`` is not a 2-D matrix with at least 2 raters, holds inf, or holds NaN
        under ``nan_policy="raise"``.

    Warns
    -----
    UndefinedMetricWarning
        Once, naming the forms that are undefined (see :func:`icc`).

    Examples
    --------
    >>> from affectmetrics import annotations
    >>> table = annotations.icc_table([[1, 2], [3, 4], [5, 7]])
    >>> sorted(table)
    ['1,1', '1,k', '2,1', '2,k', '3,1', '3,k']
    >>> # MSB = 61/6, MSW = (8/3 + 1/3) / 3 = 1: ICC(1,1) = (61/6 - 1) / (61/6 + 1) = 55/67
    >>> round(table["1,1"].value, 6)
    0.820896
    """
    results = _icc_checked(ratings, confidence_level, nan_policy)
    _warn_icc(results, ICC_FORMS)
    return results


def _icc_checked(ratings: Any, confidence_level: float, nan_policy: str
                 ) -> dict[str, ICCResult]:
    _check_confidence_level(confidence_level)
    if nan_policy not in ("raise", "omit"):
        raise ValueError(f"nan_policy must be 'raise' or 'omit', got {nan_policy!r}")
    data = _check_ratings(ratings, nan_policy=nan_policy)
    return _icc_results(data.values, confidence_level, data.n_omitted)


def icc(ratings: Any, *, form: str = "3,1", confidence_level: float = 0.95,
        nan_policy: str = "raise") -> ICCResult:
    """Intraclass correlation of a ratings matrix, one form, with F test and interval.

    From the two-way ANOVA of n items by k raters with mean squares MSB (between items),
    MSW (within items), MSJ (between raters) and MSE (residual):

    .. math::

        \\mathrm{ICC}(1,1) = \\frac{MSB - MSW}{MSB + (k-1) MSW}, \\quad
        \\mathrm{ICC}(2,1) = \\frac{MSB - MSE}{MSB + (k-1) MSE + k (MSJ - MSE) / n}, \\quad
        \\mathrm{ICC}(3,1) = \\frac{MSB - MSE}{MSB + (k-1) MSE}

    and for the mean of the k ratings
    :math:`\\mathrm{ICC}(1,k) = (MSB - MSW) / MSB`,
    :math:`\\mathrm{ICC}(2,k) = (MSB - MSE) / (MSB + (MSJ - MSE) / n)`,
    :math:`\\mathrm{ICC}(3,k) = (MSB - MSE) / MSB`.

    Parameters
    ----------
    ratings : array-like of shape (n_items, n_raters)
        Numeric ratings, one row per item (target), one column per rater.
    form : {"1,1", "2,1", "3,1", "1,k", "2,k", "3,k"}, default "3,1"
        Form 1: each item rated by different random raters; 2: the same raters, a random
        sample (absolute agreement); 3: the same, fixed raters (consistency). ",k" is the
        reliability of the mean of the k raters. The default matches
        :func:`affectmetrics.icc` (truth against prediction).
    confidence_level : float, default 0.95
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` drops every item with a missing rating (listwise deletion, as pingouin's
        ``nan_policy="omit"``); the ANOVA needs a complete matrix.

    Returns
    -------
    ICCResult
        ``value`` is at most 1; it can be negative (down to about ``-1 / (k - 1)`` for the
        single-rating forms) when items differ less than chance. The one exception, as in
        pingouin: when MSE > n MSB + MSJ (a few items ranked in opposite orders) the
        denominator of ICC(2,k) is negative and its value can exceed 1.

    Raises
    ------
    ValueError
        If ``ratings`` is not a 2-D matrix with at least 2 raters, holds inf or NaN under
        ``nan_policy="raise"``, or ``form`` is unknown.

    Warns
    -----
    UndefinedMetricWarning
        ``"icc is undefined ..."`` when the form's denominator is 0 (every rating equal,
        for example, or MSB = 0 for the ",k" forms) or fewer than 2 items remain; the value
        and interval are then nan.

    Notes
    -----
    The interval of forms 1 and 3 uses the F distribution (Shrout & Fleiss 1979), that of
    form 2 Satterthwaite's approximate degrees of freedom (McGraw & Wong 1996), as pingouin
    and R's ``psych::ICC`` do. pingouin prints its intervals rounded to 2 decimals and
    always at 95%; this function returns them at full precision and any level.

    References
    ----------
    P. E. Shrout, J. L. Fleiss, "Intraclass correlations: uses in assessing rater
    reliability", Psychological Bulletin 86(2), 1979 (``shrout1979intraclass``);
    K. O. McGraw, S. P. Wong, "Forming inferences about some intraclass correlation
    coefficients", Psychological Methods 1(1), 1996 (``mcgraw1996forming``).

    Examples
    --------
    >>> from affectmetrics import annotations
    >>> # Items (1, 2), (3, 4), (5, 7), grand mean 11/3: item means 1.5, 3.5, 6 give
    >>> # SS_items = 61/3, MSB = 61/6; rater means 3, 13/3 give SS_raters = 8/3;
    >>> # SS_total = 70/3, so SS_error = 1/3 and MSE = 1/6:
    >>> # ICC(3,1) = (61/6 - 1/6) / (61/6 + 1/6) = 30/31
    >>> round(annotations.icc([[1, 2], [3, 4], [5, 7]]).value, 6)
    0.967742
    """
    _check_form(form)
    results = _icc_checked(ratings, confidence_level, nan_policy)
    _warn_icc(results, (form,))
    return results[form]
