"""Prediction tables on Dask: partition states merged in a tree equal the in-memory metrics."""

import numpy as np
import pandas as pd
import pytest
from dask.distributed import Client, LocalCluster

import affectmetrics as am
from affectmetrics.dask import evaluate_table


@pytest.fixture(scope="module")
def parquet_folder(tmp_path_factory):
    """A 6,000-row prediction table written as 12 Parquet files."""
    rng = np.random.default_rng(0)
    n = 6000
    labels = rng.integers(0, 8, n)
    scores = rng.random((n, 8)) + 0.5 * np.eye(8)[labels]
    scores /= scores.sum(axis=1, keepdims=True)
    truth = rng.uniform(-1, 1, (n, 2)) + 300.0  # offset: merging must stay exact
    pred = truth + rng.normal(0, 0.3, (n, 2))
    frame = pd.DataFrame({"expression": labels, "valence": truth[:, 0], "arousal": truth[:, 1],
                          "valence_pred": pred[:, 0], "arousal_pred": pred[:, 1],
                          **{f"score_{name}": scores[:, k]
                             for k, name in enumerate(am.AFFECTNET_CLASSES)}})
    folder = tmp_path_factory.mktemp("table")
    for i, part in enumerate(np.array_split(np.arange(n), 12)):
        frame.iloc[part].to_parquet(folder / f"part-{i:02d}.parquet")
    return folder, frame


def in_memory(frame, bins=None):
    scores = frame[[f"score_{c}" for c in am.AFFECTNET_CLASSES]].to_numpy()
    expr = am.ClassificationAccumulator(8, bins=bins)
    expr.update(frame["expression"].to_numpy(), scores)
    va = am.ContinuousAccumulator(2)
    va.update(frame[["valence", "arousal"]].to_numpy(),
              frame[["valence_pred", "arousal_pred"]].to_numpy())
    out = expr.compute()
    for key, values in va.compute().items():
        out[f"{key}_valence"], out[f"{key}_arousal"] = values
    return out


def assert_same(result, expected):
    assert set(result) == set(expected)
    for key, value in expected.items():
        assert result[key] == pytest.approx(value, rel=1e-12), key


def test_parquet_folder_on_the_threaded_scheduler(parquet_folder):
    folder, frame = parquet_folder
    assert_same(evaluate_table(folder), in_memory(frame))
    assert_same(evaluate_table(folder, bins=256, split_every=3), in_memory(frame, bins=256))


def test_on_a_local_distributed_cluster(parquet_folder):
    folder, frame = parquet_folder
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster):
        result = evaluate_table(folder)
    assert_same(result, in_memory(frame))


def test_column_errors(parquet_folder):
    folder, _ = parquet_folder
    with pytest.raises(ValueError, match=r"no column\(s\) \['valence_hat'\]"):
        evaluate_table(folder, va_pred_columns=["valence_hat", "arousal_pred"])
    with pytest.raises(ValueError, match="no score columns"):
        evaluate_table(folder, score_prefix="p_")
    with pytest.raises(ValueError, match="va_columns has 1 names"):
        evaluate_table(folder, va_columns=["valence"])


def test_score_columns_are_matched_by_name_not_table_order():
    """Alphabetical AffectNet score columns (as pandas or a dict writes them) with AffectNet's
    codes 0-7: a perfect model scores 1.0, as in the command line (issue 11's first example)."""
    import dask.dataframe as dd

    labels = np.tile(np.arange(8), 5)
    scores = np.eye(8)[labels]
    columns = {f"score_{name}": scores[:, k] for k, name in enumerate(am.AFFECTNET_CLASSES)}
    frame = pd.DataFrame({"expression": labels, **dict(sorted(columns.items()))})
    assert list(frame.columns)[1] == "score_Anger"  # not AffectNet's code order
    result = evaluate_table(dd.from_pandas(frame, npartitions=3), va_columns=(),
                            va_pred_columns=())
    assert result["accuracy"] == 1.0
    assert result["auc"] == 1.0
    # Named classes of another data set: given order wins over table order.
    named = pd.DataFrame({"expression": [0, 1, 1, 0], "score_sad": [0.1, 0.8, 0.7, 0.2],
                          "score_happy": [0.9, 0.2, 0.3, 0.8]})
    result = evaluate_table(dd.from_pandas(named, npartitions=2), va_columns=(),
                            va_pred_columns=(), class_names=["happy", "sad"])
    assert result["accuracy"] == 1.0


def test_score_prefix_that_captures_other_columns_is_refused():
    import dask.dataframe as dd

    frame = pd.DataFrame({"expression": [0, 1], "score_0": [0.9, 0.2], "score_1": [0.1, 0.8]})
    table = dd.from_pandas(frame, npartitions=1)
    with pytest.raises(ValueError, match="score_prefix=''"):
        evaluate_table(table, score_prefix="", va_columns=(), va_pred_columns=())
    with pytest.raises(ValueError, match="also takes the column"):
        evaluate_table(table, score_prefix="e", va_columns=(), va_pred_columns=())
    with pytest.raises(ValueError, match="not the class names"):
        evaluate_table(table.rename(columns={"score_0": "score_a", "score_1": "score_b"}),
                       va_columns=(), va_pred_columns=(), class_names=["a", "c"])


def test_nan_and_inf_are_refused_by_column_and_index():
    # The accumulators' message named "y_pred" and a position inside one partition
    # ("position (0, 0)" for a NaN at table index 3): neither is in the table. The message
    # now names the column and the row's index label.
    import dask.dataframe as dd

    frame = pd.DataFrame({"valence": [0.1, 0.4, -0.3, 0.8, 0.2, 0.5],
                          "valence_pred": [0.2, 0.3, -0.1, np.nan, 0.1, np.nan]},
                         index=[10, 11, 12, 13, 14, 15])
    table = dd.from_pandas(frame, npartitions=2)
    columns = dict(expression_column=None, va_columns=["valence"],
                   va_pred_columns=["valence_pred"])
    with pytest.raises(ValueError, match=r"column 'valence_pred' has NaN at index 13 "
                                         r"\(2 in its partition\).*nan_policy='omit'"):
        evaluate_table(table, **columns)
    kept = frame.dropna()
    result = evaluate_table(table, nan_policy="omit", **columns)
    assert result["ccc_valence"] == pytest.approx(am.ccc(kept["valence"], kept["valence_pred"]),
                                                  rel=1e-12)
    frame.loc[14, "valence"] = -np.inf
    with pytest.raises(ValueError, match="column 'valence' has an infinite value at index 14"):
        evaluate_table(dd.from_pandas(frame, npartitions=2), nan_policy="omit", **columns)
