"""Subgroup metrics, gaps and the unweighted average bias against audmetric and by hand."""

import json

import audmetric
import numpy as np
import pytest

import affectmetrics as am


def data(seed, n=300, n_classes=4):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, n_classes, n)
    scores = rng.random((n, n_classes)) + 0.5 * np.eye(n_classes)[t]
    va = rng.normal(size=(n, 2))
    va_pred = va + rng.normal(0, 0.8, (n, 2))
    gender = rng.choice(["female", "male"], n)
    age = rng.choice(["18-30", "31-60", "61+"], n, p=[0.5, 0.4, 0.1])
    return t, scores, va, va_pred, gender, age


@pytest.mark.parametrize("seed", range(4))
def test_metrics_per_subgroup_gap_and_uab(seed):
    t, s, va, vp, gender, age = data(seed)
    report = am.evaluate(expression=t, expression_pred=s, va=va, va_pred=vp,
                         subgroups={"gender": gender, "age": age}, warn=False)
    for name, values in (("gender", gender), ("age", age)):
        result = report.subgroups[name]
        assert result.levels == tuple(sorted(set(values)))
        for level in result.levels:
            rows = values == level
            assert result.n_samples[level] == rows.sum()
            assert result.metrics[level]["accuracy"] == pytest.approx(
                am.accuracy(t[rows], s[rows]), rel=1e-12)
            assert result.metrics[level]["uar"] == pytest.approx(
                am.uar(t[rows], s[rows], labels=range(4)), rel=1e-12)
            assert result.metrics[level]["ccc_arousal"] == pytest.approx(
                am.ccc(va[rows, 1], vp[rows, 1]), rel=1e-12)
        per_level = [result.metrics[level]["f1"] for level in result.levels]
        assert result.gap["f1"] == pytest.approx(max(per_level) - min(per_level), rel=1e-12)
        expected_uab = audmetric.unweighted_average_bias(t.tolist(), s.argmax(1).tolist(),
                                                         values.tolist())
        assert result.gap["unweighted_average_bias"] == pytest.approx(expected_uab, rel=1e-10)


def test_uab_with_classes_missing_from_subgroups():
    # class 2 appears only for "b", class 3 nowhere: audmetric leaves them out per subgroup
    t = np.array([0, 1, 0, 1, 2, 2, 0, 1])
    p = np.array([0, 1, 1, 1, 2, 0, 0, 0])
    groups = np.array(["a", "a", "a", "a", "b", "b", "b", "b"])
    report = am.evaluate(expression=t, expression_pred=p, class_names=["x", "y", "z", "w"],
                         subgroups={"site": groups}, warn=False)
    expected = audmetric.unweighted_average_bias(t.tolist(), p.tolist(), groups.tolist())
    assert report.subgroups["site"].gap["unweighted_average_bias"] == pytest.approx(
        expected, rel=1e-12)


def test_intervals_use_one_set_of_resamples():
    t, s, _, _, gender, _ = data(5, n=200)
    report = am.evaluate(expression=t, expression_pred=s, subgroups={"gender": gender},
                         ci=0.9, n_resamples=300, seed=3, warn=False)
    result = report.subgroups["gender"]
    # the same draws, by hand: scipy-style indices from one generator
    rng = np.random.default_rng(3)
    drawn = rng.integers(0, 200, (300, 200))
    pred = s.argmax(1)
    acc = {level: [] for level in result.levels}
    for row in drawn:
        for level in result.levels:
            keep = row[gender[row] == level]
            acc[level].append(np.mean(t[keep] == pred[keep]))
    for level in result.levels:
        low, high = np.quantile(acc[level], [0.05, 0.95])
        assert result.low[level]["accuracy"] == pytest.approx(low, rel=1e-12)
        assert result.high[level]["accuracy"] == pytest.approx(high, rel=1e-12)
    gaps = np.abs(np.array(acc["female"]) - np.array(acc["male"]))
    low, high = np.quantile(gaps, [0.05, 0.95])
    assert result.gap_low["accuracy"] == pytest.approx(low, rel=1e-12)
    assert result.gap_high["accuracy"] == pytest.approx(high, rel=1e-12)
    assert np.isfinite(result.gap_low["unweighted_average_bias"])


def test_outputs_and_nan_rows():
    t, s, va, vp, gender, _ = data(6, n=120)
    va = va.copy()
    va[3, 0] = np.nan
    report = am.evaluate(expression=t, expression_pred=s, va=va, va_pred=vp,
                         subgroups={"gender": gender}, nan_policy="omit", warn=False)
    keep = np.arange(120) != 3
    rows = keep & (gender == "male")
    assert report.subgroups["gender"].metrics["male"]["ccc_valence"] == pytest.approx(
        am.ccc(va[rows, 0], vp[rows, 0]), rel=1e-12)
    as_json = json.loads(report.to_json())
    assert as_json["subgroups"]["gender"]["levels"] == ["female", "male"]
    assert "accuracy[gender=female]" in report.to_csv()
    assert "unweighted_average_bias[gender]" in report.to_csv()
    assert "Subgroups by gender" in report.to_markdown()


def test_refused_subgroups():
    t, s, _, _, gender, _ = data(7, n=50)
    with pytest.raises(ValueError, match=r"subgroups\['gender'\] has 49 entries but there are 50"):
        am.evaluate(expression=t, expression_pred=s, subgroups={"gender": gender[:-1]})
    with pytest.raises(TypeError, match="subgroups must be a non-empty dict"):
        am.evaluate(expression=t, expression_pred=s, subgroups=[gender])
    with pytest.raises(ValueError, match=r"subgroups\['age'\] has a missing id .* at position 2"):
        am.evaluate(expression=t, expression_pred=s,
                    subgroups={"age": np.r_[1.0, 2.0, np.nan, np.ones(47)]})
    # ids of any hashable type, as for groups=
    mixed = np.array([1, "b"] * 25, dtype=object)
    report = am.evaluate(expression=t, expression_pred=s, subgroups={"site": mixed}, warn=False)
    assert report.subgroups["site"].levels == ("1", "b")


def test_levels_or_attributes_that_read_alike_are_refused():
    # Results are keyed by the text of a level and of an attribute name: 1 and "1" were
    # one key there, and one subgroup's metrics silently replaced the other's.
    t, s, _, _, gender, _ = data(7, n=50)
    alike = np.array([1, "1"] * 25, dtype=object)
    with pytest.raises(ValueError, match=r"levels of subgroups\['site'\] must be distinct.*"
                                         r"1 \(at 0\) and '1' \(at 1\) both read '1'"):
        am.evaluate(expression=t, expression_pred=s, subgroups={"site": alike})
    with pytest.raises(ValueError, match="attribute names of subgroups must be distinct"):
        am.evaluate(expression=t, expression_pred=s, subgroups={1: gender, "1": gender})


@pytest.mark.parametrize("with_expression", [False, True])
def test_action_unit_f1_per_subgroup_has_intervals(with_expression):
    # AU metrics per subgroup had no intervals under ci (none at all for AU-only reports).
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(11)
    n = 120
    au = (rng.random((n, 3)) < 0.4).astype(int)
    au_scores = np.clip(0.4 * au + 0.7 * rng.random((n, 3)), 0, 1)
    site = rng.choice(["a", "b"], n)
    extra = {}
    if with_expression:
        labels = rng.integers(0, 3, n)
        extra = {"expression": labels, "expression_pred": rng.random((n, 3))}
    report = am.evaluate(au=au, au_pred=au_scores, au_names=["AU1", "AU2", "AU4"],
                         subgroups={"site": site}, ci=0.9, n_resamples=200, seed=4,
                         warn=False, **extra)
    result = report.subgroups["site"]
    drawn = np.random.default_rng(4).integers(0, n, (200, n))  # the same draws, by hand
    values = {level: [] for level in result.levels}
    for row in drawn:
        for level in result.levels:
            keep = row[site[row] == level]
            values[level].append(f1_score(au[keep], (au_scores[keep] > 0.5).astype(int),
                                          average="macro", zero_division=0.0))
    for level in result.levels:
        low, high = np.quantile(values[level], [0.05, 0.95])
        assert result.low[level]["au_f1"] == pytest.approx(low, rel=1e-12)
        assert result.high[level]["au_f1"] == pytest.approx(high, rel=1e-12)
        assert "f1_AU4" in result.low[level]
    gaps = np.abs(np.array(values["a"]) - np.array(values["b"]))
    low, high = np.quantile(gaps, [0.05, 0.95])
    assert result.gap_low["au_f1"] == pytest.approx(low, rel=1e-12)
    assert result.gap_high["au_f1"] == pytest.approx(high, rel=1e-12)


def test_undefined_metric_warnings_name_their_subgroup():
    # A one-sample subgroup warned "roc_auc is undefined for class(es) ['0', '1', '2']"
    # though every class is in the whole test set: which subgroup was not said.
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 60)
    scores = rng.random((60, 3))
    with pytest.warns(am.UndefinedMetricWarning) as record:
        report = am.evaluate(expression=labels, expression_pred=scores, warn=False,
                             subgroups={"site": ["a"] * 59 + ["b"]})
    messages = [str(w.message) for w in record]
    assert messages and all(m.endswith("(in subgroup site=b)") for m in messages)
    assert messages[0].startswith("roc_auc is undefined for class(es)")
    assert all(w.filename == __file__ for w in record)
    assert np.isnan(report.subgroups["site"].metrics["b"]["auc"])


def test_resamples_without_a_subgroup_do_not_count_as_zero_for_it():
    # A resample that drew none of a small subgroup's samples scored its F1, UAR and AU F1
    # as zero_division (0) instead of leaving it out, dragging the lower bound to 0.
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(2)
    n = 60
    au = (rng.random((n, 2)) < 0.5).astype(int)
    au[-3:] = [[1, 1], [1, 0], [1, 1]]
    au_scores = np.where(au == 1, 0.9, 0.1)  # perfect
    labels = np.r_[rng.integers(0, 2, n - 3), [0, 1, 1]]
    site = np.array(["big"] * (n - 3) + ["small"] * 3)
    report = am.evaluate(expression=labels, expression_pred=np.eye(2)[labels], au=au,
                         au_pred=au_scores, subgroups={"site": site}, ci=0.9,
                         n_resamples=400, seed=5, warn=False)
    result = report.subgroups["site"]
    f1, uar, au_f1 = [], [], []
    for row in np.random.default_rng(5).integers(0, n, (400, n)):  # the same draws
        keep = row[site[row] == "small"]
        if keep.shape[0] == 0:
            continue  # (e^-3, about 5% of the resamples)
        f1.append(f1_score(labels[keep], labels[keep], average="macro", labels=[0, 1],
                           zero_division=0.0))
        uar.append(am.uar(labels[keep], labels[keep], labels=[0, 1]))
        au_f1.append(f1_score(au[keep], au[keep], average="macro", zero_division=0.0))
    assert len(f1) < 400
    for key, values in (("f1", f1), ("uar", uar), ("au_f1", au_f1)):
        low, high = np.quantile(values, [0.05, 0.95])
        assert result.low["small"][key] == pytest.approx(low, rel=1e-12)
        assert result.high["small"][key] == pytest.approx(high, rel=1e-12)
    # AU 0 is in every sample of the subgroup, so a drawn subgroup's AU F1 is at least 1/2
    assert result.low["small"]["au_f1"] == 0.5
