"""affectmetrics.annotations against krippendorff, pingouin, statsmodels and the equations."""

from __future__ import annotations

import warnings

import krippendorff
import numpy as np
import pandas as pd
import pingouin
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

import affectmetrics as am
from affectmetrics import annotations
from affectmetrics.annotations.intervals import _AlphaEngine, _FleissEngine, _ICCEngine

LEVELS = ("nominal", "ordinal", "interval", "ratio")
nan = np.nan

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": the example of four
# coders (rows A-D there, columns here) and twelve units with missing values.
KRIPPENDORFF_2011 = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
]).T
PUBLISHED = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}


def _random_ratings(seed: int, *, n_items: int = 60, n_raters: int = 5, n_values: int = 5,
                    missing: float = 0.25) -> np.ndarray:
    """Category ratings 1..n_values with rater noise and missing cells."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, n_values + 1, n_items)
    noise = rng.integers(1, n_values + 1, (n_items, n_raters))
    ratings = np.where(rng.random((n_items, n_raters)) < 0.6, truth[:, None], noise)
    return np.where(rng.random((n_items, n_raters)) < missing, nan, ratings.astype(float))


# -- Krippendorff's alpha -----------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_alpha_reproduces_krippendorffs_published_example(level):
    value = annotations.krippendorff_alpha(KRIPPENDORFF_2011, level=level)
    assert f"{value:.3f}" == f"{PUBLISHED[level]:.3f}"
    expected = krippendorff.alpha(reliability_data=KRIPPENDORFF_2011.T,
                                  level_of_measurement=level)
    assert value == pytest.approx(expected, rel=1e-12)


def test_alpha_published_example_nominal_by_hand():
    # Its coincidence matrix: diagonal (7, 10, 8, 4, 3), off-diagonal mass 8 (4/3
    # between values 1-2 and 2-3, 1/3 for the other pairs among 1-4), n_c = (9, 13, 10, 5,
    # 3), n.. = 40: nominal alpha = 1 - 39 * 8 / (40^2 - 384) = 1 - 312/1216.
    assert annotations.krippendorff_alpha(KRIPPENDORFF_2011) == pytest.approx(
        1 - 312 / 1216, rel=1e-14)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("seed", range(4))
def test_alpha_equals_the_krippendorff_package_with_missing_values(level, seed):
    rng = np.random.default_rng(100 + seed)
    ratings = _random_ratings(seed, n_items=int(rng.integers(5, 80)),
                              n_raters=int(rng.integers(2, 8)), n_values=int(rng.integers(2, 9)),
                              missing=float(rng.uniform(0, 0.5)))
    expected = krippendorff.alpha(reliability_data=ratings.T, level_of_measurement=level)
    assert annotations.krippendorff_alpha(ratings, level=level) == pytest.approx(
        expected, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("level", LEVELS)
def test_alpha_dense_and_pairwise_coincidence_matrices_agree(level, monkeypatch):
    # Few distinct values use the dense item-by-value table, many use the per-item pairs.
    from affectmetrics.annotations import alpha as alpha_module

    ratings = _random_ratings(9, n_items=70, n_raters=6, n_values=6, missing=0.3)
    dense = annotations.krippendorff_alpha(ratings, level=level)
    monkeypatch.setattr(alpha_module, "_DENSE_CELLS", 0)
    pairwise = annotations.krippendorff_alpha(ratings, level=level)
    expected = krippendorff.alpha(reliability_data=ratings.T, level_of_measurement=level)
    assert dense == pytest.approx(expected, rel=1e-10)
    assert pairwise == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("level", ("interval", "ratio"))
def test_alpha_on_continuous_ratings_equals_the_package(level):
    rng = np.random.default_rng(7)
    truth = rng.uniform(1, 9, 40)
    # Clipped at 0: ratio ratings cannot be negative.
    ratings = np.clip(np.round(truth[:, None] + rng.normal(scale=0.8, size=(40, 4)), 1), 0, None)
    ratings[rng.random(ratings.shape) < 0.2] = nan
    expected = krippendorff.alpha(reliability_data=ratings.T, level_of_measurement=level)
    assert annotations.krippendorff_alpha(ratings, level=level) == pytest.approx(
        expected, rel=1e-10)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("seed", range(3))
def test_alpha_on_two_complete_raters_is_the_two_coder_alpha(level, seed):
    rng = np.random.default_rng(seed)
    t = rng.integers(1, 6, 200)
    p = np.where(rng.random(200) < 0.5, t, rng.integers(1, 6, 200))
    two_coder = am.krippendorff_alpha(t, p, level=level)
    assert annotations.krippendorff_alpha(np.stack([t, p], axis=1), level=level) == (
        pytest.approx(two_coder, rel=1e-12))


def test_alpha_ignores_items_with_a_single_rating():
    base = np.array([[1, 1, 2], [2, 2, 2], [3, 1, nan]])
    extra = np.vstack([base, [[nan, 3, nan], [nan, nan, nan]]])
    assert annotations.krippendorff_alpha(extra) == annotations.krippendorff_alpha(base)


def test_alpha_undefined_cases_warn_and_return_nan():
    with pytest.warns(am.UndefinedMetricWarning, match="^krippendorff_alpha is undefined: no "):
        assert np.isnan(annotations.krippendorff_alpha([[1, nan], [nan, 2]]))
    with pytest.warns(am.UndefinedMetricWarning,
                      match="^krippendorff_alpha is undefined: the expected disagreement"):
        assert np.isnan(annotations.krippendorff_alpha([[3, 3, nan], [3, 3, 3]]))


def test_alpha_accepts_integer_matrices_and_refuses_bad_input():
    assert annotations.krippendorff_alpha(np.array([[0, 0], [1, 1]], dtype=np.int8)) == 1.0
    with pytest.raises(ValueError, match="level must be one of"):
        annotations.krippendorff_alpha([[0, 1], [1, 1]], level="cardinal")
    with pytest.raises(ValueError, match="ratings must be a 2-D"):
        annotations.krippendorff_alpha([0, 1, 1])
    with pytest.raises(ValueError, match="1 rater column"):
        annotations.krippendorff_alpha([[0], [1]])
    with pytest.raises(ValueError, match=r"infinite value.*\(item, rater\) \(1, 0\)"):
        annotations.krippendorff_alpha([[0, 1], [np.inf, 1]])
    with pytest.raises(TypeError, match="ratings must hold numbers"):
        annotations.krippendorff_alpha([["a", "b"], ["a", "a"]])
    with pytest.raises(ValueError, match="no items"):
        annotations.krippendorff_alpha(np.zeros((0, 3)))


ratings_matrices = st.integers(0, 10_000).flatmap(
    lambda seed: st.tuples(st.just(seed), st.integers(2, 6), st.integers(2, 25)))


@given(ratings_matrices, st.sampled_from(LEVELS))
def test_alpha_is_invariant_to_rater_and_item_order(params, level):
    seed, n_raters, n_items = params
    ratings = _random_ratings(seed, n_items=n_items, n_raters=n_raters, missing=0.2)
    rng = np.random.default_rng(seed)
    shuffled = ratings[rng.permutation(n_items)][:, rng.permutation(n_raters)]
    with np.errstate(all="ignore"):
        pairable = (~np.isnan(ratings)).sum(axis=1) >= 2
        values = np.unique(ratings[pairable][~np.isnan(ratings[pairable])])
    if values.size < 2:  # undefined: both orders must say so
        with pytest.warns(am.UndefinedMetricWarning, match="^krippendorff_alpha"):
            a = annotations.krippendorff_alpha(ratings, level=level)
        with pytest.warns(am.UndefinedMetricWarning, match="^krippendorff_alpha"):
            b = annotations.krippendorff_alpha(shuffled, level=level)
        assert np.isnan(a) and np.isnan(b)
    else:
        assert annotations.krippendorff_alpha(shuffled, level=level) == pytest.approx(
            annotations.krippendorff_alpha(ratings, level=level), rel=1e-12, abs=1e-12)


@given(st.integers(0, 10_000), st.integers(2, 6), st.sampled_from(LEVELS))
def test_alpha_is_one_under_perfect_agreement(seed, n_raters, level):
    rng = np.random.default_rng(seed)
    truth = np.r_[1, 2, rng.integers(1, 6, 10)]  # two distinct values at least
    ratings = np.repeat(truth[:, None].astype(float), n_raters, axis=1)
    ratings[rng.random(ratings.shape) < 0.3] = nan
    ratings[:2, :2] = truth[:2, None]  # items with 1 and 2 stay pairable
    ratings = ratings[rng.permutation(truth.shape[0])]
    assert annotations.krippendorff_alpha(ratings, level=level) == pytest.approx(1.0, abs=1e-14)


# -- intraclass correlation ---------------------------------------------------------------

PINGOUIN_TYPES = {"1,1": "ICC(1,1)", "2,1": "ICC(A,1)", "3,1": "ICC(C,1)",
                  "1,k": "ICC(1,k)", "2,k": "ICC(A,k)", "3,k": "ICC(C,k)"}


def _pingouin_icc(ratings: np.ndarray, nan_policy: str = "raise") -> pd.DataFrame:
    """pingouin's table at full precision (it rounds CI95 to 2 decimals by default)."""
    n, k = ratings.shape
    long = pd.DataFrame({"item": np.repeat(np.arange(n), k), "rater": np.tile(np.arange(k), n),
                         "y": ratings.reshape(-1)})
    saved = pingouin.options["round.column.CI95"]
    pingouin.options["round.column.CI95"] = None
    try:
        with warnings.catch_warnings():  # pingouin's own pandas deprecation, not ours
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            table = pingouin.intraclass_corr(long, "item", "rater", "y", nan_policy=nan_policy)
    finally:
        pingouin.options["round.column.CI95"] = saved
    return table.set_index("Type")


def _assert_icc_matches(results: dict, reference: pd.DataFrame) -> None:
    for form, kind in PINGOUIN_TYPES.items():
        row, res = reference.loc[kind], results[form]
        assert res.value == pytest.approx(row["ICC"], rel=1e-10, abs=1e-12), form
        assert res.f == pytest.approx(row["F"], rel=1e-10), form
        assert (res.df1, res.df2) == (row["df1"], row["df2"]), form
        assert res.pvalue == pytest.approx(row["pval"], rel=1e-9, abs=1e-300), form
        assert [res.low, res.high] == pytest.approx(list(row["CI95"]), rel=1e-9, abs=1e-12), form


@pytest.mark.parametrize("seed", range(5))
def test_icc_equals_pingouin_on_random_data(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(4, 40)), int(rng.integers(2, 7))
    item = rng.normal(size=(n, 1)) * rng.uniform(0.2, 3)
    rater = rng.normal(size=(1, k)) * rng.uniform(0, 1)
    ratings = 50 + item + rater + rng.normal(size=(n, k))
    _assert_icc_matches(annotations.icc_table(ratings), _pingouin_icc(ratings))


def test_icc_equals_pingouin_on_its_wine_data_and_far_from_zero():
    # pingouin's "icc" data set (8 wines by 4 judges), typed in; and the same shifted by 1e8.
    wine = np.array([[1, 2, 0, 1], [1, 3, 3, 2], [3, 8, 1, 4], [6, 4, 3, 3],
                     [6, 5, 5, 6], [7, 5, 6, 2], [8, 7, 7, 9], [9, 9, 9, 8]], dtype=float)
    table = annotations.icc_table(wine)
    _assert_icc_matches(table, _pingouin_icc(wine))
    # pingouin's docstring: ICC(1,1) 0.728, F 11.680; ICC(C,k) 0.915, CI95 [0.75, 0.98]
    assert f"{table['1,1'].value:.3f}" == "0.728" and f"{table['1,1'].f:.3f}" == "11.680"
    assert f"{table['3,k'].value:.3f}" == "0.915"
    assert [f"{table['3,k'].low:.2f}", f"{table['3,k'].high:.2f}"] == ["0.75", "0.98"]
    # Centred sums: a shift by 1e8 (exact in float64), or float32 data near 1000, costs
    # nothing.
    shifted = annotations.icc_table(wine + 1e8)
    single = annotations.icc_table(wine.astype(np.float32) + np.float32(1000))
    for form in annotations.ICC_FORMS:
        assert shifted[form].value == pytest.approx(table[form].value, rel=1e-13)
        assert single[form].value == pytest.approx(table[form].value, rel=1e-13)


def test_icc_omits_items_with_missing_ratings_as_pingouin_does():
    rng = np.random.default_rng(3)
    ratings = rng.normal(size=(30, 4)) + rng.normal(size=(30, 1)) * 2
    ratings[[2, 7, 11], [0, 3, 1]] = nan
    results = annotations.icc_table(ratings, nan_policy="omit")
    _assert_icc_matches(results, _pingouin_icc(ratings, nan_policy="omit"))
    assert (results["2,1"].n_items, results["2,1"].n_omitted) == (27, 3)
    with pytest.raises(ValueError, match=r"3 missing rating\(s\).*\(item, rater\) \(2, 0\)"):
        annotations.icc(ratings)


@pytest.mark.parametrize("seed", range(3))
def test_icc_of_two_raters_is_the_moment_formula(seed):
    # Two raters, sample moments s_xx, s_yy, s_xy and mean difference d (McGraw & Wong):
    # ICC(C,1) = 2 s_xy / (s_xx + s_yy),
    # ICC(A,1) = 2 s_xy / (s_xx + s_yy + d^2 - (s_xx + s_yy - 2 s_xy) / n),
    # the truth-versus-prediction am.icc computes these from its streaming moments.
    rng = np.random.default_rng(seed)
    x = rng.normal(size=50)
    y = 0.3 + 0.8 * x + rng.normal(scale=0.5, size=50)
    (sxx, sxy), (_, syy) = np.cov(x, y)
    d = x.mean() - y.mean()
    table = annotations.icc_table(np.stack([x, y], axis=1))
    assert table["3,1"].value == pytest.approx(2 * sxy / (sxx + syy), rel=1e-12)
    assert table["2,1"].value == pytest.approx(
        2 * sxy / (sxx + syy + d * d - (sxx + syy - 2 * sxy) / 50), rel=1e-12)


def test_icc_is_exactly_zero_when_one_of_two_raters_is_constant():
    # Sum of cross products of distinct raters = 0 exactly: no cancellation of MSB - MSE.
    rng = np.random.default_rng(8)
    ratings = np.stack([rng.normal(3, 2, 37), np.full(37, 0.1)], axis=1)
    table = annotations.icc_table(ratings)
    assert [table[form].value for form in ("2,1", "3,1", "2,k", "3,k")] == [0.0] * 4


def test_icc_confidence_level_and_form_options():
    rng = np.random.default_rng(5)
    ratings = rng.normal(size=(25, 3)) + rng.normal(size=(25, 1))
    wide, narrow = (annotations.icc(ratings, form="2,1", confidence_level=c) for c in (.99, .8))
    assert wide.low < narrow.low < narrow.value < narrow.high < wide.high
    assert annotations.icc(ratings).form == "3,1"
    with pytest.raises(ValueError, match="form must be one of"):
        annotations.icc(ratings, form="A,1")
    with pytest.raises(ValueError, match="confidence_level"):
        annotations.icc(ratings, confidence_level=95)
    with pytest.raises(ValueError, match="nan_policy"):
        annotations.icc(ratings, nan_policy="keep")


def test_icc_undefined_cases_warn_name_the_form_and_return_nan():
    with pytest.warns(am.UndefinedMetricWarning, match=r"^icc is undefined for form\(s\) 3,1"):
        result = annotations.icc([[2, 2], [2, 2], [2, 2]])
    assert np.isnan(result.value) and np.isnan(result.low)
    with pytest.warns(am.UndefinedMetricWarning, match="fewer than 2 items"):
        assert np.isnan(annotations.icc([[1, 2]], form="1,1").value)
    # Identical items, raters differ by a constant: MSB = MSE = 0 < MSJ, so forms (3,1),
    # (1,k), (3,k) divide 0 by 0, while (2,1) and (2,k) are 0 and (1,1) is -1 / (k - 1).
    ratings = [[1, 2], [1, 2], [1, 2]]
    with pytest.warns(am.UndefinedMetricWarning, match=r"form\(s\) 3,1, 1,k, 3,k: "):
        table = annotations.icc_table(ratings)
    assert (table["2,1"].value, table["2,k"].value, table["1,1"].value) == (0.0, 0.0, -1.0)


@given(st.integers(0, 10_000), st.integers(2, 5), st.integers(3, 20))
def test_icc_is_invariant_to_rater_and_item_order(seed, k, n):
    rng = np.random.default_rng(seed)
    ratings = rng.normal(size=(n, k)) + rng.normal(size=(n, 1))
    shuffled = ratings[rng.permutation(n)][:, rng.permutation(k)]
    a, b = annotations.icc_table(ratings), annotations.icc_table(shuffled)
    for form in annotations.ICC_FORMS:
        assert b[form].value == pytest.approx(a[form].value, rel=1e-9, abs=1e-12)


# -- Fleiss' kappa ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_fleiss_kappa_equals_statsmodels(seed):
    rng = np.random.default_rng(seed)
    ratings = np.nan_to_num(_random_ratings(seed, n_items=int(rng.integers(5, 100)),
                                            n_raters=int(rng.integers(2, 9)), missing=0.0))
    table, _ = aggregate_raters(ratings)
    expected = sm_fleiss_kappa(table)
    assert annotations.fleiss_kappa(ratings) == pytest.approx(expected, rel=1e-12)
    assert annotations.fleiss_kappa(table, counts=True) == pytest.approx(expected, rel=1e-12)
    counts, categories = annotations.rating_counts(ratings)
    np.testing.assert_array_equal(counts, table)
    np.testing.assert_array_equal(categories, aggregate_raters(ratings)[1])


def test_fleiss_kappa_on_the_textbook_example():
    # The worked example of Wikipedia's "Fleiss' kappa" page (also statsmodels' test):
    # 10 items, 14 raters, 5 categories; P = 0.378, P_e = 0.213, kappa = 0.210.
    table = np.array([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0],
                      [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2],
                      [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]])
    p_items = ((table * table).sum(axis=1) - 14) / (14 * 13)
    shares = table.sum(axis=0) / 140
    assert f"{p_items.mean():.3f}" == "0.378" and f"{(shares ** 2).sum():.3f}" == "0.213"
    value = annotations.fleiss_kappa(table, counts=True)
    assert f"{value:.3f}" == "0.210"
    assert value == pytest.approx(sm_fleiss_kappa(table), rel=1e-12)
    rows = [np.repeat(np.arange(5), counts) for counts in table]
    ratings = np.array(rows)
    assert annotations.fleiss_kappa(ratings) == pytest.approx(value, rel=1e-12)


def test_fleiss_kappa_missing_ratings_and_bad_tables():
    ratings = np.array([[0, 0, 1], [1, 1, 1], [0, nan, 0], [2, 2, 0]])
    with pytest.raises(ValueError, match=r"1 missing rating\(s\).*\(2, 1\)"):
        annotations.fleiss_kappa(ratings)
    complete = ratings[[0, 1, 3]]
    assert annotations.fleiss_kappa(ratings, nan_policy="omit") == pytest.approx(
        sm_fleiss_kappa(aggregate_raters(complete)[0]), rel=1e-12)
    with pytest.raises(ValueError, match="item 0 has 3 and item 1 has 2"):
        annotations.fleiss_kappa([[2, 1], [1, 1]], counts=True)
    with pytest.raises(ValueError, match="at least 2 ratings per item"):
        annotations.fleiss_kappa([[1, 0], [0, 1]], counts=True)
    with pytest.raises(ValueError, match=r"found -1 at \(item, category\) \(0, 1\)"):
        annotations.fleiss_kappa([[3, -1], [1, 1]], counts=True)
    with pytest.raises(ValueError, match="nan_policy"):
        annotations.fleiss_kappa(ratings, nan_policy="keep")


def test_fleiss_kappa_undefined_when_one_category_is_used():
    with pytest.warns(am.UndefinedMetricWarning, match="^fleiss_kappa is undefined"):
        assert np.isnan(annotations.fleiss_kappa([[4, 4, 4], [4, 4, 4]]))


@given(st.integers(0, 10_000), st.integers(2, 6), st.integers(2, 30))
def test_fleiss_kappa_is_invariant_to_rater_and_item_order(seed, k, n):
    rng = np.random.default_rng(seed)
    ratings = rng.integers(0, 3, (n, k))
    ratings[0, :2] = [0, 1]  # two categories at least: defined
    shuffled = ratings[rng.permutation(n)][:, rng.permutation(k)]
    assert annotations.fleiss_kappa(shuffled) == pytest.approx(
        annotations.fleiss_kappa(ratings), rel=1e-12, abs=1e-12)


# -- evaluator weighted estimator ---------------------------------------------------------


def _ewe_transcribed(ratings: np.ndarray, reference: str) -> tuple[np.ndarray, np.ndarray]:
    """Grimm & Kroschel (2005) / Schuller (2013) eq. 5.1-5.3, one rater and item at a time."""
    n, k = ratings.shape
    weights = np.empty(k)
    for j in range(k):
        xs, refs = [], []
        for i in range(n):
            if np.isnan(ratings[i, j]):
                continue
            pool = [ratings[i, m] for m in range(k)
                    if not np.isnan(ratings[i, m]) and (reference == "all" or m != j)]
            if pool:
                xs.append(ratings[i, j])
                refs.append(sum(pool) / len(pool))
        xs, refs = np.array(xs), np.array(refs)
        xd, rd = xs - xs.mean(), refs - refs.mean()
        weights[j] = (xd @ rd) / np.sqrt((xd @ xd) * (rd @ rd))
    ewe = np.empty(n)
    for i in range(n):
        rated = [m for m in range(k) if not np.isnan(ratings[i, m])]
        ewe[i] = (sum(weights[m] * ratings[i, m] for m in rated)
                  / sum(weights[m] for m in rated))
    return ewe, weights


@pytest.mark.parametrize("reference", ["others", "all"])
@pytest.mark.parametrize("missing", [0.0, 0.2])
@pytest.mark.parametrize("seed", range(3))
def test_ewe_equals_the_transcribed_equation(seed, missing, reference):
    rng = np.random.default_rng(seed)
    truth = rng.uniform(-1, 1, 40)
    ratings = truth[:, None] * rng.uniform(0.3, 1, 5) + rng.normal(scale=0.3, size=(40, 5))
    ratings[rng.random(ratings.shape) < missing] = nan
    ratings[:, 0] = truth  # every item keeps one rating
    ewe, weights = annotations.evaluator_weighted_estimator(
        ratings, reference=reference, return_weights=True)
    expected_ewe, expected_weights = _ewe_transcribed(ratings, reference)
    np.testing.assert_allclose(weights, expected_weights, rtol=1e-12)
    np.testing.assert_allclose(ewe, expected_ewe, rtol=1e-12, atol=1e-14)


def test_ewe_equals_audpsychometrics_doctest():
    # audpsychometric.evaluator_weighted_estimator([[1, 1, 0], [2, 2, 1]]) -> [2/3, 5/3]
    np.testing.assert_allclose(
        annotations.evaluator_weighted_estimator([[1, 1, 0], [2, 2, 1]]), [2 / 3, 5 / 3],
        rtol=1e-14)


def test_ewe_undefined_cases_warn():
    with pytest.warns(am.UndefinedMetricWarning,
                      match="^evaluator_weighted_estimator is undefined: the weight of rater "
                            "column 2"):
        assert np.isnan(annotations.evaluator_weighted_estimator(
            [[1, 2, 5], [2, 3, 5], [3, 3, 5]])).all()
    # An item nobody rated is nan; the others are as without it.
    ratings = [[1, 2, 2], [3, 4, 1], [2, 3, 3], [nan, nan, nan]]
    with pytest.warns(am.UndefinedMetricWarning, match="first is item 3"):
        ewe = annotations.evaluator_weighted_estimator(ratings)
    np.testing.assert_allclose(ewe[:3], annotations.evaluator_weighted_estimator(ratings[:3]),
                               rtol=1e-15)
    assert np.isnan(ewe[3])
    with pytest.raises(ValueError, match="reference must be one of"):
        annotations.evaluator_weighted_estimator(ratings, reference="mean")


@given(st.integers(0, 10_000), st.integers(3, 6), st.integers(4, 25))
def test_ewe_follows_items_and_raters_when_permuted(seed, k, n):
    rng = np.random.default_rng(seed)
    ratings = rng.normal(size=(n, 1)) + rng.normal(scale=0.5, size=(n, k))
    items, raters = rng.permutation(n), rng.permutation(k)
    ewe, w = annotations.evaluator_weighted_estimator(ratings, return_weights=True)
    ewe2, w2 = annotations.evaluator_weighted_estimator(ratings[items][:, raters],
                                                        return_weights=True)
    np.testing.assert_allclose(w2, w[raters], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ewe2, ewe[items], rtol=1e-9, atol=1e-9)


# -- bootstrap over items -----------------------------------------------------------------


def _engines(ratings: np.ndarray, complete: np.ndarray) -> list:
    return [(_AlphaEngine(ratings, "ordinal"),
             lambda r: annotations.krippendorff_alpha(r, level="ordinal")),
            (_ICCEngine(complete, "2,1", "raise"),
             lambda r: annotations.icc(r, form="2,1").value),
            (_FleissEngine(complete, False, "raise"), annotations.fleiss_kappa)]


def test_bootstrap_weights_give_the_metric_of_the_repeated_items():
    rng = np.random.default_rng(11)
    ratings = _random_ratings(11, n_items=30, n_raters=4)
    complete = np.nan_to_num(ratings, nan=3.0)
    weights = rng.multinomial(30, np.full(30, 1 / 30), size=4).astype(float)
    for engine, metric in _engines(ratings, complete):
        key = engine.keys[0]
        data = ratings if key == "krippendorff_alpha" else complete
        got = engine(weights)[key]
        for row, value in zip(weights, got, strict=True):
            repeated = np.repeat(data, row.astype(int), axis=0)
            assert value == pytest.approx(metric(repeated), rel=1e-10, abs=1e-12), key


@pytest.mark.parametrize("metric", ["krippendorff_alpha", "icc", "fleiss_kappa"])
def test_bootstrap_agreement_estimates_equal_the_functions(metric):
    ratings = _random_ratings(2, n_items=50, n_raters=3, missing=0.1)
    kwargs = {"nan_policy": "omit"} if metric != "krippendorff_alpha" else {}
    result = annotations.bootstrap_agreement(ratings, metric=metric, n_resamples=300, seed=4,
                                             **kwargs)
    direct = {"krippendorff_alpha": lambda: annotations.krippendorff_alpha(ratings),
              "icc": lambda: annotations.icc(ratings, nan_policy="omit").value,
              "fleiss_kappa": lambda: annotations.fleiss_kappa(ratings, nan_policy="omit")}
    assert result.estimate[metric] == direct[metric]()
    assert result.low[metric] < result.estimate[metric] < result.high[metric]
    again = annotations.bootstrap_agreement(ratings, metric=metric, n_resamples=300, seed=4,
                                            **kwargs)
    assert again.low == result.low and again.high == result.high


def test_bootstrap_agreement_by_groups_and_bca():
    ratings = _random_ratings(5, n_items=60, n_raters=4, missing=0.0)
    groups = np.repeat(np.arange(12), 5)
    result = annotations.bootstrap_agreement(ratings, metric="icc", form="1,k", groups=groups,
                                             method="bca", n_resamples=200, seed=0)
    assert result.grouped and result.method == "bca"
    assert result.low["icc"] < result.estimate["icc"] < result.high["icc"]
    with pytest.raises(ValueError, match="metric must be one of"):
        annotations.bootstrap_agreement(ratings, metric="kappa")
    with pytest.raises(ValueError, match="groups has 3 entries"):
        annotations.bootstrap_agreement(ratings, groups=[0, 1, 1])
    with pytest.warns(am.UndefinedMetricWarning, match="^fleiss_kappa is undefined"):
        annotations.bootstrap_agreement(np.ones((5, 3)), metric="fleiss_kappa", n_resamples=10)


def test_annotations_is_importable_from_the_package():
    assert am.annotations is annotations
    assert "annotations" in am.__all__
    for name in annotations.__all__:
        assert hasattr(annotations, name)


# -- faults found by a new user's tests ---------------------------------------------------


@pytest.mark.parametrize("scale", [1e300, 1e-300, 2.0**1020])
def test_unit_free_measures_do_not_overflow_or_vanish_at_extreme_magnitudes(scale):
    # Interval and ratio alpha, every ICC form with its F test and interval, and the EWE's
    # weights do not depend on the ratings' unit; at 1e300 their squares overflowed (nan
    # with NumPy warnings) and at 1e-300 underflowed to 0 (nan, "undefined").
    ratings = np.array([[1, 2, 4], [3, 1, 2], [2, 2, 3], [5, 4, 5], [0, 1, 1], [4, nan, 3]])
    complete = ratings[:5]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for level in ("interval", "ratio"):
            expected = krippendorff.alpha(reliability_data=ratings.T,
                                          level_of_measurement=level)
            assert annotations.krippendorff_alpha(ratings * scale, level=level) == (
                pytest.approx(expected, rel=1e-12))
        table, scaled = annotations.icc_table(complete), annotations.icc_table(complete * scale)
        for form in annotations.ICC_FORMS:
            for field in ("value", "f", "pvalue", "low", "high"):
                assert getattr(scaled[form], field) == pytest.approx(
                    getattr(table[form], field), rel=1e-12), (form, field)
        ewe, weights = annotations.evaluator_weighted_estimator(ratings, return_weights=True)
        ewe_s, weights_s = annotations.evaluator_weighted_estimator(ratings * scale,
                                                                    return_weights=True)
        np.testing.assert_allclose(weights_s, weights, rtol=1e-12)
        np.testing.assert_allclose(ewe_s / scale, ewe, rtol=1e-12)
        t, p = np.array([1, 2, 3, 3, 2, 1, 4, 1]), np.array([1, 2, 3, 2, 2, 2, 4, 3])
        assert am.krippendorff_alpha(t * scale, p * scale, level="interval") == (
            pytest.approx(0.625, rel=1e-12))  # the package's value on t, p


def test_ratio_alpha_refuses_negative_ratings():
    # delta = (c - k) / (c + k) counted the pair (-1, 1) as agreeing: alpha was 1.0 for
    # ratings that disagree in every item. A ratio scale starts at an absolute zero.
    with pytest.raises(ValueError, match=r"negative rating.*-1 at \(item, rater\) \(0, 0\)"):
        annotations.krippendorff_alpha([[-1, 1], [2, -2], [1, 1]], level="ratio")
    with pytest.raises(ValueError, match="level='ratio' needs values >= 0"):
        am.krippendorff_alpha([-1, 2, 1], [1, -2, 1], level="ratio")
    with pytest.raises(ValueError, match="negative rating"):
        annotations.bootstrap_agreement([[-1, 1], [2, -2], [1, 1]], level="ratio",
                                        n_resamples=10)
    # Zero is a ratio value (Krippendorff's ratio metric is 1 for 0 against anything else).
    ratings = np.array([[0, 1], [2, 2], [3, 0], [1, 1]])
    assert annotations.krippendorff_alpha(ratings, level="ratio") == pytest.approx(
        krippendorff.alpha(reliability_data=ratings.T, level_of_measurement="ratio"),
        rel=1e-12)


def test_interval_alpha_and_its_bootstrap_scale_with_the_ratings_not_their_values():
    # Continuous ratings have about one distinct value per rating: the C x C coincidence
    # matrix (and the bootstrap's b x C x C stack) took 10 GB for 300 items x 5 raters.
    from affectmetrics.annotations import alpha as alpha_module

    rng = np.random.default_rng(3)
    truth = rng.uniform(-1, 1, 60)
    ratings = truth[:, None] + rng.normal(scale=0.4, size=(60, 4))
    ratings[rng.random(ratings.shape) < 0.25] = nan
    expected = krippendorff.alpha(reliability_data=ratings.T, level_of_measurement="interval")
    assert annotations.krippendorff_alpha(ratings, level="interval") == pytest.approx(
        expected, rel=1e-12)
    big = rng.uniform(-1, 1, (20_000, 1)) + rng.normal(scale=0.3, size=(20_000, 6))

    def refuse(*args):
        raise AssertionError("interval alpha built a coincidence matrix")

    with pytest.MonkeyPatch.context() as patch:
        for name in ("_coincidence", "_pair_cells", "_coincidence_by_item"):
            patch.setattr(alpha_module, name, refuse)
        value = annotations.krippendorff_alpha(big, level="interval")
        result = annotations.bootstrap_agreement(big, level="interval", n_resamples=200,
                                                 seed=0)
    assert result.estimate["krippendorff_alpha"] == value
    assert result.low["krippendorff_alpha"] < value < result.high["krippendorff_alpha"]


@pytest.mark.parametrize("level", LEVELS)
def test_alpha_bootstrap_weights_give_the_alpha_of_the_repeated_items(level):
    rng = np.random.default_rng(12)
    ratings = _random_ratings(12, n_items=30, n_raters=4)
    continuous = np.round(rng.uniform(0, 9, (30, 4)), 2)
    continuous[rng.random(continuous.shape) < 0.3] = nan
    weights = rng.multinomial(30, np.full(30, 1 / 30), size=5).astype(float)
    weights[0] = 0.0
    weights[0, 0] = 30.0  # one item: a single value unless its raters differ
    for data in (ratings, continuous):
        got = _AlphaEngine(data, level)(weights)["krippendorff_alpha"]
        for row, value in zip(weights, got, strict=True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", am.UndefinedMetricWarning)
                expected = annotations.krippendorff_alpha(
                    np.repeat(data, row.astype(int), axis=0), level=level)
            assert value == pytest.approx(expected, rel=1e-10, abs=1e-12, nan_ok=True)


def test_bootstrap_agreement_with_no_pairable_item_and_bad_nan_policy():
    # Every rating missing: a NumPy reshape error came out of the engine.
    for level in LEVELS:
        with pytest.warns(am.UndefinedMetricWarning, match="^krippendorff_alpha is undefined"):
            result = annotations.bootstrap_agreement(np.full((4, 3), nan), level=level,
                                                     n_resamples=10, seed=0)
        assert np.isnan(result.estimate["krippendorff_alpha"])
        assert np.isnan(result.low["krippendorff_alpha"])
    # An unknown nan_policy was silently ignored for alpha.
    with pytest.raises(ValueError, match="nan_policy must be 'raise' or 'omit'"):
        annotations.bootstrap_agreement([[1, 2], [2, 2]], nan_policy="drop")


@pytest.mark.parametrize("ratings", [
    [[1, 1], [2, 2], [3, 3]],                                 # perfect agreement
    [[1, 1, 1], [2, 2, 2], [3, 3, 3], [5, 5, 5]],
    [[1, 2], [2, 3], [3, 4], [4, 5]],                         # rater 2 = rater 1 + 1
    [[1, 2, 4], [2, 3, 5], [3, 4, 6], [7, 8, 10], [0, 1, 3]],
])
def test_icc_interval_at_zero_residual_is_the_limit_not_nan(ratings):
    # MSE = 0 makes F infinite: (F - 1) / (F + k - 1) gave inf / inf = nan for forms (1,1)
    # and (3,1) while (1,k) and (3,k) gave 1, and Satterthwaite's df of form 2 was nan
    # (pingouin prints nan too). The limits are continuous in the data: the interval equals
    # pingouin's on ratings moved by 1e-7.
    ratings = np.array(ratings, dtype=float)
    moved = ratings + np.random.default_rng(0).normal(scale=1e-7, size=ratings.shape)
    expected = _pingouin_icc(moved)
    for form, result in annotations.icc_table(ratings).items():
        low, high = expected.loc[PINGOUIN_TYPES[form], "CI95"]
        assert result.low == pytest.approx(low, abs=1e-6), form
        assert result.high == pytest.approx(high, abs=1e-6), form


def test_icc_never_exceeds_one_by_rounding():
    # Raters that differ by a constant: ICC(3,1) = ICC(3,k) = 1 exactly (MSE = 0), but
    # MSB - MSE and the denominator were rounded apart and gave 1 + 2e-16 (up to 1.6e-15).
    ratings = np.array([[1, 2, 4], [2, 3, 5], [3, 4, 6], [7, 8, 10], [0, 1, 3]], dtype=float)
    table = annotations.icc_table(ratings)
    assert table["3,1"].value == 1.0 and table["3,k"].value == 1.0
    rng = np.random.default_rng(1)
    for _ in range(200):
        n, k = int(rng.integers(2, 30)), int(rng.integers(2, 6))
        shifts = rng.normal(size=(1, k)) * rng.choice([0, 1])
        ratings = np.round(rng.normal(size=(n, 1)) * 10 + 1e6 + shifts, 2) + np.zeros((n, k))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", am.UndefinedMetricWarning)
            values = [r.value for r in annotations.icc_table(ratings).values()]
        assert np.nanmax(values) <= 1.0
    boot = annotations.bootstrap_agreement(ratings, metric="icc", n_resamples=100, seed=0)
    assert np.nanmax(boot.distribution["icc"]) <= 1.0


def test_pandas_nullable_missing_ratings_read_as_nan():
    # A DataFrame of Int64 / Float64 columns marks a missing rating with pd.NA: it was
    # refused ("found NAType <NA>") while None and NaN were missing ratings.
    frame = pd.DataFrame({"a": pd.array([1, 2, None, 3, 4], dtype="Int64"),
                          "b": pd.array([1.0, 2.0, 2.0, None, 4.0], dtype="Float64"),
                          "c": [1.0, 3.0, 2.0, 3.0, 4.0]})
    floats = np.array([[1, 1, 1], [2, 2, 3], [nan, 2, 2], [3, nan, 3], [4, 4, 4]])
    for level in LEVELS:
        assert annotations.krippendorff_alpha(frame, level=level) == (
            annotations.krippendorff_alpha(floats, level=level))
    assert annotations.icc(frame, nan_policy="omit") == annotations.icc(floats,
                                                                        nan_policy="omit")
    np.testing.assert_array_equal(annotations.evaluator_weighted_estimator(frame),
                                  annotations.evaluator_weighted_estimator(floats))
    with pytest.raises(ValueError, match=r"missing rating.*\(item, rater\) \(2, 0\)"):
        annotations.fleiss_kappa(frame)
    with pytest.raises(TypeError, match=r"found str 'x' at position \(0, 3\)"):
        annotations.krippendorff_alpha(frame.assign(d=["x"] * 5))


def test_option_types_are_refused_by_name_before_any_work():
    # A string confidence level reached a bare comparison ('<' not supported between float
    # and str) in icc, and in bootstrap_agreement passed the core's float() check and failed
    # after the resampling; a bad seed came out of NumPy's SeedSequence.
    ratings = np.random.default_rng(0).normal(size=(20, 3))
    for level in ("0.95", None, [0.9]):
        with pytest.raises(TypeError, match="confidence_level must be a number in"):
            annotations.icc(ratings, confidence_level=level)
        with pytest.raises(TypeError, match="confidence_level must be a number in"):
            annotations.bootstrap_agreement(ratings, metric="icc", confidence_level=level)
    for level in (np.float32(0.9), np.array(0.9), 0.9):
        assert annotations.icc(ratings, confidence_level=level).low == pytest.approx(
            annotations.icc(ratings, confidence_level=0.9).low, rel=1e-5)  # float32(0.9)
    with pytest.raises(TypeError, match="seed must be None, a non-negative integer"):
        annotations.bootstrap_agreement(ratings, metric="icc", seed="abc")
    with pytest.raises(ValueError, match="seed must be None, a non-negative integer"):
        annotations.bootstrap_agreement(ratings, metric="icc", seed=-1)
    generator = np.random.default_rng(3)
    result = annotations.bootstrap_agreement(ratings, metric="icc", seed=generator,
                                             n_resamples=20)
    again = annotations.bootstrap_agreement(ratings, metric="icc",
                                            seed=np.random.default_rng(3), n_resamples=20)
    assert result.low == again.low


@pytest.mark.parametrize("level", LEVELS)
def test_alpha_over_very_many_values_sums_in_blocks(level, monkeypatch):
    # Beyond _BLOCKED_VALUES distinct values the C x C arrays (1.6 GB and 8 s for 1,000
    # items x 5 raters of ratio ratings) are replaced by sums over blocks of rows.
    from affectmetrics.annotations import alpha as alpha_module

    rng = np.random.default_rng(4)
    ratings = np.round(rng.uniform(1, 5, (80, 1)) + rng.normal(scale=0.3, size=(80, 5)), 2)
    ratings[rng.random(ratings.shape) < 0.2] = nan
    ratings[:20, 1] = ratings[:20, 0]  # some exact agreement for the nominal level
    expected = krippendorff.alpha(reliability_data=ratings.T, level_of_measurement=level)
    monkeypatch.setattr(alpha_module, "_BLOCKED_VALUES", 0)
    monkeypatch.setattr(alpha_module, "_DENSE_CELLS", 1000)  # blocks of 4 rows
    assert annotations.krippendorff_alpha(ratings, level=level) == pytest.approx(
        expected, rel=1e-12)
    monkeypatch.undo()
    many = np.abs(rng.uniform(1, 5, (600, 1)) + rng.normal(scale=0.3, size=(600, 5)))
    monkeypatch.setattr(alpha_module, "_coincidence", None)  # never a C x C matrix
    value = annotations.krippendorff_alpha(many, level=level)
    assert np.isfinite(value) and value <= 1.0


def test_messages_read_as_sentences():
    # "the mean of the others raters"; a count table of 1e300 printed 301 digits.
    constant_rater = [[1, 2, 5], [2, 3, 5], [3, 3, 5]]
    for reference, words in (("others", "the other raters"), ("all", "all raters")):
        with pytest.warns(am.UndefinedMetricWarning, match=f"with the mean of {words}\\)"):
            annotations.evaluator_weighted_estimator(constant_rater, reference=reference)
    with pytest.raises(ValueError, match=r"item 0 has 3e\+300 and item 1 has 2e\+300 \("):
        annotations.fleiss_kappa([[1e300, 2e300], [1e300, 1e300]], counts=True)


@pytest.mark.parametrize("metric", ["icc", "fleiss_kappa"])
def test_bootstrap_groups_follow_the_items_that_nan_policy_omit_keeps(metric):
    # Group ids are naturally given per item of the ratings passed in; with
    # nan_policy="omit" that was refused ("groups has 60 entries but there are 54
    # samples") unless the caller re-did the omission.
    ratings = _random_ratings(6, n_items=60, n_raters=3, missing=0.03)
    groups = np.repeat(np.arange(12), 5)
    kept = ~np.isnan(ratings).any(axis=1)
    assert 0 < (~kept).sum()
    by_item = annotations.bootstrap_agreement(ratings, metric=metric, nan_policy="omit",
                                              groups=groups, n_resamples=100, seed=2)
    by_kept = annotations.bootstrap_agreement(ratings[kept], metric=metric, groups=groups[kept],
                                              n_resamples=100, seed=2)
    same = annotations.bootstrap_agreement(ratings, metric=metric, nan_policy="omit",
                                           groups=groups[kept], n_resamples=100, seed=2)
    assert by_item.low == by_kept.low == same.low and by_item.high == by_kept.high
    with pytest.raises(ValueError, match="groups has 7 entries"):
        annotations.bootstrap_agreement(ratings, metric=metric, nan_policy="omit",
                                        groups=groups[:7], n_resamples=10)
