"""Continuous metrics against transcribed equations, SciPy and scikit-learn."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats
from sklearn.metrics import mean_squared_error

import affectmetrics as am


def ccc_reference(x, y):
    """Lin (1989) transcribed, two-pass, population moments (np.var / np.cov with bias)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    sxy = np.mean((x - x.mean()) * (y - y.mean()))
    return 2 * sxy / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)


def sagr_reference(x, y):
    return float(np.mean(np.sign(x) == np.sign(y)))


def random_pairs(rng, n, k=None, loc=0.0, scale=1.0):
    shape = (n,) if k is None else (n, k)
    x = rng.normal(loc, scale, shape)
    y = 0.6 * x + rng.normal(0.1, 0.5 * scale, shape)
    return x, y


@pytest.mark.parametrize("seed", range(20))
def test_agree_with_references_on_random_data(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 3000))
    x, y = random_pairs(rng, n, loc=rng.normal(0, 3), scale=rng.uniform(0.1, 5))
    assert am.ccc(x, y) == pytest.approx(ccc_reference(x, y), rel=1e-12)
    assert am.pearson(x, y) == pytest.approx(stats.pearsonr(x, y).statistic, rel=1e-12)
    assert am.rmse(x, y) == pytest.approx(np.sqrt(mean_squared_error(x, y)), rel=1e-12)
    assert am.sagr(x, y) == sagr_reference(x, y)


def test_two_dimensional_input_scores_each_column():
    rng = np.random.default_rng(1)
    x, y = random_pairs(rng, 500, k=3)
    for metric, reference in [
        (am.ccc, ccc_reference),
        (am.pearson, lambda a, b: stats.pearsonr(a, b).statistic),
        (am.rmse, lambda a, b: np.sqrt(mean_squared_error(a, b))),
        (am.sagr, sagr_reference),
    ]:
        values = metric(x, y)
        assert isinstance(values, np.ndarray) and values.shape == (3,)
        expected = [reference(x[:, j], y[:, j]) for j in range(3)]
        np.testing.assert_allclose(values, expected, rtol=1e-12)


def test_results_are_python_floats_for_1d_input():
    for metric in (am.ccc, am.pearson, am.rmse, am.sagr):
        assert type(metric([0.1, 0.5, 0.2], [0.2, 0.4, 0.1])) is float


def test_hand_checked_small_case():
    # x = (1, 2, 3), y = (2, 4, 3): means 2 and 3; s_x^2 = 2/3, s_y^2 = 2/3,
    # s_xy = ((-1)(-1) + 0 + (1)(0)) / 3 = 1/3.
    # CCC = 2(1/3) / (2/3 + 2/3 + 1) = (2/3) / (7/3) = 2/7; r = (1/3) / (2/3) = 1/2;
    # RMSE = sqrt((1 + 4 + 0) / 3) = sqrt(5/3); SAGR = 1 (all positive).
    x, y = [1, 2, 3], [2, 4, 3]
    assert am.ccc(x, y) == pytest.approx(2 / 7, rel=1e-15)
    assert am.pearson(x, y) == pytest.approx(0.5, rel=1e-15)
    assert am.rmse(x, y) == pytest.approx(np.sqrt(5 / 3), rel=1e-15)
    assert am.sagr(x, y) == 1.0


def test_sagr_zero_agrees_only_with_zero():
    # signs: (0, 0) agree, (0, +) and (-, 0) do not, (+, +) agrees: 2 of 4
    assert am.sagr([0.0, 0.0, -0.5, 0.3], [0.0, 0.2, 0.0, 0.1]) == 0.5


def test_constant_prediction_has_ccc_exactly_zero():
    truth = np.linspace(-1, 1, 101)
    for value in (0.3, 0.5, 0.1, 1e8 + 0.1):
        pred = np.full_like(truth, value)
        assert am.ccc(truth, pred) == 0.0
        with pytest.warns(am.UndefinedMetricWarning, match="constant"):
            assert np.isnan(am.pearson(truth, pred))


def test_constancy_is_decided_exactly_not_by_variance():
    # np.var([0.3] * 10) is ~3e-33, not 0; a variance test would call only 0.5 constant.
    assert np.var([0.3] * 10) != 0.0
    for value in (0.3, 0.5):
        with pytest.warns(am.UndefinedMetricWarning, match="both constant and equal"):
            assert np.isnan(am.ccc([value] * 10, [value] * 10))
    # Constant and different: denominator (x - y)^2 > 0, numerator 0.
    assert am.ccc([0.3] * 10, [0.5] * 10) == 0.0


def test_single_sample():
    assert am.rmse([0.5], [0.2]) == pytest.approx(0.3)
    assert am.sagr([0.5], [-0.2]) == 0.0
    assert am.ccc([0.5], [0.2]) == 0.0
    with pytest.warns(am.UndefinedMetricWarning):
        assert np.isnan(am.ccc([0.5], [0.5]))


def test_two_dimensional_warning_names_the_column():
    x = np.column_stack([np.arange(5.0), np.full(5, 2.0)])
    with pytest.warns(am.UndefinedMetricWarning, match=r"column\(s\) \[1\]"):
        r = am.pearson(x, x)
    assert r[0] == 1.0 and np.isnan(r[1])


def test_float32_far_from_zero_matches_float64():
    rng = np.random.default_rng(7)
    x = (1000 + rng.standard_normal(200_000)).astype(np.float32)
    y = (x + 0.5 * rng.standard_normal(200_000)).astype(np.float32)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    assert abs(am.ccc(x, y) - ccc_reference(x64, y64)) < 1e-6
    assert abs(am.pearson(x, y) - stats.pearsonr(x64, y64).statistic) < 1e-6


def test_wilkinson_style_data_near_1e8():
    # Large offset, tiny spread: a one-pass sum of squares loses every digit here.
    x = 1e8 + np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9])
    y = 1e8 + np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 10])
    assert am.pearson(x, y) == pytest.approx(stats.pearsonr(x - 1e8, y - 1e8).statistic,
                                             rel=1e-12)
    assert am.ccc(x, y) == pytest.approx(ccc_reference(x - 1e8, y - 1e8), rel=1e-12)


def test_rmse_of_small_errors_between_large_values_is_exact():
    # t - p is exact in float64 (-2048, -1, 3): RMSE = sqrt((2048**2 + 1 + 9) / 3). It used to
    # be taken after shifting each side by its median (2**63 - 5 rounds to 2**63 - 4, ...),
    # which gave 1180.68; uint64 labels of the same values took the same path.
    x = np.array([2.0**63, 0.0, 5.0])
    y = np.array([2.0**63 + 2048, 1.0, 2.0])
    right = np.sqrt((2048**2 + 1 + 9) / 3)
    assert am.rmse(x, y) == pytest.approx(right, rel=1e-15)
    assert am.rmse(x.astype(np.uint64), y.astype(np.uint64)) == pytest.approx(right, rel=1e-15)
    # The same in a 2-D column beside an ordinary one, and split across accumulator updates.
    x2, y2 = np.column_stack([x, [0.1, 0.2, 0.3]]), np.column_stack([y, [0.2, 0.2, 0.1]])
    assert am.rmse(x2, y2)[0] == pytest.approx(right, rel=1e-15)
    acc = am.ContinuousAccumulator(2)
    acc.update(x2[:2], y2[:2])
    acc.update(x2[2:], y2[2:])
    assert acc.compute()["rmse"][0] == pytest.approx(right, rel=1e-15)


def test_rmse_of_a_tiny_side_against_an_all_zero_side():
    # sqrt(mean([0, 4, 1])) * 1e-170 = sqrt(5 / 3) * 1e-170; was 0.0 (the squares of the
    # differences underflowed in the all-zero side's scale 1).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert am.rmse([0.0, 0.0, 0.0], [0.0, -2e-170, -1e-170]) == pytest.approx(
            np.sqrt(5 / 3) * 1e-170, rel=1e-15)
        assert am.rmse([1e-170, 0.0], [0.0, 0.0]) == pytest.approx(1e-170 / np.sqrt(2),
                                                                    rel=1e-15)
        assert am.rmse([1e-300], [0.0]) == 1e-300
        acc = am.ContinuousAccumulator()
        for t, p in (([1e-170], [0.0]), ([0.0], [0.0]), ([0.0], [2e-170])):
            acc.update(t, p)
        assert acc.compute()["rmse"][0] == pytest.approx(np.sqrt(5 / 3) * 1e-170, rel=1e-15)


def test_ccc_and_icc_stay_within_their_range():
    # y = x + 1e-9 (as rounded): the exact CCC rounds to 1.0, the computed one was
    # 1.0000000000000002; ICC(3,1) of x and -x is exactly -1, computed -1.0000000000000002.
    # Both are now clipped against rounding, as Pearson's r, on every path.
    x = np.array([42.90356548964334, 38.90071477168424, 26.117085674218252, 49.22277629896131])
    y = np.array([42.90356549064334, 38.90071477268424, 26.117085675218252, 49.2227762999613])
    assert am.ccc(x, y) == 1.0
    acc = am.ContinuousAccumulator()
    acc.update(x, y)
    assert acc.compute()["ccc"][0] == 1.0
    z = np.array([-17.85853237661703, -17.12964939556335, -18.481014985414753,
                  -28.034496417243936, -16.181014073163524, -20.960428963108157,
                  -24.00804499791742, -17.605145674545103, -17.747417849625013,
                  -23.39840673471074, -11.027886528710427, -23.984479800371073])
    assert am.icc(z, -z) == -1.0
    result = am.bootstrap_ci(va=z, va_pred=-z, n_resamples=200, seed=0)
    assert np.nanmin(result.distribution["icc"]) >= -1.0
    near = np.random.default_rng(0).uniform(-1, 1, 5)
    result = am.bootstrap_ci(va=near, va_pred=near + 0.1, n_resamples=500, seed=0)
    assert np.nanmax(result.distribution["icc"]) <= 1.0


def test_blocks_do_not_change_the_result():
    # More rows than one block: the block merge must equal the two-pass reference.
    rng = np.random.default_rng(3)
    x, y = random_pairs(rng, 100_003, k=2, loc=50.0)
    np.testing.assert_allclose(am.ccc(x, y), [ccc_reference(x[:, j], y[:, j]) for j in range(2)],
                               rtol=1e-12)
    np.testing.assert_allclose(
        am.rmse(x, y), np.sqrt(((x - y) ** 2).mean(axis=0)), rtol=1e-12)


def test_nan_policy_omit_drops_rows_with_nan_anywhere():
    x = np.array([[0.1, 0.2], [np.nan, 0.5], [0.3, -0.1], [0.8, 0.4], [0.2, 0.1]])
    y = np.array([[0.2, 0.1], [0.3, 0.3], [0.1, np.nan], [0.7, 0.5], [0.1, 0.0]])
    keep = [0, 3, 4]
    for metric in (am.ccc, am.pearson, am.rmse, am.sagr):
        np.testing.assert_allclose(metric(x, y, nan_policy="omit"), metric(x[keep], y[keep]),
                                   rtol=0, atol=0)


def test_input_dtypes_give_identical_results():
    x = [0, 1, 2, 3, 5]
    y = [1, 1, 2, 4, 4]
    for metric in (am.ccc, am.pearson, am.rmse, am.sagr):
        reference = metric(np.array(x, dtype=np.float64), np.array(y, dtype=np.float64))
        for dtype in (np.int8, np.int64, np.uint16, np.float32):
            assert metric(np.array(x, dtype=dtype), np.array(y, dtype=dtype)) == reference
        assert metric(x, y) == reference


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@st.composite
def pairs(draw):
    n = draw(st.integers(2, 40))
    x = draw(arrays(np.float64, n, elements=finite))
    y = draw(arrays(np.float64, n, elements=finite))
    return x, y


def varies(a):
    return a.max() > a.min() and np.std(a) > 1e-6 * max(1.0, np.abs(a).max())


@given(pairs())
def test_ccc_is_symmetric(xy):
    x, y = xy
    assume(varies(x) or varies(y))
    assert am.ccc(x, y) == pytest.approx(am.ccc(y, x), rel=1e-12, abs=1e-15)


@given(pairs())
def test_ccc_bounded_by_pearson(xy):
    x, y = xy
    assume(varies(x) and varies(y))
    assert abs(am.ccc(x, y)) <= abs(am.pearson(x, y)) + 1e-12


@given(arrays(np.float64, st.integers(2, 50), elements=finite))
def test_ccc_of_x_with_itself_is_one(x):
    assume(varies(x))
    assert am.ccc(x, x) == pytest.approx(1.0, rel=1e-12)


@given(pairs(), st.floats(0.01, 100), st.floats(-100, 100))
def test_pearson_invariant_to_positive_affine_maps(xy, scale, shift):
    x, y = xy
    assume(varies(x) and varies(y))
    assert am.pearson(x, scale * y + shift) == pytest.approx(am.pearson(x, y), rel=1e-8,
                                                            abs=1e-8)


@given(pairs())
def test_metrics_are_invariant_to_sample_order(xy):
    x, y = xy
    assume(varies(x) and varies(y))
    order = np.random.default_rng(0).permutation(x.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", am.UndefinedMetricWarning)
        for metric in (am.ccc, am.pearson, am.rmse, am.sagr):
            assert metric(x[order], y[order]) == pytest.approx(metric(x, y), rel=1e-12,
                                                               abs=1e-15)
