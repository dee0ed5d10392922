"""Evaluate prediction tables larger than memory on Dask (the ``dask`` extra).

Every partition of the table is summarised by the core's accumulators (moments for the
continuous outputs; the confusion matrix plus scores or histograms for the expressions),
and the partition states are merged in a tree, exactly as the accumulators merge
anywhere else: the result equals the in-memory computation (to 1e-12 relative; exactly for
the confusion-matrix metrics). It runs on whatever Dask scheduler is active, a
``dask.distributed`` cluster included.

Exact AUC needs every score in the final merge (8 floats a row); for tables that do not fit
in one worker's memory pass ``bins=`` (O(C·bins) state, with the error bound of
:class:`~affectmetrics.ClassificationAccumulator`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._columns import _score_order
from ._optional import _import_optional
from .accumulators import ClassificationAccumulator, ContinuousAccumulator

dask = _import_optional("dask", "dask", purpose="affectmetrics.dask")
_dd = _import_optional("dask.dataframe", "dask", purpose="affectmetrics.dask")

__all__ = ["evaluate_table"]


def _check_partition(frame: Any, columns: list[str], nan_policy: str) -> None:
    """Refuse a NaN (under ``"raise"``) or an infinite value by the table's own names.

    The accumulators would name ``y_true``/``y_pred`` and a position within the partition,
    which the table does not show; here the message gives the column and the row's index
    label, as the table does.
    """
    try:
        values = frame[columns].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        return  # not numbers: the accumulator's TypeError says so
    for what, bad in (("NaN", np.isnan(values) if nan_policy == "raise" else None),
                      ("an infinite value", np.isinf(values))):
        if bad is None or not bad.any():
            continue
        column = int(np.argmax(bad.any(axis=0)))
        row = int(np.argmax(bad[:, column]))
        count = int(bad[:, column].sum())
        more = f" ({count} in its partition)" if count > 1 else ""
        hint = (" (nan_policy='raise'; pass nan_policy='omit' to drop the rows that have a "
                "NaN)" if what == "NaN" else "")
        label = frame.index[row:row + 1].tolist()[0]  # a Python value: 13, not np.int64(13)
        raise ValueError(f"column {columns[column]!r} has {what} at index {label!r}{more}"
                         f"{hint}")


def _partition_state(frame: Any, expression_column: str | None, score_columns: list[str],
                     va_columns: list[str], va_pred_columns: list[str], bins: int | None,
                     nan_policy: str) -> dict[str, Any]:
    _check_partition(frame, ([expression_column] if expression_column is not None else [])
                     + score_columns + va_columns + va_pred_columns, nan_policy)
    state: dict[str, Any] = {}
    if expression_column is not None:
        acc = ClassificationAccumulator(len(score_columns), bins=bins, nan_policy=nan_policy)
        acc.update(frame[expression_column].to_numpy(),
                   frame[score_columns].to_numpy(dtype=np.float64))
        state["classification"] = acc.state_dict()
    if va_columns:
        acc = ContinuousAccumulator(len(va_columns), nan_policy=nan_policy)
        acc.update(frame[va_columns].to_numpy(dtype=np.float64),
                   frame[va_pred_columns].to_numpy(dtype=np.float64))
        state["continuous"] = acc.state_dict()
    return state


def _merge(*states: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key, cls in (("classification", ClassificationAccumulator),
                     ("continuous", ContinuousAccumulator)):
        parts = [s[key] for s in states if key in s]
        if parts:
            total = cls.from_state_dict(parts[0])
            for part in parts[1:]:
                total.merge(cls.from_state_dict(part))
            merged[key] = total.state_dict()
    return merged


def evaluate_table(
    table: Any,
    *,
    expression_column: str | None = "expression",
    score_prefix: str = "score_",
    class_names: Sequence[str] | None = None,
    va_columns: Sequence[str] = ("valence", "arousal"),
    va_pred_columns: Sequence[str] = ("valence_pred", "arousal_pred"),
    bins: int | None = None,
    nan_policy: str = "raise",
    split_every: int = 8,
) -> dict[str, float]:
    """Every metric of a prediction table held by Dask (or a folder of Parquet files).

    Parameters
    ----------
    table : dask.dataframe.DataFrame, or str / Path
        The predictions, in the CSV layout of ``affectmetrics evaluate`` (``expression``,
        ``score_<Class>``..., ``valence``, ``arousal``, ``valence_pred``, ``arousal_pred``);
        a path (folder or glob) is read with ``dask.dataframe.read_parquet``.
    expression_column : str or None, default "expression"
        None skips the expression metrics.
    score_prefix : str, default "score_"
        Prefix of the per-class score columns. They are matched to the classes by name,
        whatever their order in the table, by the command line's rule: ``score_0`` ... in
        integer order; names matched case-insensitively to ``class_names``; without
        ``class_names``, AffectNet's eight names in AffectNet's code order, other names in
        table order.
    class_names : sequence of str, optional
        The class of each label code (code ``i`` is ``class_names[i]``).
    va_columns, va_pred_columns : sequences of str
        Continuous truth and prediction columns; empty to skip them.
    bins : int, optional
        Histogram AUC with O(C·bins) state instead of gathering every score.
    nan_policy : {"raise", "omit"}, default "raise"
    split_every : int, default 8
        Fan-in of the tree reduction of partition states.

    Returns
    -------
    dict
        ``accuracy``, ``f1``, ``kappa``, ``krippendorff_alpha``, ``auc``, ``auc_pr`` and
        ``<metric>_<column>`` for ``rmse``, ``pearson``, ``sagr`` and ``ccc``, as floats.

    Examples
    --------
    >>> import pandas as pd, dask.dataframe as dd
    >>> import affectmetrics as am
    >>> from affectmetrics.dask import evaluate_table
    >>> frame = pd.DataFrame({"valence": [0.1, 0.5, -0.3, 0.8],
    ...                       "valence_pred": [0.2, 0.4, -0.1, 0.6]})
    >>> table = dd.from_pandas(frame, npartitions=2)
    >>> result = evaluate_table(table, expression_column=None, va_columns=["valence"],
    ...                         va_pred_columns=["valence_pred"])
    >>> # the same as in memory
    >>> abs(result["ccc_valence"] - am.ccc(frame["valence"], frame["valence_pred"])) < 1e-12
    True
    """
    if isinstance(table, (str, Path)):
        table = _dd.read_parquet(str(table))
    columns = list(table.columns)
    va_columns, va_pred_columns = list(va_columns), list(va_pred_columns)
    if len(va_columns) != len(va_pred_columns):
        raise ValueError(f"va_columns has {len(va_columns)} names but va_pred_columns has "
                         f"{len(va_pred_columns)}")
    wanted = ([expression_column] if expression_column is not None else []) + va_columns \
        + va_pred_columns
    if expression_column is not None and not score_prefix:
        raise ValueError("score_prefix='' would take every column as a class score")
    score_columns = [c for c in columns if str(c).startswith(score_prefix)
                     and len(str(c)) > len(score_prefix)] if expression_column is not None else []
    captured = [c for c in score_columns if c in wanted]
    if captured:
        raise ValueError(f"score_prefix={score_prefix!r} also takes the column(s) {captured}")
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise ValueError(f"the table has no column(s) {missing}; it has {columns}")
    if expression_column is not None and not score_columns:
        raise ValueError(f"the table has no score columns starting with {score_prefix!r}")
    if score_columns:
        names = None if class_names is None else tuple(str(n) for n in class_names)
        score_columns, _ = _score_order("the table", score_columns, score_prefix, names,
                                        "class_names")
    if not wanted:
        raise ValueError("nothing to evaluate: no expression column and no va_columns")
    states = [dask.delayed(_partition_state)(part, expression_column, score_columns,
                                             va_columns, va_pred_columns, bins, nan_policy)
              for part in table.to_delayed()]
    while len(states) > 1:
        states = [dask.delayed(_merge)(*states[i:i + split_every])
                  for i in range(0, len(states), split_every)]
    merged = states[0].compute()
    result: dict[str, float] = {}
    if "classification" in merged:
        result.update(ClassificationAccumulator.from_state_dict(
            merged["classification"]).compute())
    if "continuous" in merged:
        values = ContinuousAccumulator.from_state_dict(merged["continuous"]).compute()
        for key, column_values in values.items():
            for name, value in zip(va_columns, column_values, strict=True):
                result[f"{key}_{name}"] = float(value)
    return result
