"""Rows of the classification and ranking metrics: issue 10's edge cases.

Expected values are checked by hand in the comments (O is the confusion matrix, rows truth),
or come from scikit-learn where said.
"""

from __future__ import annotations

import numpy as np
from scipy.special import softmax
from sklearn import metrics as skm

from .registry import Case, add_cases

nan = float("nan")
LABEL_METRICS = ("accuracy", "f1_score", "cohen_kappa", "krippendorff_alpha")
CONFUSION = ("confusion_matrix",)
RANKING = ("roc_auc", "pr_auc")


def _each(metrics, what, y_true, y_pred, expected, **kwargs):
    """One row per metric; ``expected`` is a dict by metric (missing: unknown)."""
    return [Case(f"{m}/{what}", m, y_true, y_pred, dict(kwargs), expected.get(m))
            for m in metrics]


# -- labels ------------------------------------------------------------------------------

add_cases(
    # O = [[1, 1], [0, 2]]: accuracy 3/4; F1 (2/3 + 4/5) / 2 = 11/15; p_o = 3/4,
    # p_e = (2*1 + 2*3) / 16 = 1/2, kappa 1/2; coincidences [[2, 1], [1, 4]], alpha 8/15.
    *_each(LABEL_METRICS, "basic", [0, 0, 1, 1], [0, 1, 1, 1],
           {"accuracy": 0.75, "f1_score": 11 / 15, "cohen_kappa": 0.5,
            "krippendorff_alpha": 8 / 15}),
    # One class, used by both sides: accuracy and F1 1; kappa and alpha undefined (p_e = 1).
    *_each(LABEL_METRICS, "one-class-both", [2, 2, 2], [2, 2, 2],
           {"accuracy": 1.0, "f1_score": 1.0, "cohen_kappa": nan, "krippendorff_alpha": nan}),
    # Truth uses one class: O = [[0, 0], [1, 3]]. F1: class 0 is 0 (TP 0, FP 1), class 1 is
    # 6/7 -> 3/7. kappa 1 - 4 * 1 / (4 * 1) = 0 (sklearn agrees). Coincidences
    # [[0, 1], [1, 6]], n_c = (1, 7): alpha = 1 - 7 * 2 / (2 * 7) = 0.
    *_each(LABEL_METRICS, "one-class-truth", [1, 1, 1, 1], [1, 0, 1, 1],
           {"accuracy": 0.75, "f1_score": 3 / 7, "cohen_kappa": 0.0,
            "krippendorff_alpha": 0.0}),
    # Absent classes named in labels=: F1 classes 2, 3 give 0; (2/3 + 2/3 + 0 + 0) / 4.
    # kappa: O = [[1, 0], [1, 1]], p_o = 2/3, p_e = (1*2 + 2*1) / 9 = 4/9 -> 2/5.
    *_each(LABEL_METRICS, "absent-classes-labels", [0, 1, 1], [0, 1, 0],
           {"accuracy": 2 / 3, "f1_score": 1 / 3, "cohen_kappa": 0.4},
           labels=[0, 1, 2, 3]),
    # issue 10: int8 [100, 100] against [45, 45] scored 1.0 (wrapped); every sample is
    # wrong. F1: every class 0. kappa 1 - 2 * 2 / (2 * 2) = 0.
    *_each(LABEL_METRICS, "int8-never-wraps", np.array([100, 100], np.int8),
           np.array([45, 45], np.int8),
           {"accuracy": 0.0, "f1_score": 0.0, "cohen_kappa": 0.0}, labels=[-100, 45, 100]),
    # Mixed dtypes: 200 (uint8) and -56 (what 200 is as int8) are different classes.
    *_each(LABEL_METRICS, "mixed-uint8-int8", np.array([200, 7, 7], np.uint8),
           np.array([-56, 7, 7], np.int8), {"accuracy": 2 / 3}),
    *_each(LABEL_METRICS, "mixed-int8-uint16-int64", np.array([1, 0, 1, 0], np.int8),
           np.array([1, 1, 1, 0], np.uint16), {"accuracy": 0.75}, labels=np.array([0, 1])),
    # Bools are 0 and 1: O = [[1, 1], [1, 1]]; kappa 0.
    *_each(LABEL_METRICS, "bool", np.array([True, False, True, False]),
           np.array([True, True, False, False]),
           {"accuracy": 0.5, "f1_score": 0.5, "cohen_kappa": 0.0}),
    *_each(LABEL_METRICS, "uint64", np.array([3, 5, 5], np.uint64),
           np.array([3, 5, 3], np.uint64), {"accuracy": 2 / 3}),
    # Float labels: 1.0 is the class 1; 1.5 is a class of its own.
    *_each(LABEL_METRICS, "float-labels", [1.0, 2.0, 1.5, 1.5], [1, 2, 1.5, 2],
           {"accuracy": 0.75}),
    *_each(LABEL_METRICS, "strings", np.array(["happy", "sad"]), np.array(["happy", "happy"]),
           {m: TypeError for m in LABEL_METRICS}),
    *_each(LABEL_METRICS, "nan-raise", [0.0, 1.0, nan, 1.0], [0, 1, 1, 0],
           {m: ValueError for m in LABEL_METRICS}),
    # Omit drops the third sample: O = [[1, 0], [1, 1]] as above.
    *_each(LABEL_METRICS, "nan-omit", [0.0, 1.0, nan, 1.0], [0, 1, 1, 0],
           {"accuracy": 2 / 3, "cohen_kappa": 0.4}, nan_policy="omit"),
    *_each(LABEL_METRICS, "n1", [3], [3],
           {"accuracy": 1.0, "f1_score": 1.0, "cohen_kappa": nan, "krippendorff_alpha": nan}),
    # Arg-max of a score matrix, the first maximum on ties: predictions 0 and 1.
    *_each(LABEL_METRICS, "score-matrix-argmax-ties", [0, 1], [[0.5, 0.5], [0.2, 0.8]],
           {"accuracy": 1.0, "f1_score": 1.0, "cohen_kappa": 1.0, "krippendorff_alpha": 1.0}),
    *_each(LABEL_METRICS, "label-outside-labels", [0, 1, 2], [0, 1, 1],
           {m: ValueError for m in LABEL_METRICS}, labels=[0, 1]),
)

# The confusion matrix itself, which every label metric above is a final step of.
add_cases(
    *_each(CONFUSION, "int8-never-wraps", np.array([100, 100], np.int8),
           np.array([45, 45], np.int8),
           {"confusion_matrix": np.array([[0, 0, 0], [0, 0, 0], [0, 2, 0]])},
           labels=[-100, 45, 100]),
    # Classes -56, 7, 200 (sorted union): 200 -> -56 once, 7 -> 7 twice.
    *_each(CONFUSION, "mixed-uint8-int8", np.array([200, 7, 7], np.uint8),
           np.array([-56, 7, 7], np.int8),
           {"confusion_matrix": np.array([[0, 0, 0], [0, 2, 0], [1, 0, 0]])}),
    *_each(CONFUSION, "bool", np.array([True, False, True]), np.array([True, True, False]),
           {"confusion_matrix": np.array([[0, 1], [1, 1]])}),
    *_each(CONFUSION, "absent-classes-labels", [0, 1, 1], [0, 1, 0],
           {"confusion_matrix": np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0]])},
           labels=[0, 1, 2]),
    *_each(CONFUSION, "nan-omit", [0.0, 1.0, nan, 1.0], [0, 1, 1, 0],
           {"confusion_matrix": np.array([[1, 0], [1, 1]])}, nan_policy="omit"),
    *_each(CONFUSION, "score-matrix", [0, 1, 2], [[0.5, 0.5, 0.0], [0.1, 0.2, 0.7],
                                                  [0.2, 0.2, 0.6]],
           {"confusion_matrix": np.array([[1, 0, 0], [0, 0, 1], [0, 0, 1]])}),
    *_each(CONFUSION, "strings", np.array(["a"]), np.array(["a"]),
           {"confusion_matrix": TypeError}),
)

# -- scores -------------------------------------------------------------------------------

_rng = np.random.default_rng(10)
_truth5 = np.r_[np.arange(5), _rng.integers(0, 5, 75)]
_logits5 = 2.0 * _rng.normal(size=(80, 5)) + 1.5 * np.eye(5)[_truth5]
_probs5 = softmax(_logits5, axis=1)
# scikit-learn on the probabilities is the right value for both forms of the model.
_sk_auc5 = float(skm.roc_auc_score(_truth5, _probs5, multi_class="ovr"))
_sk_ap5 = float(skm.average_precision_score(np.eye(5)[_truth5], _probs5))

add_cases(
    # issue 10: positives only; precision is 1 at every threshold (sklearn: 1.0).
    *_each(RANKING, "positives-only-binary", [1, 1, 1], [0.1, 0.3, 0.2],
           {"roc_auc": nan, "pr_auc": 1.0}),
    *_each(RANKING, "negatives-only-binary", [0, 0], [0.2, 0.4],
           {"roc_auc": nan, "pr_auc": nan}),
    *_each(RANKING, "positives-only-labels", [7, 7], [0.3, 0.8],
           {"roc_auc": nan, "pr_auc": 1.0}, labels=[2, 7]),
    # Positives 0.8, 0.4; negatives 0.4, 0.1: AUC (1 + 1 + 1/2 + 1) / 4; AP 1/2 + 1/2 * 2/3.
    *_each(RANKING, "ties", [1, 1, 0, 0], [0.8, 0.4, 0.4, 0.1],
           {"roc_auc": 0.875, "pr_auc": 5 / 6}),
    *_each(RANKING, "perfect", [0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.9],
           {"roc_auc": 1.0, "pr_auc": 1.0}),
    # Inverted: negatives first. AP: thresholds 0.2 (1 of 3) and 0.1 (2 of 4): 5/12.
    *_each(RANKING, "inverted", [0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1],
           {"roc_auc": 0.0, "pr_auc": 5 / 12}),
    *_each(RANKING, "perfect-multiclass", [0, 1, 2, 2],
           np.eye(3)[[0, 1, 2, 2]] * 0.8 + 0.2 / 3, {"roc_auc": 1.0, "pr_auc": 1.0}),
    *_each(RANKING, "perfect-per-class", [0, 1, 2, 2],
           np.eye(3)[[0, 1, 2, 2]] * 0.8 + 0.2 / 3,
           {"roc_auc": np.ones(3), "pr_auc": np.ones(3)}, average=None),
    *_each(RANKING, "perfect-onehot-int8", [0, 1, 2, 1], np.eye(3, dtype=np.int8)[[0, 1, 2, 1]],
           {"roc_auc": 1.0, "pr_auc": 1.0}),
    # The issue's logits: class 0's raw logits 2 < 3 rank the other sample first, its
    # probabilities 0.881 > 0.731 do not. Both forms of the model: 1.0.
    *_each(RANKING, "logits-2x2", [0, 1], [[2.0, 0.0], [3.0, 2.0]],
           {"roc_auc": 1.0, "pr_auc": 1.0}),
    *_each(RANKING, "probabilities-2x2", [0, 1], softmax([[2.0, 0.0], [3.0, 2.0]], axis=1),
           {"roc_auc": 1.0, "pr_auc": 1.0}),
    # Ranked as given: AUC (0 + 1) / 2; AP (1/2 + 1) / 2.
    *_each(RANKING, "raw-2x2", [0, 1], [[2.0, 0.0], [3.0, 2.0]],
           {"roc_auc": 0.5, "pr_auc": 0.75}, scores="raw"),
    *_each(RANKING, "logits-5-classes", _truth5, _logits5,
           {"roc_auc": _sk_auc5, "pr_auc": _sk_ap5}),
    *_each(RANKING, "probabilities-5-classes", _truth5, _probs5,
           {"roc_auc": _sk_auc5, "pr_auc": _sk_ap5}),
    *_each(RANKING, "logits-explicit", _truth5, _logits5,
           {"roc_auc": _sk_auc5, "pr_auc": _sk_ap5}, scores="logits"),
    *_each(RANKING, "logits-as-probabilities", _truth5, _logits5,
           {"roc_auc": ValueError, "pr_auc": ValueError}, scores="probabilities"),
    # Positive class of a 1-D score: the larger label, or labels[1].
    *_each(RANKING, "binary-larger-label", [2, 7, 7, 2], [0.3, 0.8, 0.2, 0.1],
           {"roc_auc": 0.75}),
    *_each(RANKING, "binary-labels-order", [2, 7, 7, 2], [0.3, 0.8, 0.2, 0.1],
           {"roc_auc": 0.25}, labels=[7, 2]),
    *_each(RANKING, "binary-one-unknown-label", [5, 5], [0.2, 0.4],
           {"roc_auc": ValueError, "pr_auc": ValueError}),
    *_each(RANKING, "binary-two-columns", [0, 1, 1, 0],
           [[0.7, 0.3], [0.2, 0.8], [0.6, 0.4], [0.9, 0.1]], {"roc_auc": 1.0, "pr_auc": 1.0}),
    *_each(RANKING, "int8-labels", np.array([1, 0, 1, 0], np.int8), [0.9, 0.1, 0.8, 0.2],
           {"roc_auc": 1.0, "pr_auc": 1.0}),
    *_each(RANKING, "uint8-labels-matrix", np.array([0, 1, 2, 1], np.uint8),
           np.eye(3)[[0, 1, 2, 0]] * 0.7 + 0.1, {}),
    *_each(RANKING, "bool-labels", np.array([True, False, True, False]), [0.9, 0.1, 0.4, 0.6],
           {"roc_auc": 0.75}),
    *_each(RANKING, "strings", np.array(["a", "b"]), [[0.6, 0.4], [0.3, 0.7]],
           {"roc_auc": TypeError, "pr_auc": TypeError}),
    *_each(RANKING, "nan-raise", [1, 0, 1, 0], [0.9, nan, 0.8, 0.2],
           {"roc_auc": ValueError, "pr_auc": ValueError}),
    *_each(RANKING, "nan-omit", [1, 0, 1, 0], [0.9, nan, 0.8, 0.2],
           {"roc_auc": 1.0, "pr_auc": 1.0}, nan_policy="omit"),
    *_each(RANKING, "nan-omit-matrix", [0, 1, 2, 1], [[0.8, 0.1, 0.1], [nan, 0.5, 0.5],
                                                     [0.1, 0.1, 0.8], [0.2, 0.7, 0.1]],
           {"roc_auc": 1.0, "pr_auc": 1.0}, nan_policy="omit"),
    *_each(RANKING, "n1", [1], [0.5], {"roc_auc": nan, "pr_auc": 1.0}),
    # Only class 0 present: class 0 has no negatives, class 1 no positives.
    *_each(RANKING, "one-class-matrix", [0, 0], [[0.6, 0.4], [0.7, 0.3]],
           {"roc_auc": nan, "pr_auc": 1.0}),
    # Class 2 absent: left out of the macro average (a warning), 1.0 for the others.
    *_each(RANKING, "absent-class-labels", [0, 1, 0], [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1],
                                                       [0.6, 0.3, 0.1]],
           {"roc_auc": 1.0, "pr_auc": 1.0}, labels=[0, 1, 2]),
    *_each(RANKING, "micro", _truth5, _probs5,
           {"roc_auc": float(skm.roc_auc_score(np.eye(5)[_truth5], _probs5, average="micro")),
            "pr_auc": float(skm.average_precision_score(np.eye(5)[_truth5], _probs5,
                                                        average="micro"))},
           average="micro"),
)

# A float16 row near the tolerance: [0.5, 0.51025390625] sums to 1.01025 (> 1.01: logits,
# so its softmax) in float64, to 1.00977 in float16 arithmetic. It used to be kept as a
# probability row in a batch of probabilities and softmaxed in a mixed batch, so the value
# depended on the split (kept, its 0.5 ranks above the 0.498 of the next row; softmaxed,
# 0.4974 ranks below). Expected: scikit-learn per class on the rows after the rule.
_border16 = np.vstack([
    np.array([[0.5, 0.51025390625]], np.float16),
    np.array([[0.498, 0.502], [0.3, 0.7], [0.6, 0.4], [0.2, 0.8], [0.45, 0.55]], np.float16),
    np.array([[2.0, -1.0]], np.float16),
])
_truth_border = np.array([1, 0, 1, 0, 1, 0, 0])
_ruled = _border16.astype(np.float64)
_ruled[[0, 6]] = softmax(_ruled[[0, 6]], axis=1)
add_cases(*_each(
    RANKING, "float16-row-near-tolerance", _truth_border, _border16,
    {"roc_auc": float(np.mean([skm.roc_auc_score(_truth_border == k, _ruled[:, k])
                               for k in range(2)])),
     "pr_auc": float(np.mean([skm.average_precision_score(_truth_border == k, _ruled[:, k])
                              for k in range(2)]))}))

# An (n, 1) score matrix is one class, every sample a positive of it: AUC undefined (no
# negatives), AP 1.0 (scikit-learn's average_precision_score([1, 1], s) agrees). The
# functions used to take the one column for a 1-D binary score and found no positives.
add_cases(*_each(RANKING, "one-column-matrix", [0, 0, 0], [[0.3], [0.5], [0.1]],
                 {"roc_auc": nan, "pr_auc": 1.0}))

# 1-D logits above ~37, where the floating-point sigmoid is 1.0: scores="logits" used to
# tie them (AUC 0.5); they rank as given. Positives 50, 60 against negatives 38, 45: all
# four pairs ordered, AUC 1.0, AP 1.0 (scikit-learn on the logits agrees).
add_cases(*_each(RANKING, "binary-large-logits", [0, 1, 0, 1], [38.0, 50.0, 45.0, 60.0],
                 {"roc_auc": 1.0, "pr_auc": 1.0}, scores="logits"))
