"""A prediction table in Parquet files, evaluated on Dask (threaded and dask.distributed).

The partitions are reduced with the accumulators; the results must equal the in-memory
computation.
"""

import numpy as np
import pandas as pd
import pytest
from dask.distributed import Client, LocalCluster

import affectmetrics as am
from affectmetrics.dask import evaluate_table

pytestmark = pytest.mark.benchmark(group="Parquet table on Dask, 20 files")


@pytest.fixture(scope="module")
def table(tmp_path_factory, scale):
    rng = np.random.default_rng(6)
    n = scale["classes"] * 4
    labels = rng.integers(0, 8, n)
    scores = rng.random((n, 8))
    truth = rng.uniform(-1, 1, (n, 2))
    pred = truth + rng.normal(0, 0.3, (n, 2))
    frame = pd.DataFrame({"expression": labels, "valence": truth[:, 0],
                          "arousal": truth[:, 1], "valence_pred": pred[:, 0],
                          "arousal_pred": pred[:, 1],
                          **{f"score_{c}": scores[:, k]
                             for k, c in enumerate(am.AFFECTNET_CLASSES)}})
    folder = tmp_path_factory.mktemp("parquet")
    for i, rows in enumerate(np.array_split(np.arange(n), 20)):
        frame.iloc[rows].to_parquet(folder / f"part-{i:02d}.parquet")
    expected = am.ClassificationAccumulator(8, bins=1024)
    expected.update(labels, scores)
    continuous = am.ContinuousAccumulator(2)
    continuous.update(truth, pred)
    return folder, expected.compute(), continuous.compute()


def check(result, expected, continuous):
    for key, value in expected.items():
        assert result[key] == pytest.approx(value, rel=1e-12), key
    assert result["ccc_arousal"] == pytest.approx(continuous["ccc"][1], rel=1e-12)


def test_affectmetrics_dask_threaded_binned(benchmark, table):
    folder, expected, continuous = table
    result = benchmark.pedantic(evaluate_table, args=(folder,), kwargs={"bins": 1024},
                                rounds=3, iterations=1)
    check(result, expected, continuous)


def test_affectmetrics_dask_distributed_binned(benchmark, table):
    folder, expected, continuous = table
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster):
        evaluate_table(folder, bins=1024)  # warm the workers' imports
        result = benchmark.pedantic(evaluate_table, args=(folder,), kwargs={"bins": 1024},
                                    rounds=3, iterations=1)
    check(result, expected, continuous)
