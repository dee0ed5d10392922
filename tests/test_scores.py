"""The score rule (affectmetrics/_scores.py): logits and probabilities of one model give one
AUC/AP, whatever the batches; scikit-learn agrees on probabilities, torchmetrics on logits."""

import itertools

import array_api_compat
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit
from scipy.special import softmax as scipy_softmax
from sklearn import metrics as skm
from torchmetrics.functional.classification import (
    multiclass_auroc,
    multiclass_average_precision,
)

import affectmetrics as am
from affectmetrics._scores import _SUM_TOLERANCE, _apply_score_rule, _normalised_scores


def model_outputs(seed, n=400, n_classes=5, scale=2.0):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_classes, n)
    truth[:n_classes] = np.arange(n_classes)
    logits = scale * rng.normal(size=(n, n_classes)) + 1.5 * np.eye(n_classes)[truth]
    return truth, logits, scipy_softmax(logits, axis=1)


def test_the_issue_example_logits_do_not_rank_like_probabilities():
    # Class 0: logits 2 vs 3 rank the second sample first; their probabilities
    # 0.881 vs 0.731 rank the first sample first. Under the rule both give AUC 1.0.
    truth = [0, 1]
    logits = np.array([[2.0, 0.0], [3.0, 2.0]])
    assert am.roc_auc(truth, logits, scores="raw", average=None)[0] == 0.0
    assert am.roc_auc(truth, logits) == 1.0
    assert am.roc_auc(truth, scipy_softmax(logits, axis=1)) == 1.0


@pytest.mark.parametrize("seed", range(4))
def test_logits_and_probabilities_agree_with_torchmetrics_and_scikit_learn(seed):
    truth, logits, probs = model_outputs(seed)
    for average in ("macro", "weighted", None):
        auc_logits = am.roc_auc(truth, logits, average=average)
        ap_logits = am.pr_auc(truth, logits, average=average)
        np.testing.assert_allclose(auc_logits, am.roc_auc(truth, probs, average=average),
                                   rtol=1e-12)
        np.testing.assert_allclose(ap_logits, am.pr_auc(truth, probs, average=average),
                                   rtol=1e-12)
        # torchmetrics returns its averages in float32: compared to float32 precision.
        tm_average = "none" if average is None else average
        t_logits, t_truth = torch.tensor(logits), torch.tensor(truth)
        np.testing.assert_allclose(
            auc_logits, multiclass_auroc(t_logits, t_truth, 5, average=tm_average).numpy(),
            rtol=1e-6)
        np.testing.assert_allclose(
            ap_logits,
            multiclass_average_precision(t_logits, t_truth, 5, average=tm_average).numpy(),
            rtol=1e-6)
        if average is not None:
            assert auc_logits == pytest.approx(
                skm.roc_auc_score(truth, probs, multi_class="ovr", average=average), rel=1e-12)
    onehot = np.eye(5)[truth]
    assert am.pr_auc(truth, logits) == pytest.approx(
        skm.average_precision_score(onehot, probs), rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.data(), st.integers(0, 50), st.sampled_from([0.3, 3.0, 30.0]))
def test_any_batching_of_logits_or_probabilities_gives_the_one_shot_value(data, seed, scale):
    truth, logits, probs = model_outputs(seed, n=120, n_classes=4, scale=scale)
    want_auc, want_ap = am.roc_auc(truth, probs), am.pr_auc(truth, probs)
    cuts = sorted(data.draw(st.lists(st.integers(0, 120), max_size=5)))
    bounds = [0, *cuts, 120]
    acc = am.ClassificationAccumulator(num_classes=4)
    for lo, hi in itertools.pairwise(bounds):
        # Each batch logged either way: as logits or as probabilities.
        source = logits if data.draw(st.booleans()) else probs
        acc.update(truth[lo:hi], source[lo:hi])
    result = acc.compute()
    assert result["auc"] == pytest.approx(want_auc, rel=1e-12)
    assert result["auc_pr"] == pytest.approx(want_ap, rel=1e-12)


def test_binned_accumulator_takes_logits():
    truth, logits, probs = model_outputs(7, n=2000)
    from_logits = am.ClassificationAccumulator(num_classes=5, bins=200)
    from_probs = am.ClassificationAccumulator(num_classes=5, bins=200)
    from_logits.update(truth, logits)
    from_probs.update(truth, probs)
    assert from_logits.compute() == pytest.approx(from_probs.compute(), rel=1e-12)


def test_rule_is_per_row():
    # A row of probabilities is kept, a row of logits is replaced by its softmax.
    rows = np.array([[0.2, 0.3, 0.5], [1.0, -1.0, 0.5], [0.5, 0.5, 0.5]])
    out = _apply_score_rule(rows, "auto")
    np.testing.assert_array_equal(out[0], rows[0])
    np.testing.assert_allclose(out[1:], scipy_softmax(rows[1:], axis=1), rtol=1e-15)
    # Probabilities rounded to 3 decimals still count as probabilities.
    rounded = np.round(scipy_softmax(np.random.default_rng(0).normal(size=(50, 8)), 1), 3)
    assert np.abs(rounded.sum(axis=1) - 1).max() <= _SUM_TOLERANCE
    np.testing.assert_array_equal(_apply_score_rule(rounded, "auto"), rounded)


def test_explicit_kinds():
    truth, logits, probs = model_outputs(3)
    assert am.roc_auc(truth, logits, scores="logits") == pytest.approx(
        am.roc_auc(truth, probs, scores="probabilities"), rel=1e-12)
    # Softmax of a probability row is not that row: "logits" means it.
    assert am.roc_auc(truth, probs, scores="logits") != am.roc_auc(truth, probs)
    with pytest.raises(ValueError, match=r"y_score row 0 is not a probability vector.*sum is"):
        am.roc_auc(truth, logits, scores="probabilities")
    with pytest.raises(ValueError, match="scores must be one of"):
        am.pr_auc(truth, logits, scores="softmax")
    with pytest.raises(ValueError, match="scores must be one of"):
        am.ClassificationAccumulator(num_classes=5, scores="softmax")


def test_one_dimensional_scores_rank_alike_as_logit_or_probability():
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 2, 300)
    logit = rng.normal(size=300) + truth
    for fn in (am.roc_auc, am.pr_auc):
        value = fn(truth, logit)
        assert fn(truth, expit(logit)) == pytest.approx(value, rel=1e-12)
        assert fn(truth, logit, scores="logits") == pytest.approx(value, rel=1e-12)
    assert am.roc_auc(truth, logit) == pytest.approx(skm.roc_auc_score(truth, logit), rel=1e-12)
    with pytest.raises(ValueError, match=r"y_score has the value .* at position \d+, outside"):
        am.roc_auc(truth, logit, scores="probabilities")


def test_extreme_logits_do_not_overflow():
    truth = [0, 1, 2, 1]
    logits = np.array([[1e300, -1e300, 0.0], [0.0, 800.0, -800.0],
                       [-5e307, 0.0, 5e307], [1.0, 2.0, 1.0]])
    out = _apply_score_rule(logits, "auto")
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-15)
    assert am.roc_auc(truth, logits) == 1.0


def test_float32_and_integer_scores_are_ranked_in_float64():
    truth, logits, _probs = model_outputs(9)
    assert am.roc_auc(truth, logits.astype(np.float32)) == pytest.approx(
        am.roc_auc(truth, logits.astype(np.float32).astype(np.float64)), rel=1e-15)
    onehot_pred = np.eye(5, dtype=np.int8)[(truth + (np.arange(400) % 3 == 0)) % 5]
    np.testing.assert_array_equal(_apply_score_rule(onehot_pred.astype(np.int64), "auto"),
                                  onehot_pred)


@pytest.mark.parametrize("kind", ["auto", "logits", "probabilities", "raw"])
def test_the_array_api_rule_gives_numpys_values_on_torch(kind):
    _, logits, probs = model_outputs(2, n=64)
    mixed = np.where(np.arange(64)[:, None] % 2 == 0, logits, probs)
    source = probs if kind == "probabilities" else mixed
    tensor = torch.tensor(source)
    xp = array_api_compat.array_namespace(tensor)
    got = _normalised_scores(xp, tensor, kind)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), _apply_score_rule(source, kind), rtol=1e-15)
    got_1d = _normalised_scores(xp, tensor[:, 0], kind)
    np.testing.assert_allclose(got_1d.numpy(), _apply_score_rule(source[:, 0], kind),
                               rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_a_row_near_the_tolerance_is_judged_alike_in_every_batch(dtype):
    # [0.5, 0.51025390625] sums to 1.01025 (> 1 + 0.01: logits) in float64, but to
    # 1.00977 in float16 arithmetic; the float32 row sums to 0.98999996 in float64 and to
    # 0.99 in float32. The rule used to judge a batch of probabilities in its own dtype
    # and a mixed batch row by row in float64, so such a row was kept in one batch and
    # replaced by its softmax in another, and the AUC depended on the split.
    border = {
        np.float16: [0.5, 0.51025390625],
        np.float32: [0.16018340, 0.11582287, 0.15680088, 0.015112652, 0.28618857,
                     0.12672596, 0.0025379618, 0.12214260, 0.024485158],
    }[dtype]
    border = np.array([border], dtype=dtype)
    n_classes = border.shape[1]
    probs = np.random.default_rng(0).dirichlet(np.ones(n_classes), size=12).astype(dtype)
    logit_row = np.zeros((1, n_classes), dtype=dtype)
    logit_row[0, 0] = 5.0
    scores = np.vstack([border, probs, logit_row])
    truth = np.arange(14) % n_classes
    total = float(border.astype(np.float64).sum())
    alone, mixed = _apply_score_rule(scores[:13], "auto"), _apply_score_rule(scores, "auto")
    np.testing.assert_array_equal(alone[0], mixed[0])
    expected_row = border[0] if abs(total - 1) <= _SUM_TOLERANCE else scipy_softmax(
        border[0].astype(np.float64))
    np.testing.assert_allclose(mixed[0], expected_row, rtol=1e-12)
    acc = am.ClassificationAccumulator(num_classes=n_classes)
    acc.update(truth[:13], scores[:13])
    acc.update(truth[13:], scores[13:])
    assert acc.compute()["auc"] == am.roc_auc(truth, scores)
    assert acc.compute()["auc_pr"] == am.pr_auc(truth, scores)
    # scores="probabilities" judges in float64 too: the float64 sum decides.
    if abs(total - 1) > _SUM_TOLERANCE:
        with pytest.raises(ValueError, match="row 0 is not a probability vector"):
            am.roc_auc(truth[:13], scores[:13], scores="probabilities")


def test_large_one_dimensional_logits_keep_their_ranks_under_logits():
    # scores="logits" used to apply the sigmoid in floating point, which is 1.0 for every
    # logit above about 37: logits 40 and 50 tied, AUC 0.5, while "auto" (ranked as given)
    # and scikit-learn on the logits give 1.0. The sigmoid is strictly increasing, so the
    # exact probabilities rank as the logits do.
    truth, logit = [0, 1, 0, 1], [38.0, 50.0, 45.0, 60.0]
    for fn, reference in ((am.roc_auc, skm.roc_auc_score),
                          (am.pr_auc, skm.average_precision_score)):
        want = reference(truth, logit)
        assert fn(truth, logit) == pytest.approx(want, rel=1e-15)
        assert fn(truth, logit, scores="logits") == pytest.approx(want, rel=1e-15)
    assert am.roc_auc(truth, logit, scores="logits") == 1.0
