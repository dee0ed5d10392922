"""Continuous metrics for valence, arousal and AU intensity: CCC, Pearson's r, RMSE, SAGR,
the intraclass correlation (ICC) and MAE.

All of them take ``(y_true, y_pred)`` of shape ``(n,)`` (returning a ``float``) or ``(n, k)``
(returning one value per column as an ``ndarray``), compute in float64 whatever the input
dtype, and use population moments (divide by n). Each is the statistics step in
``_moments.py`` followed by a from-statistics step, which the streaming accumulators and the
framework adapters share, so all of them agree by construction. MAE alone needs a
statistic the moments do not hold (the sum of absolute differences); it is computed directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._moments import (
    _ccc_from_moments,
    _check_icc_form,
    _icc_from_moments,
    _Moments,
    _moments,
    _pearson_from_moments,
    _rmse_from_moments,
    _sagr_from_moments,
    _scale,
)
from ._validation import _check_continuous

__all__ = ["ccc", "icc", "mae", "pearson", "rmse", "sagr"]


def _continuous_moments(y_true: Any, y_pred: Any, nan_policy: str) -> tuple[_Moments, bool]:
    t, p, _ = _check_continuous(y_true, y_pred, nan_policy=nan_policy)
    was_1d = t.ndim == 1
    if was_1d:
        t, p = t[:, None], p[:, None]
    return _moments(t, p), was_1d


def _score(
    final: Callable[[_Moments], np.ndarray], y_true: Any, y_pred: Any, nan_policy: str
) -> float | np.ndarray:
    m, was_1d = _continuous_moments(y_true, y_pred, nan_policy)
    values = final(m)
    return float(values[0]) if was_1d else values


def ccc(y_true: Any, y_pred: Any, *, nan_policy: str = "raise") -> float | np.ndarray:
    """Lin's concordance correlation coefficient.

    .. math::

        \\mathrm{CCC} = \\frac{2 s_{xy}}{s_x^2 + s_y^2 + (\\bar x - \\bar y)^2}

    with population moments (divide by n), as in Lin (1989), the AffectNet paper and the
    ABAW challenges.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,) or (n, k)
        Ground truth and predictions; with 2-D input every column is scored separately.
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` drops every sample (row) that has a NaN in either argument.

    Returns
    -------
    float or ndarray of shape (k,)
        In [-1, 1]; 1 is perfect agreement.

    Raises
    ------
    ValueError
        Empty input, mismatched shapes, more than 2 dimensions, inf, or NaN under
        ``nan_policy="raise"``.
    TypeError
        Non-numeric input.

    Warns
    -----
    UndefinedMetricWarning
        When both sides are constant and equal (the denominator is 0); nan is returned.

    Notes
    -----
    A constant prediction has CCC exactly 0 when the truth varies. "Constant" is decided
    exactly (max == min), never by comparing a computed variance with zero.
    torchmetrics' ``concordance_corrcoef`` uses sample (n-1) moments, which gives a slightly
    different value for small n.

    References
    ----------
    L. I.-K. Lin, "A concordance correlation coefficient to evaluate reproducibility",
    Biometrics 45(1), 255-268, 1989.

    Examples
    --------
    >>> import affectmetrics as am
    >>> # means 2 and 3; s_x^2 = 2/3, s_y^2 = 2/3, s_xy = 2/3: 2*(2/3) / (4/3 + 1) = 4/7
    >>> round(am.ccc([1, 2, 3], [2, 3, 4]), 6)
    0.571429
    """
    return _score(_ccc_from_moments, y_true, y_pred, nan_policy)


def pearson(y_true: Any, y_pred: Any, *, nan_policy: str = "raise") -> float | np.ndarray:
    """Pearson's correlation coefficient.

    .. math::

        r = \\frac{s_{xy}}{s_x s_y}

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,) or (n, k)
        Ground truth and predictions; with 2-D input every column is scored separately.
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` drops every sample (row) that has a NaN in either argument.

    Returns
    -------
    float or ndarray of shape (k,)
        In [-1, 1].

    Warns
    -----
    UndefinedMetricWarning
        When either side is constant (decided exactly); nan is returned.

    Notes
    -----
    Invariant to positive affine maps of either side; blind to bias and scale, which is
    why affect papers report CCC beside it.

    Examples
    --------
    >>> import affectmetrics as am
    >>> # y = 2x + 1 exactly: r = 1
    >>> am.pearson([1, 2, 3, 4], [3, 5, 7, 9])
    1.0
    """
    return _score(_pearson_from_moments, y_true, y_pred, nan_policy)


def rmse(y_true: Any, y_pred: Any, *, nan_policy: str = "raise") -> float | np.ndarray:
    """Root mean squared error.

    .. math::

        \\mathrm{RMSE} = \\sqrt{\\tfrac{1}{n} \\sum_i (x_i - y_i)^2}

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,) or (n, k)
        Ground truth and predictions; with 2-D input every column is scored separately.
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` drops every sample (row) that has a NaN in either argument.

    Returns
    -------
    float or ndarray of shape (k,)
        Non-negative, in the units of the data; lower is better.

    Examples
    --------
    >>> import affectmetrics as am
    >>> # squared errors 0, 0, 4: sqrt(4 / 3)
    >>> round(am.rmse([0, 1, 2], [0, 1, 4]), 6)
    1.154701
    """
    return _score(_rmse_from_moments, y_true, y_pred, nan_policy)


def sagr(y_true: Any, y_pred: Any, *, nan_policy: str = "raise") -> float | np.ndarray:
    """Sign agreement: the fraction of samples whose prediction has the truth's sign.

    .. math::

        \\mathrm{SAGR} = \\tfrac{1}{n} \\sum_i [\\mathrm{sign}(x_i) = \\mathrm{sign}(y_i)]

    ``numpy.sign`` is used, so 0 agrees only with 0.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,) or (n, k)
        Ground truth and predictions; with 2-D input every column is scored separately.
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` drops every sample (row) that has a NaN in either argument.

    Returns
    -------
    float or ndarray of shape (k,)
        In [0, 1].

    References
    ----------
    A. Mollahosseini, B. Hasani, M. H. Mahoor, "AffectNet: A database for facial expression,
    valence, and arousal computing in the wild", IEEE Trans. Affective Computing 10(1), 2017.

    Examples
    --------
    >>> import affectmetrics as am
    >>> # signs (+,+), (-,+), (0,0), (-,-): three of four agree
    >>> am.sagr([0.5, -0.2, 0.0, -1.0], [0.1, 0.3, 0.0, -0.4])
    0.75
    """
    return _score(_sagr_from_moments, y_true, y_pred, nan_policy)


def icc(
    y_true: Any, y_pred: Any, *, form: str = "3,1", nan_policy: str = "raise"
) -> float | np.ndarray:
    """Intraclass correlation between truth and prediction, two raters (Shrout & Fleiss).

    Truth and prediction are the two "raters" of the n samples ("targets"). With the
    two-way ANOVA of that (n, 2) table, mean squares MSR (targets, n - 1 degrees of
    freedom), MSC (raters, 1), MSE (residual, n - 1) and the one-way MSW (within targets, n),
    and k = 2:

    .. math::

        \\mathrm{ICC}(1,1) = \\frac{MSR - MSW}{MSR + (k-1) MSW}, \\quad
        \\mathrm{ICC}(2,1) = \\frac{MSR - MSE}{MSR + (k-1) MSE + k (MSC - MSE) / n}, \\quad
        \\mathrm{ICC}(3,1) = \\frac{MSR - MSE}{MSR + (k-1) MSE},

    and the averages of k ratings ``"1,k"``: (MSR - MSW) / MSR, ``"2,k"``:
    (MSR - MSE) / (MSR + (MSC - MSE) / n), ``"3,k"``: (MSR - MSE) / MSR.

    **From the moments CCC uses.** With centred sums :math:`S_{tt}, S_{pp}, S_{tp}`, mean
    difference :math:`d = \\bar t - \\bar p` and :math:`SSE_{raw} = \\sum (t_i - p_i)^2`,
    the grand mean is :math:`(\\bar t + \\bar p)/2` and each row mean deviates from it by
    :math:`((t_i - \\bar t) + (p_i - \\bar p))/2`, so

    .. math::

        SS_R = \\tfrac12 (S_{tt} + S_{pp} + 2 S_{tp}), \\quad
        SS_C = \\tfrac{n}{2} d^2, \\quad
        SS_E = \\tfrac12 (S_{tt} + S_{pp} - 2 S_{tp}) = \\tfrac12 (SSE_{raw} - n d^2), \\quad
        SS_W = SS_C + SS_E = \\tfrac12 SSE_{raw},

    with MSR = SS_R / (n - 1), MSC = SS_C, MSE = SS_E / (n - 1), MSW = SS_W / n. Hence
    :math:`\\mathrm{ICC}(3,1) = 2 S_{tp} / (S_{tt} + S_{pp})` (Lin's CCC without the bias
    term) and, in population moments, :math:`\\mathrm{ICC}(2,1) = 2 n s_{tp} /
    ((n-1)(s_t^2 + s_p^2 + d^2) + 2 s_{tp})`. Every quantity is a mergeable moment, so the
    ICC streams and merges exactly like CCC (:class:`~affectmetrics.ContinuousAccumulator`
    reports ICC(3,1) as ``icc``).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,) or (n, k)
        Ground truth and predictions (e.g. AU intensities 0-5); with 2-D input every column
        is scored separately.
    form : {"3,1", "2,1", "1,1", "3,k", "2,k", "1,k"}, default "3,1"
        ``"3,1"``: two-way mixed, consistency (FERA 2015/2017, DISFA);
        ``"2,1"``: two-way random, absolute agreement; ``"1,1"``: one-way random.
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` drops every sample (row) that has a NaN in either argument.

    Returns
    -------
    float or ndarray of shape (k,)
        ICC(3,1) and ICC(1,1) lie in [-1, 1], ICC(2,1) in [-n/(n-2), 1] (-3 for three
        perfectly anti-concordant samples), ICC(3,k) and ICC(1,k) are at most 1; ICC(2,k)
        is unbounded (its denominator MSR + (MSC - MSE)/n is negative when MSE exceeds
        n MSR + MSC), as in pingouin.

    Raises
    ------
    ValueError
        As :func:`ccc`; or an unknown ``form``.

    Warns
    -----
    UndefinedMetricWarning
        With fewer than 2 samples, or a zero denominator: ICC(3,1) when both sides are
        constant, ICC(2,1) and ICC(1,1) when both are constant and equal (or, for n = 2,
        perfectly anti-concordant), ICC(3,k) and ICC(1,k) when MSR = 0 (y_true + y_pred
        constant; pingouin gives -inf); nan is returned.

    Notes
    -----
    Equal to pingouin's ``intraclass_corr`` (ICC3, ICC2, ICC1, ICC3k, ICC2k, ICC1k) on the
    long table of the two raters. A constant prediction has ICC(3,1) exactly 0 when the
    truth varies.

    References
    ----------
    P. E. Shrout, J. L. Fleiss, "Intraclass correlations: uses in assessing rater
    reliability", Psychological Bulletin 86(2), 420-428, 1979.
    K. O. McGraw, S. P. Wong, "Forming inferences about some intraclass correlation
    coefficients", Psychological Methods 1(1), 30-46, 1996.

    Examples
    --------
    >>> import affectmetrics as am
    >>> # S_tt = 2, S_pp = 2, S_tp = 2 (p = t + 1): ICC(3,1) = 2*2 / (2 + 2) = 1
    >>> am.icc([1, 2, 3], [2, 3, 4])
    1.0
    >>> # the bias d = -1 counts in ICC(2,1): 2*3*(2/3) / (2*(2/3 + 2/3 + 1) + 2*(2/3)) = 2/3
    >>> round(am.icc([1, 2, 3], [2, 3, 4], form="2,1"), 6)
    0.666667
    """
    _check_icc_form(form)
    m, was_1d = _continuous_moments(y_true, y_pred, nan_policy)
    values = _icc_from_moments(m, form)
    return float(values[0]) if was_1d else values


def mae(y_true: Any, y_pred: Any, *, nan_policy: str = "raise") -> float | np.ndarray:
    """Mean absolute error.

    .. math::

        \\mathrm{MAE} = \\tfrac{1}{n} \\sum_i |x_i - y_i|

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,) or (n, k)
        Ground truth and predictions; with 2-D input every column is scored separately.
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` drops every sample (row) that has a NaN in either argument.

    Returns
    -------
    float or ndarray of shape (k,)
        Non-negative, in the units of the data; lower is better. Always defined (n >= 1).

    References
    ----------
    M. F. Valstar et al., "FERA 2015 - second facial expression recognition and analysis
    challenge", IEEE FG 2015 (AU intensity is scored by ICC, RMSE/MAE and Pearson).

    Examples
    --------
    >>> import affectmetrics as am
    >>> # absolute errors 0, 1, 2: 3 / 3
    >>> am.mae([0, 1, 2], [0, 2, 4])
    1.0
    """
    t, p, _ = _check_continuous(y_true, y_pred, nan_policy=nan_policy)
    t, p = t.astype(np.float64), p.astype(np.float64)
    # The power-of-two scale of the moments (exact): 1 for affect data; beyond 2**300 the
    # differences and their sum would overflow (|1e308 - -1e308|), below 2**-300 lose digits.
    scale = np.maximum(_scale(t.min(axis=0), t.max(axis=0), np),
                       _scale(p.min(axis=0), p.max(axis=0), np))
    if np.all(scale == 1.0):
        values = np.abs(t - p).mean(axis=0)
    else:
        with np.errstate(over="ignore"):  # inf only where the true MAE overflows
            values = np.abs(t / scale - p / scale).mean(axis=0) * scale
    return float(values) if t.ndim == 1 else values
