"""The core's paths: the function itself, accumulators, the bootstrap estimate, the paired
comparison, the report and Dask, each run on every row it can express.

Paths that compute every metric of a family at once are registered with
``single_metric=False``: only their warnings about ``case.metric`` are compared.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

import affectmetrics as am

from .registry import Case, case_seed, path

CONTINUOUS = ("ccc", "pearson", "rmse", "sagr")
CLASSIFICATION = ("accuracy", "f1_score", "cohen_kappa", "krippendorff_alpha")
RANKING = ("roc_auc", "pr_auc")
ALL_METRICS = CONTINUOUS + CLASSIFICATION + RANKING
# The keys of evaluate(), bootstrap_ci(), paired_comparison(), the accumulators and Dask.
KEY = {"ccc": "ccc", "pearson": "pearson", "rmse": "rmse", "sagr": "sagr",
       "accuracy": "accuracy", "f1_score": "f1", "cohen_kappa": "kappa",
       "krippendorff_alpha": "krippendorff_alpha", "roc_auc": "auc", "pr_auc": "auc_pr"}


@path("function", ALL_METRICS)
def function(case: Case) -> Any:
    """The public function itself: the baseline every other path is compared with."""
    return getattr(am, case.metric)(case.y_true, case.y_pred, **case.kwargs)


# -- what each path can express ---------------------------------------------------------


def _ndim(value: Any) -> int:
    return np.ndim(np.asarray(value, dtype=object) if isinstance(value, list) else value)


def _continuous_whole(case: Case) -> bool:
    """Paths that score whole tables (bootstrap, paired comparison) need complete rows:
    ``nan_policy="omit"`` has no counterpart there (they refuse NaN rows by design)."""
    return case.kwargs.get("nan_policy", "raise") == "raise" and set(case.kwargs) <= {
        "nan_policy"}


def _classification_defaults(case: Case) -> bool:
    """Report-style paths compute the default variant only (macro F1 with zero_division 0,
    unweighted kappa, nominal alpha, macro AUC/AP) on classes 0..C-1 of an (n, C) score
    matrix: other options (average=, weights=, zero_division=, nan_policy= for the
    bootstrap, labels other than 0..C-1) cannot be expressed there."""
    if set(case.kwargs) - {"labels"} or _ndim(case.y_pred) != 2:
        return False
    width = np.shape(case.y_pred)[1]
    labels = case.kwargs.get("labels")
    return labels is None or list(np.asarray(labels)) == list(range(width))


def _label_defaults(case: Case) -> bool:
    """Predicted labels (n,) with the class set inferred from the labels seen, as the
    functions do without ``labels=``: the report and the bootstrap take them too (not
    Dask, whose tables hold score columns)."""
    return _classification_defaults(case) or (not case.kwargs and _ndim(case.y_pred) == 1)


def _shape_like(values: np.ndarray, case: Case) -> float | np.ndarray:
    return float(values[0]) if _ndim(case.y_true) == 1 else np.asarray(values, dtype=np.float64)


def _columns(case: Case) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    t, p = np.asarray(case.y_true), np.asarray(case.y_pred)
    if t.ndim == 1:
        t, p = t[:, None], p[:, None]
    return t, p, tuple(f"c{j}" for j in range(t.shape[1]))


def _splits(case: Case, n: int, salt: str) -> list[np.ndarray]:
    """Random contiguous splits of range(n) into 1..5 batches (some may be empty), seeded."""
    rng = np.random.default_rng(case_seed(case, salt))
    cuts = np.sort(rng.integers(0, n + 1, rng.integers(0, 5)))
    return np.split(np.arange(n), cuts)


# -- continuous paths ---------------------------------------------------------------------


def _continuous_accumulator(case: Case) -> Any:
    t, p = np.asarray(case.y_true), np.asarray(case.y_pred)
    k = 1 if t.ndim == 1 else t.shape[1]
    nan_policy = case.kwargs.get("nan_policy", "raise")
    rng = np.random.default_rng(case_seed(case, "order"))
    parts = []
    for rows in _splits(case, t.shape[0], "accumulator"):
        acc = am.ContinuousAccumulator(k, nan_policy=nan_policy)
        acc.update(t[rows], p[rows])
        parts.append(acc)
    order = rng.permutation(len(parts))
    total = parts[order[0]]
    for i in order[1:]:
        total.merge(parts[i])
    if total.n_samples == 0:
        raise ValueError("no samples")  # the function refuses an all-NaN input alike
    values = total.compute()[case.metric]
    return _shape_like(values, case)


@path("accumulator", CONTINUOUS, accepts=lambda case: set(case.kwargs) <= {"nan_policy"},
      single_metric=False)
def continuous_accumulator(case: Case) -> Any:
    return _continuous_accumulator(case)


@path("bootstrap", CONTINUOUS, accepts=_continuous_whole, single_metric=False)
def continuous_bootstrap(case: Case) -> Any:
    t, p, names = _columns(case)
    result = am.bootstrap_ci(va=t, va_pred=p, output_names=names, n_resamples=2, seed=0)
    return _shape_like(np.array([result.estimate[f"{case.metric}_{name}"] for name in names]),
                       case)


@path("paired", CONTINUOUS, accepts=_continuous_whole, single_metric=False)
def continuous_paired(case: Case) -> Any:
    t, p, names = _columns(case)
    result = am.paired_comparison(va=t, pred_a={"va_pred": p}, pred_b={"va_pred": p},
                                  output_names=names, n_resamples=2, seed=0)
    a = [result.value_a[f"{case.metric}_{name}"] for name in names]
    b = [result.value_b[f"{case.metric}_{name}"] for name in names]
    np.testing.assert_array_equal(a, b)
    return _shape_like(np.array(a), case)


@path("report", CONTINUOUS, accepts=lambda case: set(case.kwargs) <= {"nan_policy"},
      single_metric=False)
def continuous_report(case: Case) -> Any:
    t, p, names = _columns(case)
    report = am.evaluate(va=t, va_pred=p, output_names=names, warn=False,
                         nan_policy=case.kwargs.get("nan_policy", "raise"))
    return _shape_like(np.array([report.metrics[f"{case.metric}_{name}"] for name in names]),
                       case)


def _table(case: Case) -> bool:
    """A table's truth and prediction columns have one length and one column count each:
    inputs of different shapes cannot be written as a table."""
    return set(case.kwargs) <= {"nan_policy"} and np.shape(case.y_true) == np.shape(
        case.y_pred)


@path("dask", CONTINUOUS, accepts=_table, single_metric=False)
def continuous_dask(case: Case) -> Any:
    import dask
    import dask.dataframe as dd
    import pandas as pd

    from affectmetrics.dask import evaluate_table

    t, p, names = _columns(case)
    if t.dtype.kind not in "biuf" or p.dtype.kind not in "biuf":
        raise TypeError("not numeric")
    frame = pd.DataFrame({**{f"{n}": t[:, j] for j, n in enumerate(names)},
                          **{f"{n}_pred": p[:, j] for j, n in enumerate(names)}})
    table = dd.from_pandas(frame, npartitions=min(3, len(frame)))
    with dask.config.set(scheduler="synchronous"):
        result = evaluate_table(table, expression_column=None, va_columns=list(names),
                                va_pred_columns=[f"{n}_pred" for n in names],
                                nan_policy=case.kwargs.get("nan_policy", "raise"))
    return _shape_like(np.array([result[f"{case.metric}_{n}"] for n in names]), case)


# -- classification and ranking paths -----------------------------------------------------


@path("accumulator", CLASSIFICATION + RANKING,
      accepts=lambda case: _classification_defaults(case) or (
          set(case.kwargs) <= {"labels", "nan_policy"} and _ndim(case.y_pred) == 2),
      single_metric=False)
def classification_accumulator(case: Case) -> Any:
    y_true, y_score = np.asarray(case.y_true), np.asarray(case.y_pred)
    kwargs = {key: case.kwargs[key] for key in ("labels", "nan_policy") if key in case.kwargs}
    parts = []
    for rows in _splits(case, y_true.shape[0], "accumulator"):
        acc = am.ClassificationAccumulator(y_score.shape[1], **kwargs)
        acc.update(y_true[rows], y_score[rows])
        parts.append(acc)
    order = np.random.default_rng(case_seed(case, "order")).permutation(len(parts))
    total = parts[order[0]]
    for i in order[1:]:
        total.merge(parts[i])
    return float(total.compute()[KEY[case.metric]])


@path("bootstrap", CLASSIFICATION + RANKING,
      accepts=lambda case: _label_defaults(case) if case.metric in CLASSIFICATION
      else _classification_defaults(case),
      single_metric=False)
def classification_bootstrap(case: Case) -> Any:
    result = am.bootstrap_ci(expression=case.y_true, expression_pred=case.y_pred,
                             n_resamples=2, seed=0)
    return result.estimate[KEY[case.metric]]


@path("paired", CLASSIFICATION + RANKING,
      accepts=lambda case: _label_defaults(case) if case.metric in CLASSIFICATION
      else _classification_defaults(case),
      single_metric=False)
def classification_paired(case: Case) -> Any:
    pred = {"expression_pred": case.y_pred}
    result = am.paired_comparison(expression=case.y_true, pred_a=pred, pred_b=pred,
                                  n_resamples=2, seed=0)
    np.testing.assert_array_equal(list(result.value_a.values()), list(result.value_b.values()))
    return result.value_a[KEY[case.metric]]


@path("report", CLASSIFICATION + RANKING,
      accepts=lambda case: _label_defaults(case) if case.metric in CLASSIFICATION
      else _classification_defaults(case),
      single_metric=False)
def classification_report(case: Case) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", am.DiagnosticWarning)
        report = am.evaluate(expression=case.y_true, expression_pred=case.y_pred, warn=False)
    return report.metrics[KEY[case.metric]]


@path("dask", CLASSIFICATION + RANKING, accepts=_classification_defaults, single_metric=False)
def classification_dask(case: Case) -> Any:
    import dask
    import dask.dataframe as dd
    import pandas as pd

    from affectmetrics.dask import evaluate_table

    y_score = np.asarray(case.y_pred)
    frame = pd.DataFrame({"expression": np.asarray(case.y_true),
                          **{f"score_{j}": y_score[:, j] for j in range(y_score.shape[1])}})
    table = dd.from_pandas(frame, npartitions=min(3, len(frame)))
    with dask.config.set(scheduler="synchronous"):
        result = evaluate_table(table, va_columns=(), va_pred_columns=())
    return result[KEY[case.metric]]
