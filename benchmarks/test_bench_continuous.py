"""CCC, Pearson, RMSE and SAGR for valence and arousal at once (the "continuous suite")."""

import numpy as np
import pytest
import torch
from conftest import record_peak, two_pass
from torchmetrics.functional import concordance_corrcoef, mean_squared_error, pearson_corrcoef

import affectmetrics as am

pytestmark = pytest.mark.benchmark(group="continuous suite, (n, 2) float64")


def affectmetrics_suite(truth, pred):
    accumulator = am.ContinuousAccumulator(num_outputs=2)
    accumulator.update(truth, pred)
    return accumulator.compute()


def numpy_suite(truth, pred):
    mt, mp = truth.mean(axis=0), pred.mean(axis=0)
    dt, dp = truth - mt, pred - mp
    vt, vp, cov = (dt * dt).mean(axis=0), (dp * dp).mean(axis=0), (dt * dp).mean(axis=0)
    return {"ccc": 2 * cov / (vt + vp + (mt - mp) ** 2), "pearson": cov / np.sqrt(vt * vp),
            "rmse": np.sqrt(((truth - pred) ** 2).mean(axis=0)),
            "sagr": (np.sign(truth) == np.sign(pred)).mean(axis=0)}


def torchmetrics_suite(truth, pred):
    t, p = torch.from_numpy(truth), torch.from_numpy(pred)
    return {"ccc": concordance_corrcoef(p, t).numpy(), "pearson": pearson_corrcoef(p, t).numpy(),
            "rmse": mean_squared_error(p, t, squared=False, num_outputs=2).numpy(),
            "sagr": (torch.sign(t) == torch.sign(p)).double().mean(dim=0).numpy()}


def floor(truth, pred):
    # One read of the inputs: a contiguous sum of each array.
    return truth.sum() + pred.sum()


def test_affectmetrics(benchmark, va):
    truth, pred = va
    record_peak(benchmark, affectmetrics_suite, truth, pred)
    result = benchmark(affectmetrics_suite, truth, pred)
    reference = two_pass(truth, pred)
    for key, value in reference.items():
        np.testing.assert_allclose(result[key], value, rtol=1e-12, atol=0, err_msg=key)


def test_numpy(benchmark, va):
    truth, pred = va
    record_peak(benchmark, numpy_suite, truth, pred)
    result = benchmark(numpy_suite, truth, pred)
    np.testing.assert_allclose(result["ccc"], two_pass(truth, pred)["ccc"], rtol=1e-10)


def test_torchmetrics(benchmark, va):
    truth, pred = va
    result = benchmark(torchmetrics_suite, truth, pred)
    # torchmetrics' CCC uses n - 1: agreement only to O(1/n).
    np.testing.assert_allclose(result["ccc"], two_pass(truth, pred)["ccc"],
                               rtol=10 / truth.shape[0])


def test_floor(benchmark, va):
    benchmark(floor, *va)


def test_float32_far_from_zero_error(benchmark):
    rng = np.random.default_rng(2)
    truth = (1000 + rng.normal(size=(1_000_000, 2))).astype(np.float32)
    pred = (truth + rng.normal(scale=0.5, size=truth.shape)).astype(np.float32)
    result = benchmark(affectmetrics_suite, truth, pred)
    exact = two_pass(truth.astype(np.float64), pred.astype(np.float64))
    error = float(np.abs(result["ccc"] - exact["ccc"]).max())
    benchmark.extra_info["max_abs_error_vs_float64"] = error
    assert error < 1e-12


def test_huge_values_scaled_path(benchmark, va):
    # Values around 1e160: squares would overflow, so the statistics step scales by 2**-600
    # (the array-API path). Its cost beside test_affectmetrics; values against the unscaled
    # reference (Pearson and CCC are scale-free, RMSE scales with the data).
    truth, pred = va
    scale = 1e160
    result = benchmark(affectmetrics_suite, truth * scale, pred * scale)
    reference = two_pass(truth, pred)
    for key in ("ccc", "pearson", "sagr"):
        np.testing.assert_allclose(result[key], reference[key], rtol=1e-12, err_msg=key)
    np.testing.assert_allclose(result["rmse"], reference["rmse"] * scale, rtol=1e-12)
