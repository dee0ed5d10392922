"""Rows of the protocol metrics: UAR, ICC, MAE and the multi-label (action unit) metrics.

Every expected value is checked by hand in the comment beside it.
"""

from __future__ import annotations

import numpy as np

from .registry import Case, add_cases

nan = float("nan")
AU_TRUTH = [[1, 0], [1, 1], [0, 1], [0, 0]]
AU_SCORES = [[0.9, 0.2], [0.4, 0.8], [0.1, 0.7], [0.6, 0.1]]
rng = np.random.default_rng(13)
_labels = rng.integers(0, 4, 60)
_scores = rng.random((60, 4)) + 0.4 * np.eye(4)[_labels]
_intensity = rng.integers(0, 6, (50, 3)).astype(float)
_intensity_pred = np.clip(_intensity + rng.normal(0, 1, _intensity.shape), 0, 5)
_au = (rng.random((80, 5)) < 0.3).astype(int)
_au_scores = np.clip(0.4 * _au + 0.7 * rng.random((80, 5)), 0, 1)

add_cases(
    # -- UAR -----------------------------------------------------------------------------
    # recalls 1/2 and 2/2
    Case("uar/two-classes", "uar", [0, 0, 1, 1], [0, 1, 1, 1], expected=0.75),
    # the study's constant predictor: recalls 1, 0, ..., 0 over 8 classes
    Case("uar/constant-pred-8-classes", "uar", np.repeat(np.arange(8), 100),
         np.zeros(800, int), expected=0.125),
    # class 1 predicted, never true: recall 0 (zero_division); (1/2 + 0) / 2
    Case("uar/predicted-only-class", "uar", [0, 0], [0, 1], expected=0.25),
    # ... or left out with zero_division=nan: 1/2
    Case("uar/predicted-only-class-nan", "uar", [0, 0], [0, 1],
         {"zero_division": nan}, expected=0.5),
    # class 2 named in labels, absent from both: (1 + 1 + 0) / 3, or (1 + 1 + 1) / 3
    Case("uar/absent-label-zero", "uar", [0, 1], [0, 1], {"labels": [0, 1, 2]},
         expected=2 / 3),
    Case("uar/absent-label-one", "uar", [0, 1], [0, 1],
         {"labels": [0, 1, 2], "zero_division": 1.0}, expected=1.0),
    # arg-max predictions 0, 1, 0: recalls 1 and 1/2
    Case("uar/score-matrix", "uar", [0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]],
         expected=0.75),
    # the NaN row goes: predictions 0, 1 for truth 0, 1
    Case("uar/nan-omit", "uar", [0, 1, 1], [[0.9, 0.1], [np.nan, 0.5], [0.2, 0.8]],
         {"nan_policy": "omit"}, expected=1.0),
    Case("uar/nan-raise", "uar", [0, 1, 1], [[0.9, 0.1], [np.nan, 0.5], [0.2, 0.8]],
         expected=ValueError),
    Case("uar/bad-zero-division", "uar", [0, 1], [0, 1], {"zero_division": 0.5},
         expected=ValueError),
    Case("uar/empty", "uar", [], [], expected=ValueError),
    # scikit-learn's default is not one of this library's values: refused, by name
    Case("uar/zero-division-warn", "uar", [0, 1], [0, 1], {"zero_division": "warn"},
         expected=TypeError),
    Case("uar/random-scores", "uar", _labels, _scores),
    # -- ICC -----------------------------------------------------------------------------
    # p = t + 1: S_tt = S_pp = S_tp = 2: ICC(3,1) = 2*2 / (2 + 2)
    Case("icc/shift-by-one", "icc", [1, 2, 3], [2, 3, 4], expected=1.0),
    # 2 n s_tp / ((n-1)(s_t^2 + s_p^2 + d^2) + 2 s_tp) = 4 / (2 (4/3 + 1) + 4/3) = 2/3
    Case("icc/shift-by-one-2,1", "icc", [1, 2, 3], [2, 3, 4], {"form": "2,1"},
         expected=2 / 3),
    # MSR = 8/4 = 2, MSW = 3/6 = 1/2: (2 - 1/2) / (2 + 1/2)
    Case("icc/shift-by-one-1,1", "icc", [1, 2, 3], [2, 3, 4], {"form": "1,1"}, expected=0.6),
    # t + p constant, equal means: MSR = MSC = 0, MSE = 4/2 = 2:
    # ICC(2,1) = -2 / (0 + 2 + 2 (0 - 2)/3) = -3 (below -1); ICC(2,k) = -2 / ((0 - 2)/3) = 3
    Case("icc/anti-concordant-2,1", "icc", [1, 2, 3], [3, 2, 1], {"form": "2,1"},
         expected=-3.0),
    Case("icc/anti-concordant-2,k", "icc", [1, 2, 3], [3, 2, 1], {"form": "2,k"},
         expected=3.0),
    # MSR = 2, MSE = 0: (MSR - MSE) / MSR
    Case("icc/shift-by-one-3,k", "icc", [1, 2, 3], [2, 3, 4], {"form": "3,k"}, expected=1.0),
    # S_tp = 0 exactly for a constant prediction
    Case("icc/constant-pred", "icc", [1.0, 2.0, 4.0], [0.3, 0.3, 0.3], expected=0.0),
    # S_tt + S_pp = 0: undefined
    Case("icc/both-constant", "icc", [2.0, 2.0, 2.0], [1.0, 1.0, 1.0], expected=nan),
    # numerator 0, denominator 2 (MSC - MSE) / n = d^2 = 1
    Case("icc/both-constant-2,1", "icc", [2.0, 2.0, 2.0], [1.0, 1.0, 1.0], {"form": "2,1"},
         expected=0.0),
    Case("icc/both-constant-equal-2,1", "icc", [2.0, 2.0], [2.0, 2.0], {"form": "2,1"},
         expected=nan),
    Case("icc/one-sample", "icc", [1.0], [2.0], expected=nan),
    # column 0: S_tt = 14/3, S_pp = 2/3... ; column 1 both constant
    Case("icc/constant-col1-2d", "icc", [[1.0, 5.0], [2.0, 5.0], [4.0, 5.0]],
         [[1.5, 5.0], [2.0, 5.0], [3.0, 5.0]]),
    Case("icc/far-from-zero-float32", "icc", np.float32(1000 + _intensity),
         np.float32(1000 + _intensity_pred)),
    Case("icc/random-au-intensity", "icc", _intensity, _intensity_pred),
    Case("icc/bad-form", "icc", [1, 2, 3], [1, 2, 3], {"form": "3"}, expected=ValueError),
    Case("icc/nan-omit", "icc", [1, 2, np.nan, 3], [2, 3, 0, 4], {"nan_policy": "omit"},
         expected=1.0),
    # -- MAE -----------------------------------------------------------------------------
    # |1e308 - (-1e308)| / 2 = 1e308: no overflow of the difference
    Case("mae/huge-opposite", "mae", [1e308, 0.0], [-1e308, 0.0], expected=1e308),
    # |0| + |1| + |2| over 3
    Case("mae/basic", "mae", [0, 1, 2], [0, 2, 4], expected=1.0),
    Case("mae/2d", "mae", [[0, 1], [2, 3]], [[1, 1], [2, 5]], expected=np.array([0.5, 1.0])),
    Case("mae/nan-omit", "mae", [1, np.nan, 3], [1, 2, 5], {"nan_policy": "omit"},
         expected=1.0),
    Case("mae/float32-far-from-zero", "mae", np.float32([1000.5, 1001.0]),
         np.float32([1000.0, 1001.0]), expected=0.25),
    # -- multi-label (AU occurrence) -----------------------------------------------------
    # AU 0: TP 1, FP 1, FN 1 -> 1/2; AU 1: TP 2 -> 1
    Case("multilabel_f1/hand", "multilabel_f1", AU_TRUTH, AU_SCORES, expected=0.75),
    # pooled TP 3, FP 1, FN 1: 6 / 8
    Case("multilabel_f1/hand-micro", "multilabel_f1", AU_TRUTH, AU_SCORES,
         {"average": "micro"}, expected=0.75),
    Case("multilabel_f1/hand-per-label", "multilabel_f1", AU_TRUTH, AU_SCORES,
         {"average": None}, expected=np.array([0.5, 1.0])),
    # threshold 0.3 adds AU 0's 0.4 (TP) and 0.6 stays FP: 2*2 / (4 + 1) = 0.8; AU 1 stays 1
    Case("multilabel_f1/threshold", "multilabel_f1", AU_TRUTH, AU_SCORES,
         {"threshold": 0.3}, expected=0.9),
    # AU 1 never present, never predicted: 0 by default, left out with nan
    Case("multilabel_f1/absent-label", "multilabel_f1", [[1, 0], [0, 0]], [[1, 0], [0, 0]],
         expected=0.5),
    Case("multilabel_f1/absent-label-nan", "multilabel_f1", [[1, 0], [0, 0]],
         [[1, 0], [0, 0]], {"zero_division": nan}, expected=1.0),
    Case("multilabel_f1/all-absent-nan", "multilabel_f1", [[0, 0]], [[0, 0]],
         {"zero_division": nan}, expected=nan),
    # no label has positives, so the support weights are all 0: the unweighted mean, as
    # scikit-learn's. AU 0 never present or predicted (1 with zero_division=1, left out
    # with nan), AU 1 predicted twice, never present: F1 0. Mean (1 + 0) / 2, or 0.
    Case("multilabel_f1/weighted-no-positives", "multilabel_f1", [[0, 0], [0, 0]],
         [[0, 1], [0, 1]], {"average": "weighted", "zero_division": 1.0}, expected=0.5),
    Case("multilabel_f1/weighted-no-positives-nan", "multilabel_f1", [[0, 0], [0, 0]],
         [[0, 1], [0, 1]], {"average": "weighted", "zero_division": nan}, expected=0.0),
    Case("multilabel_f1/truth-not-binary", "multilabel_f1", [[0, 2]], [[0, 1]],
         expected=ValueError),
    Case("multilabel_f1/one-d", "multilabel_f1", [0, 1], [0, 1], expected=ValueError),
    Case("multilabel_f1/threshold-string", "multilabel_f1", AU_TRUTH, AU_SCORES,
         {"threshold": "0.5"}, expected=TypeError),
    Case("multilabel_f1/random", "multilabel_f1", _au, _au_scores),
    # names key the per-label results: two that read "6" are refused
    Case("multilabel_roc_auc/repeated-label-names", "multilabel_roc_auc", AU_TRUTH, AU_SCORES,
         {"label_names": [6, "6"]}, expected=ValueError),
    # AU 0: 3 of 4 pairs ordered; AU 1: all
    Case("multilabel_roc_auc/hand", "multilabel_roc_auc", AU_TRUTH, AU_SCORES,
         {"average": None}, expected=np.array([0.75, 1.0])),
    Case("multilabel_roc_auc/hand-macro", "multilabel_roc_auc", AU_TRUTH, AU_SCORES,
         expected=0.875),
    # AU 1 has no positives: nan, left out
    Case("multilabel_roc_auc/no-positives", "multilabel_roc_auc", [[1, 0], [0, 0]],
         [[0.9, 0.1], [0.2, 0.3]], expected=1.0),
    Case("multilabel_roc_auc/random", "multilabel_roc_auc", _au, _au_scores),
    # AU 0 ranked 0.9 (pos), 0.6 (neg), 0.4 (pos): 1/2 + 1/2 * 2/3
    Case("multilabel_pr_auc/hand", "multilabel_pr_auc", [[1], [0], [1]], [[0.9], [0.6], [0.4]],
         expected=5 / 6),
    Case("multilabel_pr_auc/random", "multilabel_pr_auc", _au, _au_scores),
)
