"""Multi-label (action-unit occurrence) F1, ROC AUC and AP against scikit-learn."""

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn import metrics as skm

import affectmetrics as am

AUS = ("AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU23", "AU24", "AU25",
       "AU26")


def au_data(seed, n=400, n_labels=12, absent=()):
    rng = np.random.default_rng(seed)
    prevalence = rng.uniform(0.05, 0.6, n_labels)
    prevalence[list(absent)] = 0.0
    truth = (rng.random((n, n_labels)) < prevalence).astype(int)
    scores = np.clip(0.35 * truth + rng.random((n, n_labels)) * 0.75, 0, 1)
    return truth, scores


@pytest.mark.parametrize("seed", range(6))
def test_f1_agrees_with_scikit_learn(seed):
    t, s = au_data(seed)
    pred = (s > 0.5).astype(int)
    for average in ("macro", "micro", "weighted", None):
        for zero_division in (0.0, 1.0):
            np.testing.assert_allclose(
                am.multilabel_f1(t, s, average=average, zero_division=zero_division),
                skm.f1_score(t, pred, average=average, zero_division=zero_division),
                rtol=1e-12)
    # 0/1 predictions give the same as their scores
    assert am.multilabel_f1(t, pred) == am.multilabel_f1(t, s)
    assert am.multilabel_f1(t, s, threshold=0.3) == pytest.approx(
        skm.f1_score(t, (s > 0.3).astype(int), average="macro"), rel=1e-12)


@pytest.mark.parametrize("zero_division", [0.0, 1.0, float("nan")])
def test_absent_labels_follow_zero_division(zero_division):
    t, s = au_data(1, absent=(2, 5))
    s[:, 2] = 0.1  # AU 2 never present and never predicted
    pred = (s > 0.5).astype(int)
    for average in ("macro", "weighted", None):
        np.testing.assert_allclose(
            am.multilabel_f1(t, s, average=average, zero_division=zero_division),
            skm.f1_score(t, pred, average=average, zero_division=zero_division), rtol=1e-12)


@pytest.mark.parametrize("zero_division", [0.0, 1.0, float("nan")])
def test_weighted_without_any_positive_is_scikit_learns_unweighted_mean(zero_division):
    # Support weights all 0: scikit-learn falls back to the unweighted mean (it was
    # zero_division, or nan with a warning saying no label was predicted).
    t = np.zeros((4, 3), dtype=int)
    pred = np.array([[0, 1, 0], [0, 1, 1], [0, 0, 0], [0, 0, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error", am.UndefinedMetricWarning)
        value = am.multilabel_f1(t, pred, average="weighted", zero_division=zero_division)
    expected = skm.f1_score(t, pred, average="weighted", zero_division=zero_division)
    assert value == pytest.approx(expected, rel=1e-12)
    # AU 0 never present or predicted: zero_division, or left out; AUs 1 and 2: F1 0
    assert value == {0.0: 0.0, 1.0: 1 / 3}.get(zero_division, 0.0)


@pytest.mark.parametrize("seed", range(6))
def test_ranking_agrees_with_scikit_learn(seed):
    t, s = au_data(seed)
    s = np.round(s, 2)  # ties
    for average in ("macro", "micro", "weighted", None):
        np.testing.assert_allclose(am.multilabel_roc_auc(t, s, average=average),
                                   skm.roc_auc_score(t, s, average=average), rtol=1e-12)
        np.testing.assert_allclose(am.multilabel_pr_auc(t, s, average=average),
                                   skm.average_precision_score(t, s, average=average),
                                   rtol=1e-12)


def test_hand_checked_and_undefined():
    truth = [[1, 0], [1, 1], [0, 1], [0, 0]]
    scores = [[0.9, 0.2], [0.4, 0.8], [0.1, 0.7], [0.6, 0.1]]
    assert am.multilabel_f1(truth, scores) == 0.75
    # micro: TP 3, FP 1, FN 1: 6 / 8
    assert am.multilabel_f1(truth, scores, average="micro") == 0.75
    assert am.multilabel_roc_auc(truth, scores, average=None).tolist() == [0.75, 1.0]
    with pytest.warns(am.UndefinedMetricWarning,
                      match=r"^multilabel_roc_auc is undefined for label\(s\) \['AU4'\]"):
        values = am.multilabel_roc_auc([[1, 0], [0, 0]], [[0.9, 0.1], [0.2, 0.3]],
                                       average=None, label_names=["AU1", "AU4"])
    assert values[0] == 1.0 and np.isnan(values[1])
    with pytest.warns(am.UndefinedMetricWarning, match="^multilabel_f1 is undefined"):
        assert np.isnan(am.multilabel_f1([[0, 0]], [[0, 0]], zero_division=float("nan")))


def test_refused_inputs():
    with pytest.raises(ValueError, match="0/1 labels; found 2 at position"):
        am.multilabel_f1([[0, 2]], [[0, 1]])
    with pytest.raises(ValueError, match=r"\(n, L\) 0/1 matrix"):
        am.multilabel_f1([0, 1], [0, 1])
    with pytest.raises(ValueError, match="same shape"):
        am.multilabel_f1([[0, 1]], [[0, 1, 1]])
    with pytest.raises(ValueError, match="average"):
        am.multilabel_f1([[0, 1]], [[0, 1]], average="samples")
    with pytest.raises(ValueError, match="threshold"):
        am.multilabel_f1([[0, 1]], [[0, 1]], threshold=float("nan"))
    assert am.multilabel_f1([[1, 0], [np.nan, 1], [0, 1]], [[1, 0], [1, 1], [0, 1]],
                            nan_policy="omit") == 1.0


@pytest.mark.parametrize("bins", [None, 1000])
def test_accumulator_equals_functions_after_any_split(bins):
    t, s = au_data(3)
    acc = [am.MultilabelAccumulator(12, bins=bins, label_names=AUS) for _ in range(3)]
    rows = np.array_split(np.random.default_rng(0).permutation(t.shape[0]), 3)
    for a, r in zip(acc, rows, strict=True):
        for chunk in np.array_split(r, 4):
            a.update(t[chunk], s[chunk])
    merged = acc[1].merge(acc[2]).merge(acc[0])
    restored = am.MultilabelAccumulator.from_state_dict(merged.state_dict())
    for result in (merged.compute(), restored.compute()):
        assert result["f1"] == pytest.approx(am.multilabel_f1(t, s), rel=1e-12)
        assert result["f1_micro"] == pytest.approx(am.multilabel_f1(t, s, average="micro"),
                                                   rel=1e-12)
        per_label = am.multilabel_f1(t, s, average=None)
        assert list(result["f1_per_label"]) == list(AUS)
        np.testing.assert_allclose(list(result["f1_per_label"].values()), per_label, rtol=1e-12)
        # 1000 bins of scores rounded to 3 decimals is exact
        tol = 1e-12 if bins is None else 2e-3
        assert result["auc"] == pytest.approx(am.multilabel_roc_auc(t, s), abs=tol)
        assert result["auc_pr"] == pytest.approx(am.multilabel_pr_auc(t, s), abs=tol)


def test_accumulator_refuses_without_changing_state():
    acc = am.MultilabelAccumulator(2, bins=10)
    acc.update([[1, 0]], [[0.9, 0.1]])
    before = acc.state_dict()
    with pytest.raises(ValueError, match="outside score_range"):
        acc.update([[1, 0], [0, 1]], [[0.9, 0.1], [0.5, 1.5]])
    with pytest.raises(ValueError, match="num_labels=2"):
        acc.update([[1, 0, 1]], [[0.9, 0.1, 0.3]])
    after = acc.state_dict()
    for key in ("counts", "pos_hist", "neg_hist"):
        np.testing.assert_array_equal(before[key], after[key])
    with pytest.raises(ValueError, match="cannot merge"):
        acc.merge(am.MultilabelAccumulator(2))


@settings(max_examples=40, deadline=None)
@given(arrays(np.int8, st.tuples(st.integers(1, 30), st.integers(2, 4)),
              elements=st.integers(0, 1)), st.data())
def test_property_f1_equals_scikit_learn(truth, data):
    # (n, 1) is binary, not multi-label, to scikit-learn: from 2 labels on
    pred = data.draw(arrays(np.int8, truth.shape, elements=st.integers(0, 1)))
    for average in ("macro", "micro"):
        assert am.multilabel_f1(truth, pred, average=average) == pytest.approx(
            skm.f1_score(truth, pred, average=average, zero_division=0.0), rel=1e-12)


def test_report_scores_action_units_with_names_and_intervals():
    t, s = au_data(8, n=300)
    report = am.evaluate(au=t, au_pred=s, ci=0.9, n_resamples=200, seed=1, preset="abaw",
                         warn=False)
    assert report.au_names == am.ABAW_AUS
    assert report.metrics["au_f1"] == pytest.approx(am.multilabel_f1(t, s), rel=1e-12)
    assert report.metrics["abaw_au"] == report.metrics["au_f1"]
    assert report.metrics["au_auc"] == pytest.approx(am.multilabel_roc_auc(t, s), rel=1e-12)
    assert report.metrics["f1_AU12"] == pytest.approx(
        skm.f1_score(t[:, 6], (s[:, 6] > 0.5).astype(int)), rel=1e-12)
    # the interval of AU12's F1 from the same draws, by hand
    drawn = np.random.default_rng(1).integers(0, 300, (200, 300))
    by_hand = [skm.f1_score(t[rows, 6], (s[rows, 6] > 0.5).astype(int)) for rows in drawn]
    low, high = np.quantile(by_hand, [0.05, 0.95])
    assert report.interval("f1_AU12") == (pytest.approx(low, rel=1e-12),
                                          pytest.approx(high, rel=1e-12))
    text = report.to_markdown()
    assert "| Metric (Action units)" in text and "| AU26 " in text
    assert report.to_dict()["au_names"][0] == "AU1"
    with pytest.raises(ValueError, match="au_names has 2 names but au has 12"):
        am.evaluate(au=t, au_pred=s, au_names=["AU1", "AU2"])
    with pytest.raises(ValueError, match="give both au and au_pred"):
        am.evaluate(au=t)


@pytest.mark.parametrize("bins", [None, 20])
def test_accumulator_state_round_trips_through_npz(tmp_path, bins):
    t, s = au_data(9, n=60, n_labels=3)
    acc = am.MultilabelAccumulator(3, bins=bins, label_names=("AU1", "AU2", "AU4"))
    acc.update(t, s)
    np.savez(tmp_path / "state.npz", **acc.state_dict())
    with np.load(tmp_path / "state.npz") as loaded:
        restored = am.MultilabelAccumulator.from_state_dict(dict(loaded))
    assert restored.compute() == acc.compute()
    state = acc.state_dict()
    state["counts"] = state["counts"] + 1
    with pytest.raises(ValueError, match="counts"):
        am.MultilabelAccumulator.from_state_dict(state)
    with pytest.raises(ValueError, match="unknown entries"):
        am.MultilabelAccumulator.from_state_dict({**acc.state_dict(), "extra": 1})


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_property_any_split_merged_in_any_order_equals_one_shot(n, n_labels, seed):
    rng = np.random.default_rng(seed)
    t = (rng.random((n, n_labels)) < 0.4).astype(int)
    s = np.round(rng.random((n, n_labels)), 1)
    cuts = np.sort(rng.choice(np.arange(1, n), size=min(n - 1, int(rng.integers(0, 4))),
                              replace=False)) if n > 1 else []
    parts = []
    for rows in np.split(np.arange(n), cuts):
        acc = am.MultilabelAccumulator(n_labels)
        acc.update(t[rows], s[rows])
        parts.append(acc)
    order = rng.permutation(len(parts))
    merged = parts[order[0]]
    for i in order[1:]:
        merged.merge(parts[i])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", am.UndefinedMetricWarning)
        result = merged.compute()
        expected_auc = am.multilabel_roc_auc(t, s, average=None)
    assert result["f1"] == am.multilabel_f1(t, s)
    assert result["f1_micro"] == am.multilabel_f1(t, s, average="micro")
    np.testing.assert_array_equal(list(result["auc_per_label"].values()), expected_auc)


def test_repeated_label_names_are_refused():
    # compute() keys its per-label dicts by name: two "AU1" were one entry.
    with pytest.raises(ValueError, match="label_names must be distinct names"):
        am.MultilabelAccumulator(2, label_names=["AU1", "AU1"])
    with pytest.raises(ValueError, match="label_names must be distinct names"):
        am.multilabel_roc_auc([[0, 1], [1, 0]], [[0.2, 0.8], [0.6, 0.1]], label_names=[6, "6"])
    with pytest.raises(TypeError, match="label_names must be a sequence of 2 names"):
        am.MultilabelAccumulator(2, label_names="ab")


@pytest.mark.parametrize("bad", ["0.5", None, [0.5, 0.3]])
def test_non_numeric_threshold_is_a_type_error_naming_it(bad):
    with pytest.raises(TypeError, match=r"^threshold must be a finite number, got "):
        am.multilabel_f1([[0, 1]], [[0.2, 0.8]], threshold=bad)
    with pytest.raises(TypeError, match=r"^threshold must be a finite number"):
        am.MultilabelAccumulator(2, threshold=bad)
    with pytest.raises(TypeError, match=r"^au_threshold must be a finite number"):
        am.evaluate(au=[[0, 1]], au_pred=[[0.2, 0.8]], au_threshold=bad)


def test_saved_state_with_truth_no_data_could_give_is_refused():
    # A truth of 0/2 passed (2 read as "present" and matched the counts), and a truth of the
    # wrong width raised numpy's "cannot reshape array of size 100 into shape (3)".
    t, s = au_data(9, n=50, n_labels=3)
    acc = am.MultilabelAccumulator(3)
    acc.update(t, s)
    doubled = {**acc.state_dict(), "truth": acc.state_dict()["truth"].astype(int) * 2}
    with pytest.raises(ValueError, match=r"^state entry 'truth' holds values other than 0 and 1"):
        am.MultilabelAccumulator.from_state_dict(doubled)
    narrow = {**acc.state_dict(), "truth": acc.state_dict()["truth"][:, :2]}
    with pytest.raises(ValueError, match=r"^state entry 'truth' must be an \(n, 3\) array"):
        am.MultilabelAccumulator.from_state_dict(narrow)
    words = {**acc.state_dict(), "scores": np.full((50, 3), "x")}
    with pytest.raises(ValueError, match=r"^state entry 'scores' must be an \(n, 3\) array"):
        am.MultilabelAccumulator.from_state_dict(words)
    empty = am.MultilabelAccumulator(3)
    assert am.MultilabelAccumulator.from_state_dict(empty.state_dict()).n_samples == 0


def test_binned_error_stays_within_error_bounds():
    # The docs promise ClassificationAccumulator's error bounds for bins=N; the
    # accumulator had no error_bounds() to give them.
    t, s = au_data(21, n=400, n_labels=4)
    exact_auc = am.multilabel_roc_auc(t, s, average=None)
    exact_ap = am.multilabel_pr_auc(t, s, average=None)
    names = ("AU1", "AU2", "AU4", "AU6")
    for bins in (4, 16, 256):
        acc = am.MultilabelAccumulator(4, bins=bins, label_names=names)
        acc.update(t, s)
        result, bounds = acc.compute(), acc.error_bounds()
        for j, name in enumerate(names):
            assert abs(result["auc_per_label"][name] - exact_auc[j]) <= bounds["auc"][name]
            assert abs(result["auc_pr_per_label"][name] - exact_ap[j]) <= bounds["auc_pr"][name]
        # per label, the bound of ClassificationAccumulator on that label's binary problem
        binary = am.ClassificationAccumulator(num_classes=2, bins=bins)
        binary.update(t[:, 1], np.c_[1 - s[:, 1], s[:, 1]])
        assert bounds["auc"]["AU2"] == pytest.approx(binary.error_bounds()["auc"][1], rel=1e-12)
    exact = am.MultilabelAccumulator(4)
    exact.update(t, s)
    assert exact.error_bounds()["auc"] == {name: 0.0 for name in ("0", "1", "2", "3")}


@pytest.mark.parametrize("bins", [None, 8])
def test_state_round_trips_through_strict_json(bins):
    # The other accumulators' states travel as strict JSON (to_json/from_json); the
    # multilabel one had no such path (its label names are a string array).
    t, s = au_data(4, n=40, n_labels=3)
    acc = am.MultilabelAccumulator(3, bins=bins, threshold=0.4, label_names=("AU1", "AU2", "AU4"))
    acc.update(t, s)
    text = acc.to_json()
    json.loads(text)
    again = am.MultilabelAccumulator.from_json(text)
    assert again.compute() == acc.compute()
    assert (again.label_names, again.threshold, again.bins) == (acc.label_names, 0.4, bins)
    with pytest.raises(ValueError, match="state is not valid JSON"):
        am.MultilabelAccumulator.from_json("{")
