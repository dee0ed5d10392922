"""Rows of Krippendorff's alpha with two coders, the edge cases where a ratings matrix
(affectmetrics.annotations) and the two-coder function must give one value.

Expected values are checked by hand in the comments (coincidence matrix o = CM + CM^T,
marginals n_c, n.. = 2n; alpha = 1 - (n.. - 1) sum(o d2) / sum(n_c n_k d2)).
"""

from __future__ import annotations

import numpy as np

from .registry import Case, add_cases

nan = float("nan")
METRIC = "krippendorff_alpha"

add_cases(
    # Krippendorff (2011), section A: o = [[10, 4], [4, 2]], n = (14, 6), n.. = 20:
    # 1 - 19 * 8 / (2 * 14 * 6) = 16/168.
    Case(f"{METRIC}/two-coder-binary-example", METRIC,
         [0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0], expected=16 / 168),
    Case(f"{METRIC}/two-coder-perfect-agreement", METRIC, [3, 1, 2, 2], [3, 1, 2, 2],
         expected=1.0),
    # One value throughout: the expected disagreement is 0.
    Case(f"{METRIC}/two-coder-one-value-throughout", METRIC, [4, 4, 4], [4, 4, 4],
         expected=nan),
    # o = [[0, 2], [2, 0]], n = (2, 2), n.. = 4: 1 - 3 * 4 / (2 * 2 * 2) = -1/2.
    Case(f"{METRIC}/two-coder-systematic-disagreement", METRIC, [0, 1], [1, 0],
         expected=-0.5),
    # The NaN unit is dropped (omit) or not pairable (ratings matrix): units (0, 0), (1, 0),
    # (1, 1): o = [[2, 1], [1, 2]], n = (3, 3), n.. = 6: 1 - 5 * 2 / (2 * 9) = 4/9.
    Case(f"{METRIC}/two-coder-missing-omitted", METRIC, [0.0, 1.0, nan, 1.0],
         [0.0, 0.0, 1.0, 1.0], {"nan_policy": "omit"}, expected=4 / 9),
    # Interval on values (1, 2, 4): units (1, 2), (2, 4), (4, 4): o has (1,2),(2,1),
    # (2,4),(4,2) once and (4,4) twice; n = (1, 2, 3), n.. = 6.
    # sum o d2 = 2 * 1 + 2 * 4 = 10; sum n_c n_k d2 = 2 * (1*2*1 + 1*3*9 + 2*3*4) = 106:
    # 1 - 5 * 10 / 106 = 28/53.
    Case(f"{METRIC}/two-coder-interval-unequal-gaps", METRIC, [1, 2, 4], [2, 4, 4],
         {"level": "interval"}, expected=28 / 53),
    Case(f"{METRIC}/two-coder-ordinal-negative-labels", METRIC, [-2, -1, 0, 1, 1, -2],
         [-2, 0, 0, 1, -1, -1], {"level": "ordinal"}),
    Case(f"{METRIC}/two-coder-ratio-with-zero", METRIC, [0, 1, 2, 5, 5, 0],
         [0, 2, 2, 4, 5, 1], {"level": "ratio"}),
    Case(f"{METRIC}/two-coder-interval-far-from-zero", METRIC,
         np.array([1e8, 1e8 + 1, 1e8 + 2, 1e8 + 3]), np.array([1e8, 1e8 + 2, 1e8 + 2, 1e8 + 3]),
         {"level": "interval"}),
    Case(f"{METRIC}/two-coder-inf-refused", METRIC, [0.0, np.inf], [0.0, 1.0],
         expected=ValueError),
)
