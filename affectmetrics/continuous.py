"""Continuous metrics for valence and arousal: CCC, Pearson's r, RMSE and SAGR.

All four take ``(y_true, y_pred)`` of shape ``(n,)`` (returning a ``float``) or ``(n, k)``
(returning one value per column as an ``ndarray``), compute in float64 whatever the input
dtype, and use population moments (divide by n). Each is the statistics step in
``_moments.py`` followed by a from-statistics step, which the streaming accumulators and the
framework adapters share, so all of them agree by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._moments import (
    _ccc_from_moments,
    _Moments,
    _moments,
    _pearson_from_moments,
    _rmse_from_moments,
    _sagr_from_moments,
)
from ._validation import _check_continuous

__all__ = ["ccc", "pearson", "rmse", "sagr"]


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
