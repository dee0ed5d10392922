"""Rows of the continuous metrics (CCC, Pearson's r, RMSE, SAGR): issue 10's edge cases.

Expected values come from :func:`reference`, an independent transcription of the formulas in
exact rational arithmetic (``fractions.Fraction`` on the float64 values of the data, one
rounding at the end), or are checked by hand in the comments.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from .registry import Case, add_cases

nan = float("nan")
CONTINUOUS = ("ccc", "pearson", "rmse", "sagr")


def _sqrt(value: Fraction) -> float:
    """The square root of a non-negative fraction, to float64 precision, at any magnitude."""
    if value == 0:
        return 0.0
    shift = max(0, 240 - value.numerator.bit_length() + value.denominator.bit_length()) // 2
    root = Fraction(math.isqrt((value.numerator << (2 * shift)) // value.denominator),
                    1 << shift)
    try:
        return float(root)
    except OverflowError:
        return math.inf


def _column(t: list[Fraction], p: list[Fraction], metric: str) -> float:
    n = len(t)
    mt, mp = sum(t) / n, sum(p) / n
    vt = sum((x - mt) ** 2 for x in t) / n
    vp = sum((y - mp) ** 2 for y in p) / n
    cov = sum((x - mt) * (y - mp) for x, y in zip(t, p, strict=True)) / n
    if metric == "ccc":
        denom = vt + vp + (mt - mp) ** 2
        return nan if denom == 0 else float(2 * cov / denom)
    if metric == "pearson":
        if vt == 0 or vp == 0:
            return nan
        r = _sqrt(cov * cov / (vt * vp))
        return r if cov >= 0 else -r
    if metric == "rmse":
        mse = sum((x - y) ** 2 for x, y in zip(t, p, strict=True)) / n
        return _sqrt(mse)
    return sum(np.sign(float(x)) == np.sign(float(y)) for x, y in zip(t, p, strict=True)) / n


def reference(metric: str, y_true: Any, y_pred: Any) -> float | np.ndarray:
    """The metric in exact arithmetic on the float64 values of the data (nan if undefined)."""
    t = np.asarray(y_true).astype(np.float64)
    p = np.asarray(y_pred).astype(np.float64)
    if t.ndim == 1:
        return _column([Fraction(x) for x in t], [Fraction(y) for y in p], metric)
    return np.array([_column([Fraction(x) for x in t[:, j]], [Fraction(y) for y in p[:, j]],
                             metric) for j in range(t.shape[1])])


def _rows(what: str, y_true: Any, y_pred: Any, metrics: tuple[str, ...] = CONTINUOUS,
          **kwargs: Any) -> list[Case]:
    """One row per metric, each with its reference value."""
    return [Case(f"{metric}/{what}", metric, y_true, y_pred, kwargs,
                 reference(metric, y_true, y_pred)) for metric in metrics]


_rng = np.random.default_rng(2026)
_x = _rng.uniform(-1, 1, 30)
_y = 0.6 * _x + _rng.normal(0, 0.4, 30)
# Issue 10's first example: va (40, 2) uniform in [-1, 1]; the prediction's first column is
# the constant 0.3 (a collapsed head), its second the truth plus noise.
VA = _rng.uniform(-1, 1, (40, 2))
VA_PRED = np.column_stack([np.full(40, 0.3), VA[:, 1] + _rng.normal(0, 0.3, 40)])
_noise16 = _rng.normal(0, 1, 40)

add_cases(
    # y = 2x + 1: r = 1 exactly; CCC from means 2.5 / 6, variances 1.25 / 5, covariance 2.5:
    # 2 * 2.5 / (1.25 + 5 + 3.5**2) = 5 / 18.5
    Case("pearson/affine-exact", "pearson", [1, 2, 3, 4], [3, 5, 7, 9], expected=1.0),
    Case("ccc/affine", "ccc", [1, 2, 3, 4], [3, 5, 7, 9], expected=5 / 18.5),
    # squared errors 0, 0, 4: sqrt(4 / 3)
    Case("rmse/basic", "rmse", [0, 1, 2], [0, 1, 4], expected=math.sqrt(4 / 3)),
    # signs (+,+), (-,+), (0,0), (-,-): three of four agree
    Case("sagr/basic", "sagr", [0.5, -0.2, 0.0, -1.0], [0.1, 0.3, 0.0, -0.4], expected=0.75),
    *_rows("random-1d", _x, _y),
    *_rows("random-2d", np.column_stack([_x, _y]), np.column_stack([_y, _x ** 2])),
    # Constant prediction while the truth varies: CCC exactly 0, Pearson undefined.
    *_rows("constant-pred-1d", _x, np.full(30, 0.3)),
    *_rows("constant-true-1d", np.full(30, -0.1), _y),
    *_rows("issue10-constant-pred-col0-2d", VA, VA_PRED),
    *_rows("constant-true-col1-2d", np.column_stack([_x, np.full(30, 0.7)]),
           np.column_stack([_y, _x])),
    # Both constant and equal: CCC 0/0 and Pearson undefined; RMSE 0, SAGR 1.
    *_rows("both-constant-equal", [0.3] * 4, [0.3] * 4),
    # Both constant, unequal: CCC = 0 / (0 + 0 + 0.2**2) = 0; RMSE 0.2.
    *_rows("both-constant-unequal", [0.3] * 4, [0.5] * 4),
    *_rows("both-constant-equal-col1-2d", [[0.1, 0.3], [0.2, 0.3], [0.4, 0.3]],
           [[0.2, 0.3], [0.1, 0.3], [0.5, 0.3]]),
    # n = 1: both sides constant; n = 2 with inverted order: r = CCC = -1, RMSE 1, SAGR 0.
    *_rows("n1", [0.5], [0.2]),
    *_rows("n2-inverted", [0.0, 1.0], [1.0, 0.0]),
    *_rows("n2-2d", [[0.0, 1.0], [1.0, 3.0]], [[0.5, -1.0], [2.0, 2.0]]),
    # Tiny and huge magnitudes: Pearson and CCC are invariant to a common scale (issue 10:
    # [0, 1e-170] used to be "constant"; 1e160 used to overflow).
    Case("pearson/tiny-two-points", "pearson", [0, 1e-170], [0, 1e-170], expected=1.0),
    Case("ccc/tiny-two-points", "ccc", [0, 1e-170], [0, 1e-170], expected=1.0),
    *_rows("tiny-1e-170", _x * 1e-170, _y * 1e-170),
    *_rows("huge-1e160", _x * 1e160, _y * 1e160),
    *_rows("huge-1e300-vs-unit", _x * 1e300, _y),
    *_rows("subnormal", _x * 1e-310, _y * 1e-310),
    *_rows("huge-opposite-signs", [1e308, -1e308, 5e307], [-1e308, 1e308, 0.0]),
    # The full float64 range: max - min overflows (RMSE is inf: the true RMSE 2.8e308 does).
    *_rows("huge-full-range", [1.7e308, -1.7e308, 0.0], [-1.7e308, 1.7e308, 0.0]),
    # A tiny side against an all-zero side: the differences are tiny too. The scale of t - p
    # used to be max(S_t, S_p), 1 for the zero side, so the squares underflowed (RMSE 0).
    *_rows("tiny-pred-zero-truth", [0.0, 0.0, 0.0], [0.0, -2e-170, -1e-170]),
    *_rows("tiny-truth-zero-pred-2d", [[1e-170, 0.5], [0.0, 0.1], [3e-170, 0.2]],
           [[0.0, 0.4], [0.0, 0.3], [0.0, 0.1]]),
    # Small errors between large values in a column that also holds small ones: the
    # difference t - p is exact in float64 (-2, -1, 3, 0: RMSE sqrt(14 / 4)); it used to be
    # taken after shifting both sides by their medians (1e16 - 3 rounds), giving sqrt(17 / 4).
    *_rows("wide-range-small-errors", [1e16, 0.0, 5.0, 3.0], [1e16 + 2, 1.0, 2.0, 3.0]),
    *_rows("wide-range-far-pivot", [1e8 + 0.3, 0.0, 0.7], [1e8 + 0.2, 0.1, 0.5]),
    # Far from zero in narrow floats: exact as float64 of the same values.
    *_rows("float16-far-from-zero", (1000 + 4 * _noise16).astype(np.float16),
           (1000 + 4 * _noise16 + 2 * _rng.normal(0, 1, 40)).astype(np.float16)),
    *_rows("float32-far-from-zero", (1e4 + _x).astype(np.float32),
           (1e4 + _y).astype(np.float32)),
    *_rows("float32-2d", np.column_stack([_x, _y]).astype(np.float32),
           np.column_stack([_y, _x]).astype(np.float32)),
    # Integers and booleans.
    *_rows("int8", np.array([-3, 5, 0, 7, -1], np.int8), np.array([-2, 4, 1, 6, 0], np.int8)),
    *_rows("uint8", np.array([3, 250, 0, 7, 1], np.uint8), np.array([2, 251, 1, 6, 0], np.uint8)),
    *_rows("int64-list", [1, 2, 3, 4, 5], [2, 2, 3, 5, 4]),
    *_rows("bool", np.array([True, False, True, True]), np.array([True, False, False, True])),
    # NaN: refused under "raise", the row dropped under "omit".
    *(Case(f"{metric}/nan-raise", metric, [0.1, nan, 0.3], [0.2, 0.1, 0.4],
           expected=ValueError) for metric in CONTINUOUS),
    *(Case(f"{metric}/nan-omit", metric, [0.1, nan, 0.3, 0.5], [0.2, 0.1, 0.4, nan],
           {"nan_policy": "omit"}, reference(metric, [0.1, 0.3], [0.2, 0.4]))
      for metric in CONTINUOUS),
    *(Case(f"{metric}/nan-omit-2d", metric, [[0.1, 1.0], [nan, 2.0], [0.3, 0.5], [0.6, 0.7]],
           [[0.2, 1.5], [0.1, 2.0], [0.4, 0.1], [0.2, 0.0]], {"nan_policy": "omit"},
           reference(metric, [[0.1, 1.0], [0.3, 0.5], [0.6, 0.7]],
                     [[0.2, 1.5], [0.4, 0.1], [0.2, 0.0]]))
      for metric in CONTINUOUS),
    # inf is refused under both policies; shapes must match.
    *(Case(f"{metric}/inf", metric, [0.1, np.inf, 0.3], [0.2, 0.1, 0.4],
           {"nan_policy": "omit"}, ValueError) for metric in CONTINUOUS),
    *(Case(f"{metric}/shape-mismatch", metric, [[0.1], [0.2]], [0.1, 0.2], expected=ValueError)
      for metric in CONTINUOUS),
)
