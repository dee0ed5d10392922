"""ICC (two raters: truth and prediction) and MAE against pingouin, SciPy and hand checks."""

import warnings

import numpy as np
import pandas as pd
import pingouin
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import affectmetrics as am
from affectmetrics.bootstrap import bootstrap_ci

# pingouin names the forms as McGraw & Wong: A (absolute agreement) is Shrout & Fleiss' 2,
# C (consistency) their 3.
PINGOUIN = {"1,1": "ICC(1,1)", "2,1": "ICC(A,1)", "3,1": "ICC(C,1)", "1,k": "ICC(1,k)",
            "2,k": "ICC(A,k)", "3,k": "ICC(C,k)"}


def pingouin_icc(t, p):
    n = t.shape[0]
    long = pd.DataFrame({"target": np.tile(np.arange(n), 2),
                         "rater": np.repeat(["truth", "pred"], n),
                         "rating": np.concatenate([t, p])})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pingouin's own pandas deprecation warnings
        table = pingouin.intraclass_corr(long, targets="target", raters="rater",
                                         ratings="rating")
    return dict(zip(table["Type"], table["ICC"], strict=True))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n", [5, 40, 500])
def test_agrees_with_pingouin_on_random_data(seed, n):
    rng = np.random.default_rng(seed)
    t = rng.normal(2.0, 1.0, n)
    p = 0.7 * t + rng.normal(0.3 * seed, 0.8, n)
    reference = pingouin_icc(t, p)
    for form, name in PINGOUIN.items():
        assert am.icc(t, p, form=form) == pytest.approx(reference[name], rel=1e-10, abs=1e-12)


def test_agrees_with_pingouin_on_au_intensities_far_from_zero():
    rng = np.random.default_rng(7)
    t = rng.integers(0, 6, (300, 3)).astype(float)
    p = np.clip(t + rng.normal(0, 0.9, t.shape), 0, 5)
    values = am.icc(1000.0 + t, 1000.0 + p)
    for j in range(3):
        assert values[j] == pytest.approx(pingouin_icc(t[:, j], p[:, j])["ICC(C,1)"], rel=1e-10)


def test_hand_checked_cases():
    # p = t + 1: consistency is perfect, absolute agreement is not
    assert am.icc([1, 2, 3], [2, 3, 4]) == 1.0
    assert am.icc([1, 2, 3], [2, 3, 4], form="2,1") == pytest.approx(2 / 3, rel=1e-15)
    # MSR = (2+2+4)/(2*2) = 2, MSW = 3/(2*3) = 1/2: ICC(1,1) = 1.5 / 2.5
    assert am.icc([1, 2, 3], [2, 3, 4], form="1,1") == pytest.approx(0.6, rel=1e-15)
    # constant prediction against varying truth: exactly 0
    assert am.icc([1.0, 2.0, 4.0], [0.3, 0.3, 0.3]) == 0.0
    # ICC(3,1) is the CCC without the bias term: equal to CCC for equal means
    t, p = np.array([0.0, 1.0, 3.0, 4.0]), np.array([1.0, 0.0, 4.0, 3.0])
    assert am.icc(t, p) == pytest.approx(am.ccc(t, p), rel=1e-15)


def test_range_of_the_absolute_agreement_forms():
    # The docs said ICC(2,1) lies in [-1, 1] and every form is at most 1. With
    # MSR = MSC = 0 (t + p constant, equal means), MSE = 2: ICC(2,1) = -2 / (2 - 4/3) = -3,
    # ICC(2,k) = -2 / (-2/3) = 3; ICC(3,1) and ICC(1,1) stay at -1. pingouin agrees.
    t, p = np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])
    reference = pingouin_icc(t, p)
    assert am.icc(t, p, form="2,1") == pytest.approx(-3.0, rel=1e-14)
    assert am.icc(t, p, form="2,k") == pytest.approx(3.0, rel=1e-14)
    assert reference["ICC(A,1)"] == pytest.approx(-3.0, rel=1e-12)
    assert reference["ICC(A,k)"] == pytest.approx(3.0, rel=1e-12)
    assert am.icc(t, p) == -1.0 and am.icc(t, p, form="1,1") == -1.0
    # the lower bound -n/(n-2) of ICC(2,1), reached for every n
    for n in (4, 10, 101):
        t = np.arange(n, dtype=float)
        assert am.icc(t, t[::-1], form="2,1") == pytest.approx(-n / (n - 2), rel=1e-12)


def test_undefined_cases_warn_about_icc_only():
    with pytest.warns(am.UndefinedMetricWarning, match="^icc is undefined") as record:
        assert np.isnan(am.icc([2.0, 2.0, 2.0], [1.0, 1.0, 1.0]))
    assert len(record) == 1
    # both constant but unequal: ICC(2,1) is 0 (rater variance only), ICC(1,1) is -1
    assert am.icc([2.0, 2.0], [1.0, 1.0], form="2,1") == 0.0
    assert am.icc([2.0, 2.0], [1.0, 1.0], form="1,1") == -1.0
    with pytest.warns(am.UndefinedMetricWarning, match="^icc is undefined: it needs at least"):
        assert np.isnan(am.icc([1.0], [2.0]))
    with pytest.warns(am.UndefinedMetricWarning, match=r"^icc is undefined for column\(s\) \[1\]"):
        values = am.icc([[1.0, 5.0], [2.0, 5.0], [4.0, 5.0]], [[1.5, 5.0], [2.0, 5.0], [3.0, 5.0]])
    assert values[0] == pytest.approx(pingouin_icc(np.array([1.0, 2, 4]),
                                                   np.array([1.5, 2, 3]))["ICC(C,1)"], rel=1e-12)
    with pytest.raises(ValueError, match="form must be one of"):
        am.icc([1, 2], [1, 2], form="3")


def test_mae():
    rng = np.random.default_rng(0)
    t, p = rng.normal(size=(100, 2)), rng.normal(size=(100, 2))
    np.testing.assert_allclose(am.mae(t, p), np.mean(np.abs(t - p), axis=0), rtol=1e-15)
    assert am.mae([0, 1, 2], [0, 2, 4]) == 1.0
    assert am.mae(np.float32([1000.5, 1001.0]), np.float32([1000.0, 1001.0])) == 0.25
    assert am.mae([1, np.nan, 3], [1, 2, 5], nan_policy="omit") == 1.0
    with pytest.raises(ValueError, match="NaN"):
        am.mae([1, np.nan], [1, 2])


@pytest.mark.parametrize("form", ["3,k", "1,k"])
def test_average_forms_undefined_when_every_sample_has_the_same_mean(form):
    # t + p constant: MSR = 0, the denominator of ICC(3,k) and ICC(1,k); the warning said
    # "e.g. y_true and y_pred both constant", which they are not. pingouin gives -inf.
    t, p = np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])
    with pytest.warns(am.UndefinedMetricWarning, match=rf"^icc is undefined: the "
                      rf"denominator of ICC\({form}\) is 0 \(MSR = 0: y_true \+ y_pred is "
                      r"constant") as record:
        assert np.isnan(am.icc(t, p, form=form))
    assert len(record) == 1
    name = {"3,k": "ICC(C,k)", "1,k": "ICC(1,k)"}[form]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert pingouin_icc(t, p)[name] == -np.inf


def test_mae_of_huge_and_tiny_data_does_not_overflow():
    # |1e308 - (-1e308)| overflowed to inf (with a RuntimeWarning) though the MAE, 1e308, is
    # a float; so did the sum of ten differences of 2e307. RMSE never did.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert am.mae([1e308, 0.0], [-1e308, 0.0]) == 1e308
        assert am.mae(np.full(10, 1e307), np.full(10, -1e307)) == 2e307
        np.testing.assert_array_equal(
            am.mae(np.array([[1e307, 1.0]] * 4), np.array([[-1e307, 2.0]] * 4)), [2e307, 1.0])
        assert am.mae([3e-320, 1e-320], [0.0, 0.0]) == 2e-320
        x = np.array([0.5, -0.2, 0.1, 0.9, -0.7])
        y = np.array([0.4, -0.1, 0.3, 0.6, -0.5])
        assert am.mae(x * 2.0**-1000, y * 2.0**-1000) == am.mae(x, y) * 2.0**-1000
        assert am.mae(x * 2.0**1000, y * 2.0**1000) == am.mae(x, y) * 2.0**1000
        # the true MAE beyond the largest float: inf, silently
        assert am.mae([1.7e308] * 3, [-1.7e308] * 3) == np.inf


def test_icc_streams_merges_and_bootstraps():
    rng = np.random.default_rng(4)
    t = rng.normal(size=(600, 2))
    p = t + rng.normal(0.2, 0.6, (600, 2))
    expected = am.icc(t, p)
    parts = [am.ContinuousAccumulator(2) for _ in range(3)]
    for acc, rows in zip(parts, np.array_split(rng.permutation(600), 3), strict=True):
        acc.update(t[rows], p[rows])
    merged = parts[2].merge(parts[0]).merge(parts[1])
    np.testing.assert_allclose(merged.compute()["icc"], expected, rtol=1e-12)
    result = bootstrap_ci(va=t, va_pred=p, n_resamples=40, seed=0)
    assert result.estimate["icc_valence"] == pytest.approx(expected[0], rel=1e-12)
    assert result.estimate["icc_arousal"] == pytest.approx(expected[1], rel=1e-12)
    report = am.evaluate(va=t, va_pred=p, warn=False)
    assert report.metrics["icc_arousal"] == pytest.approx(expected[1], rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(3, 30)),
              elements=st.integers(-1000, 1000).map(lambda v: v / 10)),
       st.floats(0.1, 3.0), st.floats(-5, 5))
def test_property_pingouin_and_ordering(t, scale, shift):
    p = scale * t[::-1] + shift
    if np.ptp(t) == 0:
        return
    reference = pingouin_icc(t, p)
    for form in ("1,1", "2,1", "3,1"):
        assert am.icc(t, p, form=form) == pytest.approx(reference[PINGOUIN[form]],
                                                         rel=1e-8, abs=1e-10)
    # consistency ignores a shift of the prediction (data on a 0.1 grid: the shift is exact
    # enough)
    assert am.icc(t, p + 7.0) == pytest.approx(am.icc(t, p), rel=1e-9, abs=1e-10)
