"""Rows of the metrics computed from one (n, C) score matrix (expression classifiers), so
that every core path of the classification and ranking metrics runs on real data.

Expected values: hand-checked in the comments, or scikit-learn / the ``krippendorff``
package. Helper rows of the classification family (labels, dtypes, absent classes) live in
their own ``cases_*`` file.
"""

from __future__ import annotations

import krippendorff
import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from .registry import Case, add_cases

Y = np.array([0, 1, 2, 2, 1, 0])
S = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6],
              [0.2, 0.5, 0.3], [0.3, 0.4, 0.3], [0.6, 0.3, 0.1]])
# argmax: 0, 1, 2, 1, 1, 0 -> one error (a 2 predicted as 1)
_PRED = S.argmax(axis=1)

_rng = np.random.default_rng(7)
Y_BIG = _rng.integers(0, 4, 120)
S_BIG = _rng.random((120, 4)) + 0.4 * np.eye(4)[Y_BIG]
S_BIG /= S_BIG.sum(axis=1, keepdims=True)


def _ap_macro(y: np.ndarray, s: np.ndarray) -> float:
    return float(np.mean([average_precision_score(y == k, s[:, k]) for k in range(s.shape[1])]))


add_cases(
    # 5 of 6 correct
    Case("accuracy/scores-small", "accuracy", Y, S, expected=5 / 6),
    # per class F1: 2*2/4 = 1, 2*2/(4 + 1) = 4/5, 2*1/(2 + 1) = 2/3; mean 37/45
    Case("f1_score/scores-small", "f1_score", Y, S, expected=37 / 45),
    # p_o = 5/6; marginals (2, 2, 2) and (2, 3, 1): p_e = 12/36; (5/6 - 1/3) / (2/3) = 3/4
    Case("cohen_kappa/scores-small", "cohen_kappa", Y, S, expected=0.75),
    Case("krippendorff_alpha/scores-small", "krippendorff_alpha", Y, S,
         expected=krippendorff.alpha(reliability_data=[Y, _PRED],
                                     level_of_measurement="nominal")),
    Case("roc_auc/scores-small", "roc_auc", Y, S,
         expected=roc_auc_score(Y, S, multi_class="ovr", average="macro")),
    Case("pr_auc/scores-small", "pr_auc", Y, S, expected=_ap_macro(Y, S)),
    Case("accuracy/scores-4-classes", "accuracy", Y_BIG, S_BIG,
         expected=float(np.mean(S_BIG.argmax(axis=1) == Y_BIG))),
    Case("roc_auc/scores-4-classes", "roc_auc", Y_BIG, S_BIG,
         expected=roc_auc_score(Y_BIG, S_BIG, multi_class="ovr", average="macro")),
    Case("pr_auc/scores-4-classes", "pr_auc", Y_BIG, S_BIG, expected=_ap_macro(Y_BIG, S_BIG)),
    # Only class 1 is present: class 0 has no positives (undefined, left out with a warning);
    # class 1 has no negatives, so its precision is 1 at every threshold: AP = 1.
    Case("pr_auc/scores-one-class-present", "pr_auc", [1, 1, 1],
         [[0.2, 0.8], [0.4, 0.6], [0.3, 0.7]], expected=1.0),
    # A perfect ranking scores exactly 1.
    Case("roc_auc/scores-perfect", "roc_auc", [0, 1, 0, 1],
         [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.45, 0.55]], expected=1.0),
)
