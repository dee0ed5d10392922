"""Bootstrap intervals against scipy.stats.bootstrap and a direct NumPy loop; paired tests."""

import json
import warnings

import numpy as np
import pytest
from scipy import stats

import affectmetrics as am
from affectmetrics.bootstrap import _Engine


def ccc_vectorised(a, b, axis=-1):
    ma, mb = a.mean(axis, keepdims=True), b.mean(axis, keepdims=True)
    cov = ((a - ma) * (b - mb)).mean(axis)
    return 2 * cov / (a.var(axis) + b.var(axis) + (ma - mb).squeeze(axis) ** 2)


def va_pairs(seed, n=200):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, 0.5 * x + rng.normal(size=n)


@pytest.mark.parametrize("method", ["percentile", "BCa"])
@pytest.mark.parametrize("seed", range(3))
def test_ccc_interval_equals_scipy_on_the_same_resamples(method, seed):
    x, y = va_pairs(seed)
    reference = stats.bootstrap((x, y), ccc_vectorised, paired=True, vectorized=True,
                                n_resamples=999, method=method, rng=np.random.default_rng(seed))
    ours = am.bootstrap_ci(va=x, va_pred=y, n_resamples=999, method=method.lower(), seed=seed)
    assert ours.low["ccc"] == pytest.approx(reference.confidence_interval.low, rel=1e-10)
    assert ours.high["ccc"] == pytest.approx(reference.confidence_interval.high, rel=1e-10)
    assert ours.standard_error["ccc"] == pytest.approx(reference.standard_error, rel=1e-10)


def test_classification_bca_equals_scipy_on_the_same_resamples():
    rng = np.random.default_rng(3)
    t = rng.integers(0, 4, 150)
    s = rng.random((150, 4)) + 0.6 * np.eye(4)[t]

    def auc_statistic(i, axis=-1):
        return np.array([am.roc_auc(t[row], s[row]) for row in np.atleast_2d(i)])

    def kappa_statistic(i, axis=-1):
        return np.array([am.cohen_kappa(t[row], s[row].argmax(1), labels=range(4))
                         for row in np.atleast_2d(i)])

    ours = am.bootstrap_ci(expression=t, expression_pred=s, n_resamples=199, method="bca",
                           seed=9)
    for key, statistic in (("auc", auc_statistic), ("kappa", kappa_statistic)):
        reference = stats.bootstrap((np.arange(150),), statistic, vectorized=True,
                                    n_resamples=199, method="BCa", rng=np.random.default_rng(9))
        assert ours.low[key] == pytest.approx(reference.confidence_interval.low, rel=1e-10)
        assert ours.high[key] == pytest.approx(reference.confidence_interval.high, rel=1e-10)


def test_percentile_interval_equals_a_direct_numpy_loop():
    rng = np.random.default_rng(4)
    truth = rng.normal(size=(300, 2))
    pred = truth + rng.normal(scale=0.8, size=(300, 2))
    labels = rng.integers(0, 3, 300)
    scores = rng.random((300, 3)) + 0.4 * np.eye(3)[labels]
    result = am.bootstrap_ci(expression=labels, expression_pred=scores, va=truth, va_pred=pred,
                             n_resamples=200, seed=11)
    # The same draws, one resample at a time, scored by the core functions.
    draws = np.random.default_rng(11).integers(0, 300, (200, 300))
    loop = {"ccc_valence": [], "rmse_arousal": [], "f1": [], "auc_pr": [], "sagr_valence": []}
    for i in draws:
        loop["ccc_valence"].append(am.ccc(truth[i, 0], pred[i, 0]))
        loop["rmse_arousal"].append(am.rmse(truth[i, 1], pred[i, 1]))
        loop["sagr_valence"].append(am.sagr(truth[i, 0], pred[i, 0]))
        loop["f1"].append(am.f1_score(labels[i], scores[i], labels=range(3)))
        loop["auc_pr"].append(am.pr_auc(labels[i], scores[i]))
    for key, values in loop.items():
        np.testing.assert_allclose(result.distribution[key], values, rtol=1e-10, atol=1e-14,
                                   err_msg=key)
        low, high = np.quantile(values, [0.025, 0.975])
        assert result.low[key] == pytest.approx(low, rel=1e-10)
        assert result.high[key] == pytest.approx(high, rel=1e-10)


def test_engine_on_unit_weights_equals_the_core():
    rng = np.random.default_rng(5)
    truth = 1e3 + rng.normal(size=(500, 2))
    pred = truth + rng.normal(scale=0.5, size=(500, 2))
    engine = _Engine(va_true=truth, va_pred=pred, output_names=("v", "a"))
    values = engine(np.ones((1, 500)))
    for metric, fn in (("ccc", am.ccc), ("pearson", am.pearson), ("rmse", am.rmse),
                       ("sagr", am.sagr)):
        np.testing.assert_allclose([values[f"{metric}_v"][0], values[f"{metric}_a"][0]],
                                   fn(truth, pred), rtol=1e-9)


def test_reproducible_from_the_seed_and_different_across_seeds():
    x, y = va_pairs(6, n=500)
    a = am.bootstrap_ci(va=x, va_pred=y, n_resamples=300, seed=1)
    b = am.bootstrap_ci(va=x, va_pred=y, n_resamples=300, seed=1)
    c = am.bootstrap_ci(va=x, va_pred=y, n_resamples=300, seed=2)
    assert a.low == b.low and a.high == b.high
    assert a.low != c.low


def test_groups_resample_whole_groups_and_widen_the_interval():
    # 40 videos of 50 frames; each video has its own offset shared by truth and error, so
    # frames within a video are strongly dependent.
    rng = np.random.default_rng(7)
    video = np.repeat(np.arange(40), 50)
    level = rng.normal(size=40)[video]
    truth = level + 0.2 * rng.normal(size=2000)
    pred = truth + rng.normal(scale=0.8, size=40)[video] + 0.1 * rng.normal(size=2000)
    frames = am.bootstrap_ci(va=truth, va_pred=pred, n_resamples=400, seed=0)
    grouped = am.bootstrap_ci(va=truth, va_pred=pred, n_resamples=400, seed=0, groups=video)
    assert grouped.grouped and not frames.grouped
    width = {r.grouped: r.high["ccc"] - r.low["ccc"] for r in (frames, grouped)}
    assert width[True] > 2 * width[False]
    # A group's samples are drawn together: weights are constant within each video.
    from affectmetrics.bootstrap import _encode_groups, _resample_draws

    codes, n_groups = _encode_groups(video, 2000)
    weights = next(_resample_draws(2000, 5, np.random.default_rng(0), codes, n_groups)).weights()
    assert (weights.reshape(5, 40, 50).std(axis=2) == 0).all()
    assert (weights.sum(axis=1) == 2000).all()


def test_bca_with_large_n_uses_the_grouped_jackknife():
    x, y = va_pairs(8, n=5000)
    result = am.bootstrap_ci(va=x, va_pred=y, n_resamples=500, method="bca", seed=0)
    percentile = am.bootstrap_ci(va=x, va_pred=y, n_resamples=500, seed=0)
    estimate = result.estimate["ccc"]
    assert result.low["ccc"] < estimate < result.high["ccc"]
    # BCa shifts the percentile interval only slightly for a near-symmetric statistic.
    assert abs(result.low["ccc"] - percentile.low["ccc"]) < 0.02


def test_bad_options():
    x, y = va_pairs(0, 20)
    with pytest.raises(ValueError, match="confidence_level"):
        am.bootstrap_ci(va=x, va_pred=y, confidence_level=95)
    with pytest.raises(ValueError, match="n_resamples"):
        am.bootstrap_ci(va=x, va_pred=y, n_resamples=1)
    with pytest.raises(ValueError, match="method"):
        am.bootstrap_ci(va=x, va_pred=y, method="basic")
    with pytest.raises(ValueError, match="give expression"):
        am.bootstrap_ci()
    with pytest.raises(ValueError, match="groups has 3 entries but there are 20 samples"):
        am.bootstrap_ci(va=x, va_pred=y, groups=[1, 2, 3])
    with pytest.raises(ValueError, match="va has 20 samples, va_pred has 19"):
        am.bootstrap_ci(va=x, va_pred=y[:-1])


def test_paired_comparison_detects_a_clear_difference():
    rng = np.random.default_rng(10)
    truth = rng.normal(size=(600, 2))
    labels = rng.integers(0, 8, 600)
    good = {"va_pred": truth + rng.normal(scale=0.3, size=(600, 2)),
            "expression_pred": rng.random((600, 8)) + 1.0 * np.eye(8)[labels]}
    poor = {"va_pred": truth + rng.normal(scale=1.5, size=(600, 2)),
            "expression_pred": rng.random((600, 8)) + 0.1 * np.eye(8)[labels]}
    result = am.paired_comparison(expression=labels, va=truth, pred_a=poor, pred_b=good,
                                  names=("poor", "good"), n_resamples=1000, seed=0)
    for key in ("ccc_valence", "ccc_arousal", "accuracy", "f1", "auc"):
        assert result.difference[key] > 0 and result.low[key] > 0, key
        assert result.p_value[key] < 0.05, key
    assert result.difference["rmse_valence"] < 0 and result.high["rmse_valence"] < 0
    assert result.value_b["ccc_valence"] == pytest.approx(
        am.ccc(truth[:, 0], good["va_pred"][:, 0]), rel=1e-9)
    assert "| ccc_valence |" in result.to_markdown()


def test_paired_comparison_of_equally_good_models_is_inconclusive():
    rng = np.random.default_rng(12)
    truth = rng.normal(size=800)
    a = {"va_pred": truth + rng.normal(scale=0.7, size=800)}
    b = {"va_pred": truth + rng.normal(scale=0.7, size=800)}
    result = am.paired_comparison(va=truth, pred_a=a, pred_b=b, n_resamples=1000, seed=0)
    assert result.low["ccc"] < 0 < result.high["ccc"]
    assert result.p_value["ccc"] > 0.05
    assert result.high["ccc"] - result.low["ccc"] > 0.02
    same = am.paired_comparison(va=truth, pred_a=a, pred_b=a, n_resamples=200, seed=0)
    assert same.difference["ccc"] == 0 and same.low["ccc"] == same.high["ccc"] == 0
    assert same.p_value["ccc"] == 1.0


def test_paired_comparison_refuses_unknown_keys():
    x, y = va_pairs(0, 30)
    with pytest.raises(ValueError, match="unknown keys"):
        am.paired_comparison(va=x, pred_a={"va": y}, pred_b={"va_pred": y})


def issue10_data():
    """Issue 10's first example: a collapsed valence head (constant 0.3) and a real arousal."""
    rng = np.random.default_rng(10)
    va = rng.uniform(-1, 1, (40, 2))
    collapsed = np.column_stack([np.full(40, 0.3), va[:, 1] + rng.normal(0, 0.3, 40)])
    return va, collapsed, va + rng.normal(0, 0.3, (40, 2))


def test_constant_prediction_gives_nan_pearson_and_no_interval():
    va, collapsed, _ = issue10_data()
    with pytest.warns(am.UndefinedMetricWarning, match="^pearson is undefined") as caught:
        result = am.bootstrap_ci(va=va, va_pred=collapsed, n_resamples=300, seed=0)
    assert len(caught) == 1  # once, by the metric's own name
    assert np.isnan(result.estimate["pearson_valence"])
    assert np.isnan(result.low["pearson_valence"]) and np.isnan(result.high["pearson_valence"])
    assert np.isnan(result.distribution["pearson_valence"]).all()
    # CCC of a constant prediction is exactly 0 in every resample; arousal is unaffected.
    assert result.estimate["ccc_valence"] == 0.0
    assert result.low["ccc_valence"] == result.high["ccc_valence"] == 0.0
    assert result.estimate["pearson_arousal"] == pytest.approx(
        stats.pearsonr(va[:, 1], collapsed[:, 1])[0], rel=1e-12)
    with pytest.warns(am.UndefinedMetricWarning, match="^pearson is undefined"):
        report = am.evaluate(va=va, va_pred=collapsed, ci=0.95, n_resamples=200, warn=False)
    assert np.isnan(report.interval("pearson_valence")).all()


def test_paired_comparison_reports_nan_for_the_collapsed_model():
    va, collapsed, good = issue10_data()
    with pytest.warns(am.UndefinedMetricWarning, match="^pearson is undefined"):
        result = am.paired_comparison(va=va, pred_a={"va_pred": collapsed},
                                      pred_b={"va_pred": good}, n_resamples=300, seed=0)
    assert np.isnan(result.value_a["pearson_valence"])
    assert np.isnan(result.difference["pearson_valence"])
    assert np.isnan(result.low["pearson_valence"]) and np.isnan(result.p_value["pearson_valence"])
    assert result.value_b["pearson_valence"] == pytest.approx(
        stats.pearsonr(va[:, 0], good[:, 0])[0], rel=1e-12)
    data = json.loads(result.to_json())
    assert data["metrics"]["pearson_valence"]["value_a"] is None
    assert data["metrics"]["ccc_valence"]["value_a"] == 0.0


def test_resample_constancy_is_decided_on_the_drawn_samples():
    # Two distinct truth values: resamples that draw only one of them have a constant truth.
    t = np.array([0.1] * 3 + [0.7])
    p = np.array([0.2, 0.4, 0.3, 0.9])
    engine = _Engine(va_true=t[:, None], va_pred=p[:, None], output_names=("",))
    weights = np.array([[4.0, 0, 0, 0], [1, 1, 1, 1], [0, 2, 2, 0], [0, 0, 0, 4]])
    values = engine(weights)
    for row, w in enumerate(weights):
        idx = np.repeat(np.arange(4), w.astype(int))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", am.UndefinedMetricWarning)
            for metric in ("pearson", "ccc", "rmse", "sagr"):
                np.testing.assert_allclose(values[f"{metric}_"][row],
                                           getattr(am, metric)(t[idx], p[idx]), rtol=1e-12,
                                           err_msg=f"{metric} row {row}")


def test_unlike_models_compare_what_both_have():
    rng = np.random.default_rng(13)
    labels = rng.integers(0, 3, 200)
    scores = rng.random((200, 3)) + np.eye(3)[labels]
    predicted = np.where(rng.random(200) < 0.6, labels, rng.integers(0, 3, 200))
    with pytest.warns(UserWarning, match="auc .only A., auc_pr .only A."):
        result = am.paired_comparison(expression=labels, pred_a={"expression_pred": scores},
                                      pred_b={"expression_pred": predicted}, n_resamples=200,
                                      seed=0)
    assert result.left_out == ("auc", "auc_pr")
    assert set(result.difference) == {"accuracy", "f1", "uar", "kappa",
                                     "krippendorff_alpha"}
    assert result.value_b["accuracy"] == am.accuracy(labels, predicted)
    assert result.value_a["f1"] == am.f1_score(labels, scores, labels=range(3))
    assert json.loads(result.to_json())["left_out"] == ["auc", "auc_pr"]
    assert "Not compared" in result.to_markdown()
    with pytest.raises(ValueError, match="no metric in common"):
        am.paired_comparison(expression=labels, va=rng.normal(size=200),
                             pred_a={"expression_pred": scores},
                             pred_b={"va_pred": rng.normal(size=200)})


@pytest.mark.parametrize("scale", [2.0**1000, 2.0**-1000])
@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_intervals_scale_with_the_data_without_overflow(scale, method):
    # Multiplying the data by a power of two multiplies RMSE, its interval and its standard
    # error by it exactly and leaves CCC and Pearson alone. np.std of RMSE values near 1e301
    # used to overflow (a RuntimeWarning, se inf), and the BCa acceleration (cubes of
    # jackknife deviations) to turn the RMSE interval into nan.
    x, y = va_pairs(4, n=60)
    base = am.bootstrap_ci(va=x, va_pred=y, method=method, n_resamples=200, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        big = am.bootstrap_ci(va=x * scale, va_pred=y * scale, method=method, n_resamples=200,
                              seed=0)
    for field in ("estimate", "low", "high", "standard_error"):
        ours, theirs = getattr(big, field), getattr(base, field)
        assert ours["rmse"] == pytest.approx(theirs["rmse"] * scale, rel=1e-12)
        for key in ("ccc", "pearson"):
            assert ours[key] == pytest.approx(theirs[key], rel=1e-12)


@pytest.mark.parametrize("outlier", [-9999.0, 1e6, 1e8])
def test_each_resample_equals_the_functions_despite_an_outlier(outlier):
    # One sample far from the rest (a missing-value code such as -9999): a resample that
    # does not draw it has its mean thousands of its own standard deviations from the full
    # sample's centre, and the weighted sums centred there cancelled: with 1e8 its CCC was
    # off by 3e-4 (1e6: 2e-8). Such resamples are now summed by the core's own step.
    rng = np.random.default_rng(3)
    truth = rng.uniform(-1, 1, 60)
    pred = truth + rng.normal(0, 0.5, 60)
    truth[0], pred[0] = outlier, 0.9 * outlier
    result = am.bootstrap_ci(va=truth, va_pred=pred, n_resamples=100, seed=1)
    drawn = np.random.default_rng(1).integers(0, 60, (100, 60))  # scipy.stats.bootstrap's
    for metric in ("ccc", "pearson", "rmse", "icc"):
        expected = [getattr(am, metric)(truth[rows], pred[rows]) for rows in drawn]
        np.testing.assert_allclose(result.distribution[metric], expected, rtol=1e-12)


@pytest.mark.parametrize("seed", ["a", -1, 1.5])
def test_a_bad_seed_is_refused_by_name(seed):
    # NumPy's own messages ("SeedSequence expects int or sequence of ints for entropy not a",
    # "expected non-negative integer") did not say which argument was wrong.
    with pytest.raises((TypeError, ValueError), match="seed must be"):
        am.bootstrap_ci(va=[0.1, 0.2, 0.3], va_pred=[0.2, 0.1, 0.3], n_resamples=10, seed=seed)
    with pytest.raises((TypeError, ValueError), match="seed must be"):
        am.paired_comparison(va=[0.1, 0.2, 0.3], pred_a={"va_pred": [0.2, 0.1, 0.3]},
                             pred_b={"va_pred": [0.1, 0.2, 0.3]}, n_resamples=10, seed=seed)
    with pytest.raises((TypeError, ValueError), match="seed must be"):
        am.evaluate(va=[0.1, 0.2, 0.3], va_pred=[0.2, 0.1, 0.3], output_names=["v"], ci=0.9,
                    n_resamples=10, seed=seed, warn=False)


def test_paired_comparison_omits_nan_samples_from_both_models_alike():
    """nan_policy="omit" (which the NaN error recommends) drops a sample with a NaN in the
    truth or in either model from both models: the result is that of the complete rows."""
    rng = np.random.default_rng(4)
    truth = rng.uniform(-1, 1, (80, 2))
    a, b = truth + rng.normal(0, 0.5, (80, 2)), truth + rng.normal(0, 0.2, (80, 2))
    groups = np.repeat([f"video{i}" for i in range(20)], 4)
    holes_t, holes_a, holes_b = truth.copy(), a.copy(), b.copy()
    holes_t[3, 0], holes_a[10, 1], holes_b[41, 0] = np.nan, np.nan, np.nan
    complete = np.setdiff1d(np.arange(80), [3, 10, 41])
    with pytest.raises(ValueError, match="nan_policy='omit'"):
        am.paired_comparison(va=holes_t, pred_a={"va_pred": holes_a},
                             pred_b={"va_pred": holes_b}, n_resamples=50, seed=0)
    omitted = am.paired_comparison(va=holes_t, pred_a={"va_pred": holes_a},
                                   pred_b={"va_pred": holes_b}, groups=list(groups),
                                   n_resamples=200, seed=1, nan_policy="omit")
    expected = am.paired_comparison(va=truth[complete], pred_a={"va_pred": a[complete]},
                                    pred_b={"va_pred": b[complete]},
                                    groups=list(groups[complete]), n_resamples=200, seed=1)
    assert omitted.to_dict() == expected.to_dict()
    assert omitted.value_b["ccc_valence"] == am.ccc(truth[complete, 0], b[complete, 0])
