"""The statistics step of the continuous metrics: the NumPy blocked pass, the array-API step
(NumPy and torch) and Chan's merge give one state; scale-robust moments."""

from __future__ import annotations

import itertools
import warnings

import array_api_compat
import numpy as np
import pytest
import torch
from conformance import cases_continuous  # noqa: F401  (registers the rows)
from conformance.registry import CASES
from hypothesis import example, given
from hypothesis import strategies as st
from scipy import stats

import affectmetrics as am
from affectmetrics._moments import (
    _batch_packed,
    _diff_scale,
    _merge_packed,
    _merge_packed_xp,
    _moments,
    _pack,
    _unpack,
)
from affectmetrics.accumulators import _continuous_results

TORCH = array_api_compat.array_namespace(torch.zeros(1))


def _valid_continuous_rows():
    """(id, t, p) of every registry row of a continuous metric that the core accepts."""
    seen = {}
    for case in CASES.values():
        if case.metric not in ("ccc", "pearson", "rmse", "sagr") or case.kwargs:
            continue
        if isinstance(case.expected, type):
            continue
        what = case.id.split("/", 1)[1]
        t, p = np.asarray(case.y_true), np.asarray(case.y_pred)
        if t.ndim == 1:
            t, p = t[:, None], p[:, None]
        seen.setdefault(what, (what, t, p))
    return list(seen.values())


ROWS = _valid_continuous_rows()


def assert_same_state(a: np.ndarray, b: np.ndarray, rtol: float = 1e-14) -> None:
    """Packed states equal, each row to ``rtol`` of its natural magnitude."""
    a, b = np.asarray(a), np.asarray(b)
    magnitude = np.maximum(np.abs(a[9:13]), 0).max(axis=0)
    magnitude = np.where(np.isfinite(magnitude), magnitude, 0.0)
    s_d = _diff_scale(a[9], a[10], a[11], a[12], np)
    tolerance = {1: magnitude, 2: magnitude, 3: magnitude / s_d, 4: np.abs(a[4]),
                 5: np.abs(a[5]), 6: np.sqrt(np.abs(a[4])) * np.sqrt(np.abs(a[5])),
                 7: np.abs(a[7])}
    np.testing.assert_array_equal(a[[0, 8, 9, 10, 11, 12]], b[[0, 8, 9, 10, 11, 12]])
    for row, scale in tolerance.items():
        np.testing.assert_allclose(a[row], b[row], rtol=0, atol=rtol * np.max(scale) + 1e-300,
                                   err_msg=f"row {row}")


@pytest.mark.parametrize(("what", "t", "p"), ROWS, ids=[row[0] for row in ROWS])
def test_blocked_and_array_api_steps_give_the_same_state(what, t, p):
    blocked = _pack(_moments(t, p))
    t64, p64 = t.astype(np.float64), p.astype(np.float64)
    generic = _batch_packed(t64, p64, np)
    on_torch = _batch_packed(torch.from_numpy(t64), torch.from_numpy(p64), TORCH)
    assert isinstance(on_torch, torch.Tensor) and on_torch.dtype == torch.float64
    assert_same_state(blocked, generic)
    assert_same_state(blocked, on_torch.numpy())


@pytest.mark.parametrize(("what", "t", "p"), ROWS, ids=[row[0] for row in ROWS])
def test_merged_batches_equal_one_shot_on_both_backends(what, t, p):
    n = t.shape[0]
    cuts = sorted({0, n // 3, n // 2, n})
    t64, p64 = t.astype(np.float64), p.astype(np.float64)
    parts = [(t64[a:b], p64[a:b]) for a, b in itertools.pairwise(cuts) if b > a]
    whole = _pack(_moments(t, p))
    empty = _pack(_empty_like(t.shape[1]))
    numpy_parts = np.stack([*[_batch_packed(a, b, np) for a, b in parts][::-1], empty])
    # Merging rounds the means once more (subnormal data: a few digits fewer).
    assert_same_state(whole, _merge_packed(numpy_parts), rtol=1e-12)
    torch_parts = torch.stack([_batch_packed(torch.from_numpy(a), torch.from_numpy(b), TORCH)
                               for a, b in parts] + [torch.from_numpy(empty)])
    assert_same_state(whole, _merge_packed_xp(torch_parts, TORCH).numpy(), rtol=1e-12)


def _empty_like(k):
    from affectmetrics._moments import _empty_moments

    return _empty_moments(k)


def test_the_array_api_step_stays_a_tensor_and_its_final_step_equals_the_functions():
    t = torch.linspace(-1, 1, 50, dtype=torch.float64).reshape(25, 2)
    p = 0.5 * t + 0.1
    state = _batch_packed(t, p, TORCH)
    merged = _merge_packed_xp(torch.stack([state, state]), TORCH)
    assert isinstance(merged, torch.Tensor)
    assert merged.device == t.device and merged.shape == (13, 2)
    values = _continuous_results(_unpack(merged.numpy()))
    both_t, both_p = np.concatenate([t.numpy()] * 2), np.concatenate([p.numpy()] * 2)
    for key, fn in (("ccc", am.ccc), ("pearson", am.pearson), ("rmse", am.rmse),
                    ("sagr", am.sagr)):
        np.testing.assert_allclose(values[key], fn(both_t, both_p), rtol=1e-14, err_msg=key)


def test_tiny_values_are_not_constant():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert am.pearson([0, 1e-170], [0, 1e-170]) == 1.0
        # means 1/2 and 1, variances 1/4 and 1, covariance 1/2 (units 1e-170): 1 / 1.5
        assert am.ccc([0, 1e-170], [0, 2e-170]) == pytest.approx(2 / 3, rel=1e-15)


def test_huge_values_give_the_right_metrics_without_numpy_warnings():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = x + rng.normal(size=200)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert am.pearson(x * 1e160, y * 1e160) == pytest.approx(stats.pearsonr(x, y)[0],
                                                                   rel=1e-14)
        assert am.ccc(x * 1e160, y * 1e160) == pytest.approx(am.ccc(x, y), rel=1e-14)
        assert am.rmse(x * 1e160, y * 1e160) == pytest.approx(am.rmse(x, y) * 1e160, rel=1e-14)
    # The RMSE is infinite only when the true value overflows.
    assert am.rmse([1.7e308, -1.7e308], [-1.7e308, 1.7e308]) == np.inf
    assert am.rmse([1e308, -1e308], [-5e307, 5e307]) == pytest.approx(1.5e308, rel=1e-15)


@given(st.integers(-1000, 1000), st.integers(-1000, 1000), st.integers(0, 2**32 - 1))
def test_pearson_and_ccc_are_invariant_to_powers_of_two(e_true, e_pred, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=20)
    y = x + rng.normal(size=20)
    assert am.pearson(np.ldexp(x, e_true), np.ldexp(y, e_pred)) == pytest.approx(
        stats.pearsonr(x, y)[0], rel=1e-13)
    assert am.ccc(np.ldexp(x, e_true), np.ldexp(y, e_true)) == pytest.approx(
        am.ccc(x, y), rel=1e-13)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_narrow_floats_far_from_zero_equal_float64_of_the_same_values(dtype):
    rng = np.random.default_rng(3)
    t = (1000 + 3 * rng.normal(size=(500, 2))).astype(dtype)
    p = (t.astype(np.float64) + rng.normal(size=(500, 2))).astype(dtype)
    for metric in (am.ccc, am.pearson, am.rmse):
        np.testing.assert_allclose(metric(t, p), metric(t.astype(np.float64),
                                                        p.astype(np.float64)), rtol=1e-13)


def test_unpack_of_pack_is_the_identity_and_empty_states_merge_away():
    rng = np.random.default_rng(4)
    t, p = rng.normal(size=(100, 3)), rng.normal(size=(100, 3))
    state = _pack(_moments(t, p))
    np.testing.assert_array_equal(_pack(_unpack(state)), state)
    empty = _pack(_empty_like(3))
    np.testing.assert_array_equal(_merge_packed(np.stack([empty, state, empty])), state)


@given(st.integers(1, 60), st.integers(1, 3), st.integers(0, 2**32 - 1),
       st.sampled_from([1.0, 1e-160, 1e160, 1e3]))
@example(42, 1, 0, 1e-160)  # a constant tiny column: the merged state's sums exactly 0
def test_any_split_merged_in_any_order_equals_one_shot(n, k, seed, magnitude):
    rng = np.random.default_rng(seed)
    t = magnitude * rng.normal(size=(n, k))
    p = t + magnitude * rng.normal(size=(n, k))
    t[:, 0] = t[0, 0] if seed % 3 == 0 else t[:, 0]  # sometimes a constant column
    cuts = np.sort(rng.integers(1, n + 1, rng.integers(0, 4))) if n > 1 else []
    parts = [(a, b) for a, b in zip(np.split(t, cuts), np.split(p, cuts), strict=True)
             if a.shape[0]]
    order = rng.permutation(len(parts))
    stacked = np.stack([_batch_packed(*parts[i], np) for i in order])
    merged, whole = _merge_packed(stacked), _pack(_moments(t, p))
    assert_same_state(whole, merged, rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", am.UndefinedMetricWarning)
        values = _continuous_results(_unpack(merged))
        for key, fn in (("ccc", am.ccc), ("pearson", am.pearson), ("rmse", am.rmse),
                        ("sagr", am.sagr)):
            np.testing.assert_allclose(values[key], fn(t, p), rtol=1e-10, atol=1e-13,
                                       err_msg=key)


@pytest.mark.parametrize(("entry", "value", "message"), [
    ("min_true", [0.9, 0.0], "'min_true' and 'max_true' must be the data's extremes"),
    ("max_pred", [np.inf, 1.0], "'min_pred' and 'max_pred' must be the data's extremes"),
    ("mean_true", [5.0, 0.0], "'min_true' and 'max_true' must be the data's extremes"),
])
def test_saved_states_with_impossible_extremes_are_refused(entry, value, message):
    t = np.array([[0.1, 0.2], [0.5, -0.3], [0.8, 0.4]])
    acc = am.ContinuousAccumulator(2)
    acc.update(t, 0.5 * t)
    state = acc.state_dict()
    restored = am.ContinuousAccumulator.from_state_dict(dict(state))
    np.testing.assert_array_equal(restored.compute()["ccc"], acc.compute()["ccc"])
    with pytest.raises(ValueError, match=message):
        am.ContinuousAccumulator.from_state_dict({**state, entry: np.array(value)})
