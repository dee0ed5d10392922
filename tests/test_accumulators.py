"""Streaming accumulators: any split, merged in any order, equals the one-shot functions."""

import itertools
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn import metrics as skm

import affectmetrics as am

CONTINUOUS_FUNCTIONS = {"ccc": am.ccc, "pearson": am.pearson, "rmse": am.rmse, "sagr": am.sagr}


def continuous_data(seed, n=2000, k=2, loc=0.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(loc, 1.0, (n, k))
    y = 0.7 * (x - loc) + loc + rng.normal(0.05, 0.6, (n, k))
    return x, y


def classification_data(seed, n=1500, n_classes=8):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_classes, n)
    logits = rng.normal(0, 1, (n, n_classes)) + 1.2 * np.eye(n_classes)[truth]
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return truth, scores.round(3)  # rounding creates ties


def merged_from_random_split(draw, make, a, b):
    """Accumulate a random split of (a, b) in separate accumulators, merge in a random order."""
    n = a.shape[0]
    bounds = [0, *sorted(draw(st.lists(st.integers(0, n), max_size=8))), n]
    parts = []
    for lo, hi in itertools.pairwise(bounds):
        part = make()
        part.update(a[lo:hi], b[lo:hi])
        parts.append(part)
    total = make()
    for i in draw(st.permutations(range(len(parts)))):
        total.merge(parts[i])
    return total


@given(st.data(), st.integers(0, 3), st.sampled_from([0.0, 1e4]))
def test_continuous_any_split_any_merge_order(data, seed, loc):
    x, y = continuous_data(seed, loc=loc)
    total = merged_from_random_split(data.draw, lambda: am.ContinuousAccumulator(2), x, y)
    result = total.compute()
    assert total.n_samples == x.shape[0]
    for name, fn in CONTINUOUS_FUNCTIONS.items():
        np.testing.assert_allclose(result[name], fn(x, y), rtol=1e-12, atol=0)


@given(st.data(), st.integers(0, 3))
def test_classification_any_split_any_merge_order(data, seed):
    truth, scores = classification_data(seed)
    total = merged_from_random_split(data.draw, lambda: am.ClassificationAccumulator(8),
                                     truth, scores)
    result = total.compute()
    expected = {
        "accuracy": am.accuracy(truth, scores),
        "f1": am.f1_score(truth, scores, labels=np.arange(8)),
        "kappa": am.cohen_kappa(truth, scores),
        "krippendorff_alpha": am.krippendorff_alpha(truth, scores),
        "auc": am.roc_auc(truth, scores),
        "auc_pr": am.pr_auc(truth, scores),
    }
    for name, value in expected.items():
        assert result[name] == pytest.approx(value, rel=1e-12), name


def test_classification_values_match_scikit_learn():
    truth, scores = classification_data(5)
    acc = am.ClassificationAccumulator(num_classes=8)
    for lo in range(0, truth.shape[0], 256):
        acc.update(truth[lo:lo + 256], scores[lo:lo + 256])
    result = acc.compute()
    onehot = np.eye(8)[truth]
    pred = scores.argmax(axis=1)
    assert result["accuracy"] == pytest.approx(skm.accuracy_score(truth, pred), rel=1e-15)
    assert result["f1"] == pytest.approx(skm.f1_score(truth, pred, average="macro"), rel=1e-12)
    assert result["kappa"] == pytest.approx(skm.cohen_kappa_score(truth, pred), rel=1e-12)
    assert result["auc"] == pytest.approx(skm.roc_auc_score(onehot, scores), rel=1e-12)
    assert result["auc_pr"] == pytest.approx(
        skm.average_precision_score(onehot, scores), rel=1e-12)
    np.testing.assert_array_equal(acc.confusion_matrix, skm.confusion_matrix(truth, pred))


def test_merge_leaves_the_other_unchanged_and_returns_self():
    x, y = continuous_data(0)
    a, b = am.ContinuousAccumulator(2), am.ContinuousAccumulator(2)
    a.update(x[:100], y[:100])
    b.update(x[100:], y[100:])
    before = b.state_dict()
    assert a.merge(b) is a
    after = b.state_dict()
    for key in before:
        np.testing.assert_array_equal(before[key], after[key])
    truth, scores = classification_data(0)
    c, d = am.ClassificationAccumulator(8), am.ClassificationAccumulator(8)
    c.update(truth[:10], scores[:10])
    d.update(truth[10:], scores[10:])
    c.merge(d)
    assert d.n_samples == truth.shape[0] - 10 and c.n_samples == truth.shape[0]


@pytest.mark.parametrize("bins", [None, 64])
def test_state_dict_round_trip_through_pickle_and_npz(tmp_path, bins):
    truth, scores = classification_data(1)
    acc = am.ClassificationAccumulator(num_classes=8, bins=bins)
    acc.update(truth, scores)
    restored = am.ClassificationAccumulator.from_state_dict(
        pickle.loads(pickle.dumps(acc.state_dict())))
    assert restored.compute() == acc.compute()
    x, y = continuous_data(1, loc=300.0)
    cont = am.ContinuousAccumulator(num_outputs=2)
    cont.update(x, y)
    path = tmp_path / "state.npz"
    np.savez(path, **cont.state_dict())
    with np.load(path) as loaded:
        state = {key: loaded[key] for key in loaded.files}
    state = {k: (v.item() if v.ndim == 0 else v) for k, v in state.items()}
    again = am.ContinuousAccumulator.from_state_dict(state)
    for key, value in cont.compute().items():
        np.testing.assert_array_equal(again.compute()[key], value)


def test_from_state_dict_refuses_foreign_state():
    cont = am.ContinuousAccumulator(2).state_dict()
    with pytest.raises(ValueError, match="state is for 'continuous', not for 'classification'"):
        am.ClassificationAccumulator.from_state_dict(cont)
    broken = dict(cont, version=99)
    with pytest.raises(ValueError, match="version 99"):
        am.ContinuousAccumulator.from_state_dict(broken)
    broken = dict(cont, m2_true=np.zeros(3))
    with pytest.raises(ValueError, match="'m2_true' has 3 values, expected 2"):
        am.ContinuousAccumulator.from_state_dict(broken)
    with pytest.raises(TypeError, match="state must be a dict"):
        am.ContinuousAccumulator.from_state_dict([1, 2])


def test_reset_and_compute_before_update():
    acc = am.ContinuousAccumulator(num_outputs=2)
    with pytest.warns(am.UndefinedMetricWarning, match="no samples"):
        result = acc.compute()
    assert np.isnan(result["ccc"]).all() and result["ccc"].shape == (2,)
    x, y = continuous_data(2)
    acc.update(x, y)
    acc.reset()
    assert acc.n_samples == 0
    cls = am.ClassificationAccumulator(num_classes=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = cls.compute()
    assert all(np.isnan(v) for v in result.values())
    assert caught and all(issubclass(w.category, am.UndefinedMetricWarning) for w in caught)


def test_empty_batches_are_no_ops():
    x, y = continuous_data(3)
    acc = am.ContinuousAccumulator(num_outputs=2)
    acc.update(np.zeros((0, 2)), np.zeros((0, 2)))
    acc.update(x, y)
    np.testing.assert_allclose(acc.compute()["ccc"], am.ccc(x, y), rtol=1e-15)
    truth, scores = classification_data(3)
    cls = am.ClassificationAccumulator(num_classes=8)
    cls.update(np.zeros(0, dtype=int), np.zeros((0, 8)))
    cls.update(truth, scores)
    assert cls.compute()["auc"] == pytest.approx(am.roc_auc(truth, scores), rel=1e-15)


def test_nan_policy_omit_counts_what_it_drops():
    x, y = continuous_data(4, n=50)
    x[[3, 7], 1] = np.nan
    acc = am.ContinuousAccumulator(num_outputs=2, nan_policy="omit")
    acc.update(x[:25], y[:25])
    acc.update(x[25:], y[25:])
    assert acc.n_omitted == 2 and acc.n_samples == 48
    np.testing.assert_allclose(acc.compute()["ccc"], am.ccc(x, y, nan_policy="omit"),
                               rtol=1e-12)
    strict = am.ContinuousAccumulator(num_outputs=2)
    with pytest.raises(ValueError, match="NaN"):
        strict.update(x, y)


def test_bad_updates_and_merges():
    acc = am.ContinuousAccumulator(num_outputs=2)
    with pytest.raises(ValueError, match=r"3 columns .* num_outputs=2"):
        acc.update(np.zeros((4, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="y_true is 1-D but num_outputs=2"):
        acc.update(np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="num_outputs=2 and 3"):
        acc.merge(am.ContinuousAccumulator(num_outputs=3))
    with pytest.raises(TypeError, match="can only merge a ContinuousAccumulator"):
        acc.merge(am.ClassificationAccumulator(num_classes=2))
    with pytest.raises(ValueError, match="num_outputs must be a positive integer"):
        am.ContinuousAccumulator(num_outputs=0)
    cls = am.ClassificationAccumulator(num_classes=3)
    with pytest.raises(ValueError, match=r"y_score must be an \(n, 3\) score matrix"):
        cls.update([0, 1], [0.2, 0.8])
    with pytest.raises(ValueError, match="has 2 columns but labels has 3 entries"):
        cls.update([0, 1], np.eye(2))
    with pytest.raises(ValueError, match="label 3 at index 1"):
        cls.update([0, 3], np.eye(3)[:2])
    with pytest.raises(ValueError, match="cannot merge"):
        cls.merge(am.ClassificationAccumulator(num_classes=3, bins=10))
    with pytest.raises(ValueError, match="score_range"):
        am.ClassificationAccumulator(num_classes=3, score_range=(1.0, 0.0))
    binned = am.ClassificationAccumulator(num_classes=3, bins=10, scores="raw")
    with pytest.raises(ValueError, match=r"value 1.5 at position \(1, 2\), outside score_range"):
        binned.update([0, 1], [[0.1, 0.2, 0.3], [0.1, 0.2, 1.5]])


def test_update_copies_the_callers_buffer():
    truth, scores = classification_data(6, n=100)
    acc = am.ClassificationAccumulator(num_classes=8)
    buffer = scores.copy()
    acc.update(truth, buffer)
    buffer[:] = 0.0  # a training loop reusing its output buffer
    assert acc.compute()["auc"] == pytest.approx(am.roc_auc(truth, scores), rel=1e-15)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("bins", [10, 100, 1000])
def test_binned_mode_stays_within_its_error_bounds(seed, bins):
    truth, scores = classification_data(seed)
    scores = np.random.default_rng(seed).random(scores.shape) * 0.3 + 0.7 * scores
    exact = am.ClassificationAccumulator(num_classes=8)
    binned = am.ClassificationAccumulator(num_classes=8, bins=bins)
    for lo in range(0, truth.shape[0], 200):
        exact.update(truth[lo:lo + 200], scores[lo:lo + 200])
        binned.update(truth[lo:lo + 200], scores[lo:lo + 200])
    bounds = binned.error_bounds()
    auc_exact = am.roc_auc(truth, scores, average=None)
    ap_exact = am.pr_auc(truth, scores, average=None)
    counts = binned._rank_counts()
    from affectmetrics.ranking import _ranking_batch
    auc_binned = np.array([float(_ranking_batch(*c)[0]) for c in counts])
    ap_binned = np.array([float(_ranking_batch(*c)[1]) for c in counts])
    assert (np.abs(auc_binned - auc_exact) <= bounds["auc"] + 1e-15).all()
    assert (np.abs(ap_binned - ap_exact) <= bounds["auc_pr"] + 1e-15).all()
    result, reference = binned.compute(), exact.compute()
    assert abs(result["auc"] - reference["auc"]) <= bounds["auc"].mean() + 1e-15
    assert abs(result["auc_pr"] - reference["auc_pr"]) <= bounds["auc_pr"].mean() + 1e-15
    # The confusion-matrix metrics do not depend on the binning.
    for key in ("accuracy", "f1", "kappa", "krippendorff_alpha"):
        assert result[key] == reference[key]


def test_binned_bounds_shrink_with_more_bins():
    truth, scores = classification_data(9, n=5000)
    widths = []
    for bins in (10, 100, 1000):
        acc = am.ClassificationAccumulator(num_classes=8, bins=bins)
        acc.update(truth, np.clip(scores + 1e-4 * np.arange(8), 0, 1))
        widths.append(acc.error_bounds()["auc"].mean())
    assert widths[0] > 5 * widths[1] > 25 * widths[2]


def test_binned_is_exact_when_each_score_has_its_own_bin():
    rng = np.random.default_rng(11)
    truth = rng.integers(0, 4, 600)
    grid = (rng.integers(0, 50, (600, 4)) + 0.5) / 50  # bin centres of 50 bins
    acc = am.ClassificationAccumulator(num_classes=4, bins=50, scores="raw")
    acc.update(truth, grid)
    result = acc.compute()
    assert result["auc"] == pytest.approx(am.roc_auc(truth, grid, scores="raw"), rel=1e-14)
    assert result["auc_pr"] == pytest.approx(am.pr_auc(truth, grid, scores="raw"), rel=1e-14)


def test_binned_state_does_not_grow_with_samples():
    rng = np.random.default_rng(12)
    acc = am.ClassificationAccumulator(num_classes=8, bins=256)
    acc.update(rng.integers(0, 8, 100), rng.random((100, 8)))
    size_small = sum(np.asarray(v).nbytes for v in acc.state_dict().values())
    for _ in range(50):
        acc.update(rng.integers(0, 8, 4096), rng.random((4096, 8)))
    size_large = sum(np.asarray(v).nbytes for v in acc.state_dict().values())
    assert acc.n_samples == 100 + 50 * 4096
    assert size_small == size_large


def test_labels_for_the_columns():
    rng = np.random.default_rng(13)
    truth = rng.choice([3, 5, 9], 300)
    scores = rng.random((300, 3))
    acc = am.ClassificationAccumulator(num_classes=3, labels=[3, 5, 9])
    acc.update(truth, scores)
    assert acc.compute()["auc"] == pytest.approx(
        am.roc_auc(truth, scores, labels=[3, 5, 9]), rel=1e-15)


def test_packed_moments_merge_like_accumulators():
    # The adapters keep the moments as one (13, k) array; merging packed states must equal
    # merging accumulators, including an empty part (an empty shard).
    from affectmetrics._moments import _empty_moments, _merge_packed, _moments, _pack, _unpack

    x, y = continuous_data(8, loc=1e3)
    parts = [_pack(_moments(x[:700], y[:700])), _pack(_empty_moments(2)),
             _pack(_moments(x[700:], y[700:]))]
    merged = _unpack(_merge_packed(np.stack(parts)))
    whole = _moments(x, y)
    assert merged.n == whole.n
    for name in ("mean_true", "m2_true", "cross", "sse", "min_pred", "max_true"):
        np.testing.assert_allclose(getattr(merged, name), getattr(whole, name), rtol=1e-12)
    np.testing.assert_array_equal(merged.agree, whole.agree)


# -- atomic updates and checked, portable state -------------------------------------------


def assert_same_state(before, after):
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_array_equal(np.asarray(after[key]), np.asarray(before[key]), key)


def filled_accumulators():
    x, y = continuous_data(20, n=300)
    truth, scores = classification_data(20, n=300)
    accs = [am.ContinuousAccumulator(2), am.ContinuousAccumulator(2, nan_policy="omit"),
            am.ClassificationAccumulator(8), am.ClassificationAccumulator(8, bins=32),
            am.ClassificationAccumulator(8, nan_policy="omit", scores="probabilities")]
    for acc in accs:
        if isinstance(acc, am.ContinuousAccumulator):
            acc.update(x[:200], y[:200])
            acc.update(x[200:210], y[200:210])  # a small batch stays pending
        else:
            acc.update(truth[:200], scores[:200])
            acc.update(truth[200:210], scores[200:210])
    return accs


def refused_continuous_batches():
    good = np.zeros((5, 2))
    nan_col = good.copy()
    nan_col[2, 1] = np.nan
    inf = good.copy()
    inf[0, 0] = np.inf
    nan_all = np.full((5, 2), np.nan)
    return {
        "shape": (np.zeros((5, 3)), np.zeros((5, 3))),
        "one-dimensional": (np.zeros(5), np.zeros(5)),
        "lengths": (good, good[:4]),
        "strings": (np.array([["a", "b"]] * 5), good),
        "nan": (nan_col, good),
        "inf": (good, inf),
        "all-nan": (nan_all, good),
    }


def refused_classification_batches():
    truth, scores = classification_data(21, n=5)
    nan_scores = scores.copy()
    nan_scores[3, 1] = np.nan
    above = scores.copy()
    above[1, 2] = 1.5
    inf = scores.copy()
    inf[0, 4] = np.inf
    return {
        "one-dimensional": (truth, scores[:, 0]),
        "columns": (truth, scores[:, :3]),
        "label": (np.r_[truth[:4], 9], scores),
        "lengths": (truth[:4], scores),
        "nan": (truth, nan_scores),
        "inf": (truth, inf),
        "all-nan": (truth, np.full_like(scores, np.nan)),
        "probabilities": (truth, scores * 3.0),
        "out-of-range": (truth, above),
        "ragged": (truth, [list(row) for row in scores[:4]] + [list(scores[4, :2])]),
    }


@pytest.mark.parametrize("which", range(5))
def test_a_refused_batch_leaves_the_state_exactly_as_it_was(which):
    acc = filled_accumulators()[which]
    batches = (refused_continuous_batches() if isinstance(acc, am.ContinuousAccumulator)
               else refused_classification_batches())
    for kind, (t, p) in batches.items():
        before = acc.state_dict()
        n_omitted = acc.n_omitted
        try:
            acc.update(t, p)
        except (ValueError, TypeError):
            pass
        else:
            # Only what the accumulator's options accept may pass (omit, auto scores).
            assert kind in ("nan", "all-nan", "probabilities", "out-of-range"), kind
            continue
        assert acc.n_omitted == n_omitted, kind
        assert_same_state(before, acc.state_dict())


def test_a_ragged_score_batch_is_an_error_naming_y_score():
    # It used to be NumPy's "setting an array element with a sequence" from np.asarray.
    for bins in (None, 4):
        acc = am.ClassificationAccumulator(2, bins=bins)
        with pytest.raises(ValueError, match="y_score could not be read as an array"):
            acc.update([0, 1], [[0.2, 0.8], [0.3]])
        assert acc.n_samples == 0


def test_binned_refusal_after_validation_changes_nothing():
    # The score is valid input but outside score_range: found after the batch validated.
    acc = am.ClassificationAccumulator(3, bins=10, scores="raw", nan_policy="omit")
    acc.update([0, 1], [[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]])
    before = acc.state_dict()
    with pytest.raises(ValueError, match="outside score_range"):
        acc.update([0, 1, 2], [[0.1, 0.2, 0.3], [np.nan, 0.1, 0.1], [0.1, 0.2, 1.5]])
    assert acc.n_omitted == 0
    assert_same_state(before, acc.state_dict())


@pytest.mark.parametrize("which", range(5))
def test_state_round_trips_through_npz_without_pickle_and_strict_json(tmp_path, which):
    acc = filled_accumulators()[which]
    state = acc.state_dict()
    assert all(value is not None for value in state.values())
    path = tmp_path / "state.npz"
    np.savez(path, **state)
    with np.load(path, allow_pickle=False) as loaded:
        again = type(acc).from_state_dict(dict(loaded))
    assert_same_state(state, again.state_dict())
    text = acc.to_json()
    import json

    json.loads(text, parse_constant=lambda name: pytest.fail(f"non-strict JSON {name}"))
    from_json = type(acc).from_json(text)
    assert_same_state(state, from_json.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", am.UndefinedMetricWarning)
        want = acc.compute()
        for restored in (again, from_json):
            got = restored.compute()
            for key in want:
                np.testing.assert_array_equal(got[key], want[key])


def test_reloaded_state_keeps_accumulating():
    truth, scores = classification_data(22, n=400)
    acc = am.ClassificationAccumulator(8)
    acc.update(truth[:150], scores[:150])
    again = am.ClassificationAccumulator.from_json(acc.to_json())
    again.update(truth[150:], scores[150:])
    other = am.ClassificationAccumulator.from_state_dict(acc.state_dict())
    other.merge(again)  # merging a reloaded state counts nothing twice
    whole = am.ClassificationAccumulator(8)
    whole.update(truth, scores)
    assert again.compute() == whole.compute()
    assert other.n_samples == 550


def continuous_state():
    acc = am.ContinuousAccumulator(2)
    x, y = continuous_data(23, n=50)
    y[:, 1] = 0.25  # a constant column
    acc.update(x, y)
    return acc.state_dict()


def classification_state(bins=0):
    acc = am.ClassificationAccumulator(3, bins=bins or None)
    acc.update([0, 1, 2, 2], np.eye(3)[[0, 2, 2, 1]] * 0.8 + 0.2 / 3)
    return acc.state_dict()


@pytest.mark.parametrize(("change", "message"), [
    (dict(n=-1), "'n' must hold|'n' must be >= 0"),
    (dict(n=50.5), "'n' must hold integers"),
    (dict(agree=np.array([51, 3])), r"'agree' must lie in \[0, n = 50\]"),
    (dict(agree=np.array([-1, 3])), "'agree' must lie"),
    (dict(m2_true=np.array([-1.0, 2.0])), "'m2_true' must be >= 0"),
    (dict(sse=np.array([np.nan, 2.0])), "'sse' must be finite"),
    (dict(cross=np.array([np.inf, 2.0])), "'cross' must be finite"),
    (dict(mean_pred=np.array([1.0, 2.0, 3.0])), "'mean_pred' has 3 values, expected 2"),
    (dict(min_pred=np.array([-np.inf, 0.3])), "'min_pred' and 'max_pred' must be"),
    (dict(max_true=np.array([np.nan, np.inf])), "'max_true' holds NaN"),
    (dict(n_omitted=-2), "'n_omitted' must be >= 0"),
    (dict(num_outputs=3), "state holds 2 outputs but num_outputs is 3"),
    (dict(nan_policy="propagate"), "nan_policy must be"),
    (dict(extra=np.zeros(2)), r"unknown entries \['extra'\]"),
])
def test_continuous_state_invariants_name_the_entry(change, message):
    state = dict(continuous_state(), **change)
    with pytest.raises(ValueError, match=message):
        am.ContinuousAccumulator.from_state_dict(state)


def _spread_constant_column(state):
    state["min_pred"] = np.array([state["min_pred"][0], 0.0])  # the column 0.25 now varies


@pytest.mark.parametrize(("change", "entry"), [
    # |cross| above sqrt(m2_true * m2_pred): used to give CCC -1.21 and Pearson -1.
    (lambda s: s.__setitem__("cross", np.array([-2 * np.sqrt(s["m2_true"][0] * s["m2_pred"][0]),
                                                0.0])), "cross"),
    # A spread (min < max) with m2 exactly 0: used to give nan with a raw NumPy
    # "invalid value encountered in divide" RuntimeWarning instead of a refusal.
    (_spread_constant_column, "m2_pred"),
    # A constant column (min == max) must have m2 exactly 0.
    (lambda s: s.__setitem__("m2_pred", np.array([s["m2_pred"][0], 1.0])), "m2_pred"),
    # mean_diff is mean_true - mean_pred: shifted by 1 it used to give CCC 0.49.
    (lambda s: s.__setitem__("mean_diff", s["mean_diff"] + 1.0), "mean_diff"),
    # sse >= n * mean_diff**2 (the mean of squares is at least the square of the mean).
    (lambda s: s.__setitem__("sse", np.zeros(2)), "sse"),
])
def test_continuous_states_no_data_could_give_are_refused(change, entry):
    state = continuous_state()
    change(state)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=f"state entry '{entry}'"):
            am.ContinuousAccumulator.from_state_dict(state)


def test_missing_entries_are_a_value_error_not_a_key_error():
    for make, cls in ((continuous_state, am.ContinuousAccumulator),
                      (classification_state, am.ClassificationAccumulator)):
        for key in make():
            state = make()
            del state[key]
            with pytest.raises(ValueError, match=f"missing the entr(y|ies).*{key}"):
                cls.from_state_dict(state)


def test_issue_examples_of_impossible_states():
    # A negative sample count gave SAGR -1; a negative confusion cell gave accuracy 1.0;
    # NaN scores gave AUC 0.5.
    state = continuous_state()
    state.update(n=-50, agree=np.array([50, 50]))
    with pytest.raises(ValueError, match="'n'"):
        am.ContinuousAccumulator.from_state_dict(state)
    state = classification_state()
    state["confusion"] = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 3]])
    with pytest.raises(ValueError, match=r"'confusion' has the negative count -1 at position "
                                         r"\(2, 1\)"):
        am.ClassificationAccumulator.from_state_dict(state)
    state = classification_state()
    state["scores_seen"] = np.full((4, 3), np.nan)
    with pytest.raises(ValueError, match="'scores_seen' has the value nan at position"):
        am.ClassificationAccumulator.from_state_dict(state)


@pytest.mark.parametrize(("bins", "change", "message"), [
    (0, dict(confusion=np.ones((2, 2))), r"'confusion' has shape \(2, 2\), expected \(3, 3\)"),
    (0, dict(confusion=np.full((3, 3), 0.5)), "'confusion' must hold integers"),
    (0, dict(codes=np.array([0, 1, 2, 3])), "'codes' has the class code 3"),
    (0, dict(codes=np.array([0, 1, 1, 2])), "'codes' and 'confusion' disagree"),
    (0, dict(codes=np.array([0, 1, 2])), r"'codes' has shape \(3,\), expected \(4,\)"),
    (0, dict(scores_seen=np.zeros((4, 2))), "'scores_seen' has shape"),
    (0, dict(scores=np.inf), "'scores' must be a string"),
    (0, dict(scores="softmax"), "scores must be one of"),
    (0, dict(labels=[0, 0, 1]), "labels contains 0 more than once"),
    (0, dict(num_classes=0), "'num_classes' must be >= 1"),
    (0, dict(score_range=np.array([1.0, 0.0])), "score_range must be"),
    (0, dict(version=1), r"version 1; this affectmetrics reads versions \(2,\)"),
    (0, dict(kind="continuous"), "state is for 'continuous'"),
    (0, dict(pos_hist=np.zeros((3, 4))), r"unknown entries \['pos_hist'\]"),
    (4, dict(pos_hist=-np.ones((3, 4))), "'pos_hist' has the negative count"),
    (4, dict(neg_hist=np.zeros((3, 5))), r"'neg_hist' has shape \(3, 5\), expected \(3, 4\)"),
    (4, dict(pos_hist=np.zeros((3, 4))), "'pos_hist' and 'confusion' disagree"),
    (4, dict(neg_hist=np.ones((3, 4))), "'neg_hist' and 'confusion' disagree"),
    (4, dict(bins=-3), "'bins' must be >= 0"),
    # Found by a fresh tester: each used to be accepted, or refused under another name.
    (0, dict(labels=None), "state entry 'labels' must be a 1-D array"),
    (4, dict(labels=None), "state entry 'labels' must be a 1-D array"),
    (0, dict(bins="4"), "state entry 'bins' must be an integer"),
    (0, dict(bins=None), "state entry 'bins' must be an integer"),
    (0, dict(confusion=[[1, 0, 0], [0, 1]]), "'confusion' could not be read as an array"),
    (0, dict(scores_seen=[[0.2, 0.8, 0.0]] * 3 + [[0.1]]), "'scores_seen' could not be read"),
    (0, dict(confusion=np.array([[1e19, 0, 0], [0, 1, 1], [0, 0, 1]])),
     r"'confusion' counts more than 2\*\*62 samples"),
    (0, dict(confusion=np.array([[2**63, 0, 0], [0, 1, 1], [0, 0, 1]], dtype=np.uint64)),
     r"'confusion' counts more than 2\*\*62 samples"),
    (0, dict(scores_seen=np.full((4, 3), 5.0)),
     "'scores_seen' row 0 is not a probability vector"),
    (0, dict(scores_seen=np.array([[1.5, -0.5, 0.0]] * 4)),
     "'scores_seen' row 0 is not a probability vector"),
    (0, dict(labels=[[0, 1], [2]]), "labels could not be read as an array"),
    # Refused by the histograms' shape before anything of that size is allocated (10**30
    # bins was NumPy's "Maximum allowed dimension exceeded").
    (4, dict(bins=10**12), r"'pos_hist' has shape \(3, 4\), expected \(3, 1000000000000\)"),
    (4, dict(bins=10**30), "'pos_hist' has shape"),
])
def test_classification_state_invariants_name_the_entry(bins, change, message):
    state = dict(classification_state(bins), **change)
    with pytest.raises(ValueError, match=message):
        am.ClassificationAccumulator.from_state_dict(state)


def test_bad_json_is_a_value_error():
    with pytest.raises(ValueError, match="not valid JSON"):
        am.ContinuousAccumulator.from_json("{")
    with pytest.raises(ValueError, match="must be an object"):
        am.ClassificationAccumulator.from_json("[1, 2]")


def test_raw_states_keep_any_finite_scores():
    # Only the probability rules constrain the saved scores; raw decision values are kept.
    acc = am.ClassificationAccumulator(2, scores="raw")
    acc.update([0, 1], [[3.0, -2.0], [-1.0, 4.0]])
    again = am.ClassificationAccumulator.from_state_dict(acc.state_dict())
    assert again.compute()["auc"] == 1.0


def test_bad_json_dtype_names_the_entry():
    import json

    state = json.loads(am.ClassificationAccumulator(2).to_json())
    for dtype in ("xyz", 5, [1]):
        state["confusion"]["dtype"] = dtype
        with pytest.raises(ValueError, match="state entry 'confusion' has the unknown dtype"):
            am.ClassificationAccumulator.from_json(json.dumps(state))


def test_the_accumulator_keeps_its_own_labels():
    # The labels array was kept by reference: changing the caller's array (or a state dict
    # the accumulator was loaded from) changed the accumulator's classes.
    labels = np.array([5, 7, 9])
    acc = am.ClassificationAccumulator(3, labels=labels)
    labels[0] = 100
    np.testing.assert_array_equal(acc.labels, [5, 7, 9])
    acc.update([5, 7], [[0.5, 0.3, 0.2], [0.1, 0.8, 0.1]])
    state = acc.state_dict()
    again = am.ClassificationAccumulator.from_state_dict(state)
    state["labels"][0] = 42
    np.testing.assert_array_equal(again.labels, [5, 7, 9])
    other = am.ClassificationAccumulator(3, labels=[9, 7, 5])
    with pytest.raises(ValueError, match=r"labels \[5, 7, 9\] and .* labels \[9, 7, 5\]"):
        acc.merge(other)


def test_counts_beyond_int64_products_billions_of_samples():
    # A binned (or merged) state of 10**10 samples: products of counts (kappa's marginals,
    # the U statistic 2 P N) overflowed int64, giving kappa nan or garbage and AUC 0.116
    # for all-tied scores. Right values: scikit-learn on the same counts as sample weights.
    from sklearn.metrics import cohen_kappa_score, roc_auc_score

    state = am.ClassificationAccumulator(2, bins=2).state_dict()
    state["confusion"] = np.array([[4, 2], [1, 3]]) * 10**9
    state["pos_hist"] = np.array([[0, 6], [1, 3]]) * 10**9
    state["neg_hist"] = np.array([[3, 1], [0, 6]]) * 10**9
    result = am.ClassificationAccumulator.from_state_dict(state).compute()
    kappa = cohen_kappa_score([0, 0, 1, 1], [0, 1, 0, 1], sample_weight=[4e9, 2e9, 1e9, 3e9])
    assert result["kappa"] == pytest.approx(kappa, rel=1e-12) and kappa == pytest.approx(0.4)
    # Class 0: positives all in bin 1, negatives 3e9 in bin 0 and 1e9 in bin 1: 7/8;
    # class 1: 3/8. Macro 5/8.
    auc = np.mean([roc_auc_score([1, 0, 0], [1, 1, 0], sample_weight=[6, 1, 3]),
                   roc_auc_score([1, 1, 0], [0, 1, 1], sample_weight=[1, 3, 6])])
    assert result["auc"] == pytest.approx(auc, rel=1e-12) and auc == 0.625
    tied = am.ClassificationAccumulator(2, bins=1).state_dict()
    tied.update(confusion=state["confusion"], pos_hist=np.array([[6], [4]]) * 10**9,
                neg_hist=np.array([[4], [6]]) * 10**9)
    tied_acc = am.ClassificationAccumulator.from_state_dict(tied)
    assert tied_acc.compute()["auc"] == 0.5
    np.testing.assert_array_equal(tied_acc.error_bounds()["auc"], [0.5, 0.5])
