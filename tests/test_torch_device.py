"""The torch adapter on the device: no host access in update, deferred checks, atomicity."""

import warnings

import numpy as np
import pytest
import torch

import affectmetrics as am
from affectmetrics.torch import (
    AUROC,
    CCC,
    RMSE,
    SAGR,
    UAR,
    Accuracy,
    AffectMetrics,
    AveragePrecision,
    CohenKappa,
    F1Score,
    KrippendorffAlpha,
    MultilabelF1,
    Pearson,
)

CONTINUOUS = (CCC, Pearson, RMSE, SAGR)
CLASSIFICATION = (Accuracy, F1Score, CohenKappa, KrippendorffAlpha, UAR, AUROC,
                  AveragePrecision)


def va_batches(seed, sizes, k=2):
    rng = np.random.default_rng(seed)
    out = []
    for n in sizes:
        truth = rng.normal(size=(n, k))
        out.append((truth + rng.normal(scale=0.5, size=(n, k)), truth))
    return out


def expression_batches(seed, sizes, c=8):
    rng = np.random.default_rng(seed)
    out = []
    for n in sizes:
        labels = rng.integers(0, c, n)
        logits = rng.normal(size=(n, c)) + 2.0 * np.eye(c)[labels]
        scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        out.append((scores, labels))
    return out


def make(cls, **kwargs):
    if cls in CONTINUOUS:
        return cls(num_outputs=2, **kwargs)
    if cls is AffectMetrics:
        return cls(**kwargs)
    return cls(num_classes=8, **kwargs)


def feed(cls, seed=0, sizes=(5, 7, 5)):
    """(preds, target) tensor batches for a metric class."""
    va = va_batches(seed, sizes)
    expr = expression_batches(seed, sizes)
    batches = []
    for (vp, vt), (es, el) in zip(va, expr, strict=True):
        vp, vt, es, el = (torch.from_numpy(a) for a in (vp, vt, es, el))
        if cls in CONTINUOUS:
            batches.append((vp, vt))
        elif cls is AffectMetrics:
            batches.append(((es, vp), (el, vt)))
        else:
            batches.append((es, el))
    return batches


class HostAccess(AssertionError):
    pass


@pytest.fixture
def no_host(monkeypatch):
    """A context in which reading a tensor on the host raises."""

    def refuse(name):
        def method(self, *args, **kwargs):
            raise HostAccess(f"Tensor.{name} called during update")
        return method

    class Guard:
        def __enter__(self):
            for name in ("cpu", "numpy", "item", "tolist", "__bool__", "__float__",
                         "__int__", "__index__"):
                monkeypatch.setattr(torch.Tensor, name, refuse(name))

        def __exit__(self, *exc):
            monkeypatch.undo()

    return Guard()


@pytest.mark.parametrize("cls", (*CONTINUOUS, *CLASSIFICATION, AffectMetrics),
                         ids=lambda c: c.__name__)
@pytest.mark.parametrize("flush_rows", [4, 1 << 13], ids=["flush-in-update", "pending"])
def test_update_never_reads_on_the_host(cls, flush_rows, no_host):
    metric = make(cls)
    metric.flush_rows = flush_rows  # 4: every update also summarises on the device
    batches = feed(cls, sizes=(5, 7, 5))
    bad_preds, bad_target = feed(cls, seed=1, sizes=(3,))[0]
    with no_host:
        for preds, target in batches:
            metric.update(preds, target)
        if cls in CONTINUOUS:  # a refused batch (NaN) is handled on the device too
            bad_preds = bad_preds.clone()
            bad_preds[1, 0] = float("nan")
        elif cls is AffectMetrics:
            bad_target = (bad_target[0].clone(), bad_target[1])
            bad_target[0][2] = 8  # an expression label out of range
        else:
            bad_target = bad_target.clone()
            bad_target[2] = 8
        metric.update(bad_preds, bad_target)
        with pytest.raises(HostAccess):  # the guard is on: compute() does read the host
            metric.compute()
    with pytest.raises(ValueError, match=r"index 2|position|NaN"):
        metric.compute()
    if torch.cuda.is_available():  # where a GPU exists: no synchronisation in update()
        gpu = make(cls).to("cuda")
        gpu.flush_rows = flush_rows
        torch.cuda.set_sync_debug_mode("error")
        try:
            for preds, target in batches:
                moved = [[x.cuda() for x in v] if isinstance(v, tuple) else v.cuda()
                         for v in (preds, target)]
                gpu.update(*moved)
        finally:
            torch.cuda.set_sync_debug_mode("default")
        value, reference = gpu.compute(), make(cls)
        for preds, target in batches:
            reference.update(preds, target)
        expected = reference.compute()
        if isinstance(value, dict):
            assert all(torch.allclose(value[k].cpu(), expected[k]) for k in value)
        else:
            assert torch.allclose(value.cpu(), expected)


def reference_state(cls, batches):
    metric = make(cls)
    for preds, target in batches:
        metric.update(preds, target)
    metric._flush()
    return metric


def assert_same_state(a, b, rtol=0.0):
    """Equal states (records compared by their counted rows; rtol for summed moments)."""
    for name, value in a.metric_state.items():
        other = b.metric_state[name]
        if name == "refusal":
            continue
        if name == "records":
            value, other = (torch.cat(v).reshape(-1, 9) if v else torch.zeros(0, 9)
                            for v in (value, other))
            value, other = value[value[:, 0] >= 0], other[other[:, 0] >= 0]
        if isinstance(value, list):
            assert len(value) == len(other), name
        elif rtol:
            torch.testing.assert_close(value, other, rtol=rtol, atol=0, msg=name)
        else:
            assert torch.equal(value, other), name


@pytest.mark.parametrize("cls", (*CONTINUOUS, *CLASSIFICATION, AffectMetrics),
                         ids=lambda c: c.__name__)
def test_a_refused_batch_leaves_the_state_as_it_was(cls):
    batches = feed(cls, sizes=(6, 4))
    preds, target = feed(cls, seed=3, sizes=(5,))[0]
    if cls in CONTINUOUS:
        preds = preds.clone()
        preds[3, 1] = float("inf")
        message = r"preds contains 1 infinite value\(s\); the first is inf at position \(3, 1\)"
    elif cls is AffectMetrics:  # a NaN in the valence/arousal part refuses the expression too
        preds = (preds[0], preds[1].clone())
        preds[1][4, 0] = float("nan")
        message = (r"preds\[1\] \(valence/arousal\) contains 1 NaN value\(s\); the first is "
                   r"at position \(4, 0\)")
    else:
        target = target.clone().to(torch.float64)
        target[1] = 2.5
        message = "target contains the label 2.5 at index 1"
    metric = make(cls)
    metric.update(*batches[0])
    metric._flush()
    before = {name: list(v) if isinstance(v, list) else v.clone()
              for name, v in metric.metric_state.items()}
    metric.update(preds, target)  # summarised alone: the state is bitwise unchanged
    metric._flush()
    assert_same_state(metric, type("Saved", (), {"metric_state": before})())
    metric.update(*batches[1])
    metric.update(preds, target)  # summarised with a valid batch: the valid one counts
    metric._flush()
    assert_same_state(metric, reference_state(cls, batches), rtol=1e-14)
    with pytest.raises(ValueError, match=message):
        metric.compute()


@pytest.mark.parametrize("cls", (*CONTINUOUS, *CLASSIFICATION, AffectMetrics),
                         ids=lambda c: c.__name__)
def test_forward_after_a_refused_batch_keeps_the_union_of_the_valid_ones(cls):
    """Issue 10: forward(valid), forward(refused) -> ValueError, forward(valid)."""
    first, second = feed(cls, sizes=(80, 70))
    preds, target = feed(cls, seed=4, sizes=(4,))[0]
    if cls in CONTINUOUS:
        preds = preds.clone()
        preds[0, 0] = float("nan")
    elif cls is AffectMetrics:
        preds = (preds[0].clone(), preds[1])
        preds[0][1, 2] = float("nan")
    else:
        preds = preds.clone()
        preds[1, 2] = float("nan")
    metric = make(cls)
    metric(*first)
    with pytest.raises(ValueError, match="NaN"):
        metric(preds, target)
    with pytest.raises(ValueError, match="samples"):  # a shape error, after the reset inside
        metric(first[0], first[1][:2] if not isinstance(first[1], tuple) else
               (first[1][0][:2], first[1][1][:2]))
    metric(*second)
    expected = reference_state(cls, [first, second])
    metric._flush()
    assert_same_state(metric, expected, rtol=1e-14)
    value, reference = metric.compute(), expected.compute()
    if isinstance(value, dict):
        for key in value:
            torch.testing.assert_close(value[key], reference[key], rtol=1e-12, atol=0)
    else:
        torch.testing.assert_close(value, reference, rtol=1e-12, atol=0)


def test_one_sample_per_update_and_constant_predictions_warn_only_about_the_metric():
    rng = np.random.default_rng(5)
    truth = rng.normal(size=20)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rmse = RMSE()
        for i in range(20):
            rmse.update(torch.tensor([truth[i] + 0.1]), torch.tensor([truth[i]]))
        assert rmse.compute().item() == pytest.approx(0.1, rel=1e-12)
        ccc = CCC()
        ccc.update(torch.full((20,), 0.3, dtype=torch.float64), torch.from_numpy(truth))
        assert ccc.compute().item() == 0.0
    assert [str(w.message) for w in caught] == []
    pearson = Pearson()
    pearson.update(torch.full((20,), 0.3, dtype=torch.float64), torch.from_numpy(truth))
    with pytest.warns(am.UndefinedMetricWarning, match="^pearson is undefined") as record:
        assert torch.isnan(pearson.compute())
    assert all(str(w.message).startswith("pearson") for w in record)


def test_nan_policy_omit_drops_rows_on_the_device():
    (p1, t1), (p2, t2) = va_batches(6, (30, 25))
    p1[[3, 10], 0] = np.nan
    t2[7, 1] = np.nan
    metric = CCC(num_outputs=2, nan_policy="omit")
    metric.update(torch.from_numpy(p1), torch.from_numpy(t1))
    metric.update(torch.from_numpy(p2), torch.from_numpy(t2))
    truth, pred = np.r_[t1, t2], np.r_[p1, p2]
    np.testing.assert_allclose(metric.compute().numpy(),
                               am.ccc(truth, pred, nan_policy="omit"), rtol=1e-12)
    assert metric.n_omitted_continuous.item() == 3
    scores, labels = expression_batches(6, (40,))[0]
    scores[5, 2] = np.nan
    auc = AUROC(num_classes=8, nan_policy="omit")
    auc.update(torch.from_numpy(scores), torch.from_numpy(labels))
    assert auc.compute().item() == pytest.approx(
        am.roc_auc(labels, scores, nan_policy="omit"), rel=1e-12)


def test_deferred_messages_are_the_cores():
    pred = np.array([0.1, np.nan, 0.3, np.nan])
    truth = np.array([0.2, 0.1, 0.4, 0.5])
    with pytest.raises(ValueError) as core:
        am.ccc(truth, pred)
    metric = CCC()
    metric.update(torch.from_numpy(pred), torch.from_numpy(truth))
    with pytest.raises(ValueError) as adapter:
        metric.compute()
    assert str(adapter.value).startswith(str(core.value).replace("y_pred", "preds"))
    # Several problems: the core's order (target's inf, target's NaN, preds' inf, ...)
    truth = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, np.nan], [np.nan, 0.1]])
    pred = np.array([[np.inf, 0.2], [0.3, 0.4], [0.5, 0.6], [0.1, 0.1]])
    with pytest.raises(ValueError) as core:
        am.ccc(truth, pred)
    metric = CCC(num_outputs=2)
    metric.update(torch.zeros(3, 2), torch.ones(3, 2))
    metric.update(torch.from_numpy(pred), torch.from_numpy(truth))
    with pytest.raises(ValueError) as adapter:
        metric.compute()
    assert str(adapter.value).startswith(str(core.value).replace("y_true", "target"))
    scores = np.full((3, 4), 0.25)
    scores[2, 1] = 1.5  # a score outside [0, 1] under scores="raw" (not a logit row)
    with pytest.raises(ValueError) as core:
        am.ClassificationAccumulator(num_classes=4, bins=10, scores="raw").update([0, 1, 2],
                                                                                 scores)
    binned = AUROC(num_classes=4, bins=10, scores="raw")
    binned.update(torch.from_numpy(scores), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError) as adapter:
        binned.compute()
    assert str(core.value).replace("y_score", "preds") in str(adapter.value)
    with pytest.raises(ValueError) as core:
        am.roc_auc([0, 1, 2], scores, scores="probabilities")
    strict = AUROC(num_classes=4, scores="probabilities")
    strict.update(torch.from_numpy(scores), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError) as adapter:
        strict.compute()
    assert str(adapter.value).startswith(str(core.value).replace("y_score", "preds"))


def test_summaries_in_update_equal_one_summary_at_compute():
    batches = va_batches(7, (9, 3, 17, 1, 12, 8))
    truth = np.concatenate([t for _, t in batches])
    pred = np.concatenate([p for p, _ in batches])
    for flush_rows in (1, 10, 1 << 13):
        metric = Pearson(num_outputs=2)
        metric.flush_rows = flush_rows
        for p, t in batches:
            metric.update(torch.from_numpy(p), torch.from_numpy(t))
        np.testing.assert_allclose(metric.compute().numpy(), am.pearson(truth, pred),
                                   rtol=1e-12)


def test_inputs_are_moved_to_the_metric_device_and_states_stay_there():
    metric = AffectMetrics(num_classes=8)
    assert all(value.device == torch.device("cpu")
               for value in metric.metric_state.values() if isinstance(value, torch.Tensor))
    assert metric.moments.dtype == torch.float64 and metric.confusion.dtype == torch.int64


@pytest.mark.parametrize("cls", [AUROC, AveragePrecision], ids=lambda c: c.__name__)
def test_logits_and_probabilities_give_one_value_like_torchmetrics_and_sklearn(cls):
    from sklearn.metrics import average_precision_score, roc_auc_score
    from torchmetrics.classification import MulticlassAUROC, MulticlassAveragePrecision

    rng = np.random.default_rng(8)
    labels = rng.integers(0, 5, 300)
    logits = rng.normal(size=(300, 5)) * 2.0 + 1.5 * np.eye(5)[labels]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    values = []
    for scores in (logits, probabilities):
        metric = cls(num_classes=5)
        for lo in range(0, 300, 64):
            batch = slice(lo, lo + 64)
            metric.update(torch.from_numpy(scores[batch]), torch.from_numpy(labels[batch]))
        values.append(metric.compute().item())
    onehot = np.eye(5)[labels]
    if cls is AUROC:
        reference = roc_auc_score(labels, probabilities, multi_class="ovr", average="macro")
        theirs = MulticlassAUROC(5, average="macro", thresholds=None)
    else:
        reference = average_precision_score(onehot, probabilities, average="macro")
        theirs = MulticlassAveragePrecision(5, average="macro", thresholds=None)
    theirs.update(torch.from_numpy(logits), torch.from_numpy(labels))
    assert values[0] == pytest.approx(values[1], rel=1e-12)
    assert values[1] == pytest.approx(reference, rel=1e-12)
    assert values[0] == pytest.approx(theirs.compute().item(), rel=1e-6)  # float32 inside
    raw = cls(num_classes=5, scores="raw")
    raw.update(torch.from_numpy(logits), torch.from_numpy(labels))
    assert raw.compute().item() != pytest.approx(values[0], rel=1e-6)  # the rule matters here


def test_multilabel_f1_on_the_device_equals_the_function_and_refuses_atomically(no_host):
    """Action units: no host read in update, the core's value over any split (scikit-learn
    agrees), and a batch with a non-0/1 truth left out and reported by compute()."""
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(3)
    truth = rng.integers(0, 2, (40, 5))
    scores = np.clip(truth * 0.6 + rng.random((40, 5)) * 0.5, 0, 1)
    metric = MultilabelF1(num_labels=5, average=None)
    metric.flush_rows = 4
    bad = torch.from_numpy(truth[:3].copy())
    bad[1, 2] = 2
    with no_host:
        for rows in np.array_split(np.arange(40), [7, 8, 25]):
            metric.update(torch.from_numpy(scores[rows]), torch.from_numpy(truth[rows]))
        metric.update(torch.from_numpy(scores[:3]), bad)
    with pytest.raises(ValueError, match=r"0/1 labels; found 2 at position \(1, 2\)"):
        metric.compute()
    metric.refusal.zero_()  # the refused batch is out of the state: the rest is exact
    expected = f1_score(truth, scores > 0.5, average=None)
    np.testing.assert_allclose(metric.compute().numpy(), expected, rtol=1e-15)
    np.testing.assert_allclose(metric.compute().numpy(),
                               am.multilabel_f1(truth, scores, average=None), rtol=0)
    with pytest.raises(ValueError, match="must be an \\(n, 5\\) matrix"):
        metric.update(torch.zeros(3, 4), torch.zeros(3, 4))


def test_multilabel_f1_states_of_other_options_or_impossible_counts_are_refused():
    a, b = MultilabelF1(num_labels=2), MultilabelF1(num_labels=2, threshold=0.3)
    a.update(torch.tensor([[0.9, 0.1]]), torch.tensor([[1, 0]]))
    b.update(torch.tensor([[0.4, 0.1]]), torch.tensor([[1, 0]]))
    with pytest.raises(ValueError, match="other options"):
        a.merge_state(b)
    a.persistent(True)
    state = a.state_dict()
    state["counts"] = -state["counts"]
    fresh = MultilabelF1(num_labels=2)
    fresh.persistent(True)
    with pytest.raises(ValueError, match="'counts' holds a negative count"):
        fresh.load_state_dict(state)
    with pytest.raises(ValueError, match="has shape"):
        wide = MultilabelF1(num_labels=3)
        wide.persistent(True)
        wide.load_state_dict(a.state_dict())
