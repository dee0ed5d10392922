"""Rows of the continuous metrics (CCC, Pearson's r, RMSE, SAGR): issue 10's edge cases.

Expected values are checked by hand (comments) or against SciPy where said.
"""

from __future__ import annotations

import numpy as np

from .registry import Case, add_cases

nan = float("nan")
CONTINUOUS = ("ccc", "pearson", "rmse", "sagr")

_x = np.array([0.5, -0.2, 0.1, 0.9, -0.7])
_y = np.array([0.4, -0.1, 0.3, 0.6, -0.5])

add_cases(
    # y = 2x + 1: r = 1 exactly; CCC from means 2.5 / 6, variances 1.25 / 5, cov 2.5:
    # 2 * 2.5 / (1.25 + 5 + 3.5**2) = 5 / 18.5
    Case("pearson/affine-exact", "pearson", [1, 2, 3, 4], [3, 5, 7, 9], expected=1.0),
    Case("ccc/affine", "ccc", [1, 2, 3, 4], [3, 5, 7, 9], expected=5 / 18.5),
    Case("rmse/basic", "rmse", [0, 1, 2], [0, 1, 4], expected=float(np.sqrt(4 / 3))),
    Case("sagr/basic", "sagr", [0.5, -0.2, 0.0, -1.0], [0.1, 0.3, 0.0, -0.4], expected=0.75),
    # Constant prediction while the truth varies: CCC exactly 0, Pearson undefined.
    Case("ccc/constant-pred", "ccc", _x, np.full(5, 0.3), expected=0.0),
    Case("pearson/constant-pred", "pearson", _x, np.full(5, 0.3), expected=nan),
)
