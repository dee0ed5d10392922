"""The PyTorch adapter: torchmetrics Metrics whose values are the NumPy core's."""

import warnings

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from torchmetrics import MetricCollection

import affectmetrics as am
from affectmetrics.torch import (
    AUROC,
    CCC,
    RMSE,
    SAGR,
    Accuracy,
    AffectMetrics,
    AveragePrecision,
    CohenKappa,
    F1Score,
    KrippendorffAlpha,
    Pearson,
    ccc_loss,
)

CONTINUOUS = {"ccc": (CCC, am.ccc), "pearson": (Pearson, am.pearson), "rmse": (RMSE, am.rmse),
              "sagr": (SAGR, am.sagr)}


def va_data(seed, n=1000, loc=0.0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    truth = rng.normal(loc, 1.0, (n, 2))
    pred = 0.6 * (truth - loc) + loc + rng.normal(0.0, 0.5, (n, 2))
    return truth.astype(dtype), pred.astype(dtype)


def expression_data(seed, n=1000, n_classes=8):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n)
    logits = rng.normal(0, 1, (n, n_classes)) + 1.5 * np.eye(n_classes)[labels]
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return labels, scores


def batches(n, seed):
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.choice(np.arange(1, n), size=7, replace=False))
    return list(zip(np.r_[0, cuts], np.r_[cuts, n], strict=True))


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
@pytest.mark.parametrize("seed", range(3))
def test_continuous_equal_the_core_over_random_batches(name, seed):
    cls, fn = CONTINUOUS[name]
    truth, pred = va_data(seed, loc=[0.0, 5.0, 1e3][seed])
    metric = cls(num_outputs=2)
    for lo, hi in batches(truth.shape[0], seed):
        metric.update(torch.from_numpy(pred[lo:hi]), torch.from_numpy(truth[lo:hi]))
    value = metric.compute()
    assert value.dtype == torch.float64 and value.shape == (2,)
    np.testing.assert_allclose(value.numpy(), fn(truth, pred), rtol=1e-10, atol=1e-14)


def test_float32_inputs_far_from_zero():
    truth, pred = va_data(4, n=20_000, loc=1000.0, dtype=np.float32)
    metric = CCC(num_outputs=2)
    for lo in range(0, truth.shape[0], 256):
        metric.update(torch.from_numpy(pred[lo:lo + 256]), torch.from_numpy(truth[lo:lo + 256]))
    exact = am.ccc(truth.astype(np.float64), pred.astype(np.float64))
    np.testing.assert_allclose(metric.compute().numpy(), exact, rtol=0, atol=1e-6)


def test_single_output_is_a_scalar_and_forward_gives_the_batch_value():
    truth, pred = va_data(5, n=200)
    metric = CCC()
    batch_value = metric(torch.from_numpy(pred[:100, 0]), torch.from_numpy(truth[:100, 0]))
    assert batch_value.shape == () and batch_value.item() == pytest.approx(
        am.ccc(truth[:100, 0], pred[:100, 0]), rel=1e-12)
    metric(torch.from_numpy(pred[100:, 0]), torch.from_numpy(truth[100:, 0]))
    assert metric.compute().item() == pytest.approx(am.ccc(truth[:, 0], pred[:, 0]), rel=1e-12)
    metric.reset()
    metric.update(torch.tensor([0.1, 0.2]), torch.tensor([0.3, 0.1]))
    # float32 tensors: the core on the same float32 values
    assert metric.compute().item() == pytest.approx(
        am.ccc(np.float32([0.3, 0.1]), np.float32([0.1, 0.2])), rel=1e-12)


CLASSIFICATION = [
    (Accuracy(num_classes=8), lambda t, s: am.accuracy(t, s)),
    (F1Score(num_classes=8), lambda t, s: am.f1_score(t, s, labels=np.arange(8))),
    (F1Score(num_classes=8, average="weighted"),
     lambda t, s: am.f1_score(t, s, labels=np.arange(8), average="weighted")),
    (CohenKappa(num_classes=8, weights="quadratic"),
     lambda t, s: am.cohen_kappa(t, s, weights="quadratic")),
    (KrippendorffAlpha(num_classes=8), lambda t, s: am.krippendorff_alpha(t, s)),
    (AUROC(num_classes=8), lambda t, s: am.roc_auc(t, s)),
    (AUROC(num_classes=8, average="micro"), lambda t, s: am.roc_auc(t, s, average="micro")),
    (AveragePrecision(num_classes=8, average="weighted"),
     lambda t, s: am.pr_auc(t, s, average="weighted")),
]


@pytest.mark.parametrize(("metric", "reference"), CLASSIFICATION,
                         ids=lambda x: type(x).__name__ if not callable(x) or
                         isinstance(x, torch.nn.Module) else "")
def test_classification_equal_the_core(metric, reference):
    labels, scores = expression_data(1)
    metric.reset()
    for lo, hi in batches(labels.shape[0], 1):
        metric.update(torch.from_numpy(scores[lo:hi]), torch.from_numpy(labels[lo:hi]))
    assert metric.compute().item() == pytest.approx(reference(labels, scores), rel=1e-12)


def test_label_predictions_for_confusion_metrics_and_scores_required_for_auc():
    labels, scores = expression_data(2)
    metric = Accuracy(num_classes=8)
    metric.update(torch.from_numpy(scores.argmax(axis=1)), torch.from_numpy(labels))
    assert metric.compute().item() == pytest.approx(am.accuracy(labels, scores), rel=1e-15)
    with pytest.raises(ValueError, match=r"preds must be an \(n, 8\) matrix"):
        AUROC(num_classes=8).update(torch.from_numpy(labels), torch.from_numpy(labels))
    refused = Accuracy(num_classes=8)
    refused.update(torch.zeros(2, 8), torch.tensor([9, 1]))  # value checks: at compute()
    with pytest.raises(ValueError, match="target contains the label 9 at index 0"):
        refused.compute()
    with pytest.raises(ValueError, match="target has 3 samples, preds has 2"):
        CCC().update(torch.zeros(2), torch.zeros(3))


def test_the_first_refused_batch_is_reported_when_labels_and_scores_are_mixed():
    # Label and score batches waited in two lists summarised scores first: the NaN of the
    # second batch was reported instead of the label 5 of the first.
    metric = Accuracy(num_classes=3)
    metric.update(torch.tensor([0, 5]), torch.tensor([0, 1]))
    metric.update(torch.tensor([[0.1, float("nan"), 0.2]]), torch.tensor([0]))
    metric.update(torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]]), torch.tensor([1, 2]))
    metric.update(torch.tensor([2]), torch.tensor([2]))
    with pytest.raises(ValueError, match="preds contains the label 5 at index 1"):
        metric.compute()
    assert metric.confusion.sum().item() == 3  # the two valid batches


def test_binned_auroc_equals_the_binned_core_accumulator():
    labels, scores = expression_data(3)
    metric = AUROC(num_classes=8, bins=100)
    accumulator = am.ClassificationAccumulator(num_classes=8, bins=100)
    for lo, hi in batches(labels.shape[0], 3):
        metric.update(torch.from_numpy(scores[lo:hi]), torch.from_numpy(labels[lo:hi]))
        accumulator.update(labels[lo:hi], scores[lo:hi])
    assert metric.compute().item() == accumulator.compute()["auc"]


def test_affect_metrics_equal_the_core_report():
    labels, scores = expression_data(4)
    truth, pred = va_data(4)
    metric = AffectMetrics()
    for lo, hi in batches(labels.shape[0], 4):
        metric.update((torch.from_numpy(scores[lo:hi]), torch.from_numpy(pred[lo:hi])),
                      {"expression": torch.from_numpy(labels[lo:hi]),
                       "valence_arousal": torch.from_numpy(truth[lo:hi])})
    result = metric.compute()
    expected = {"accuracy": am.accuracy(labels, scores),
                "f1": am.f1_score(labels, scores, labels=np.arange(8)),
                "uar": am.uar(labels, scores, labels=np.arange(8)),
                "kappa": am.cohen_kappa(labels, scores),
                "krippendorff_alpha": am.krippendorff_alpha(labels, scores),
                "auc": am.roc_auc(labels, scores), "auc_pr": am.pr_auc(labels, scores)}
    for key, fn in CONTINUOUS.items():
        for column, name in enumerate(("valence", "arousal")):
            expected[f"{key}_{name}"] = fn[1](truth[:, column], pred[:, column])
    for column, name in enumerate(("valence", "arousal")):
        expected[f"icc_{name}"] = am.icc(truth[:, column], pred[:, column])
    assert set(result) == set(expected)
    for key, value in expected.items():
        assert result[key].item() == pytest.approx(value, rel=1e-12), key
    with pytest.raises(TypeError, match="preds must be a pair"):
        metric.update(torch.zeros(3, 8), torch.zeros(3))


@pytest.mark.parametrize(("part", "message"), [
    ("va", r"preds\[1\] \(valence/arousal\) contains 1 NaN value\(s\); the first is at "
           r"position \(5, 1\)"),
    ("scores", r"preds\[0\] \(expression scores\) contains 1 infinite value\(s\); the first "
               r"is inf at position \(2, 3\)"),
    ("labels", r"target\[0\] \(expression labels\) contains the label 9 at index 4"),
    ("columns", r"preds\[0\] \(expression scores\) has 7 columns but num_classes is 8"),
])
def test_affect_metrics_errors_name_the_head(part, message):
    # Both heads' predictions are "preds": "preds contains 1 NaN value(s) at position
    # (5, 1)" did not say whether the expression scores or valence/arousal had it.
    labels, scores = expression_data(16, n=20)
    truth, pred = va_data(16, n=20)
    if part == "va":
        pred[5, 1] = np.nan
    elif part == "scores":
        scores[2, 3] = np.inf
    elif part == "labels":
        labels[4] = 9
    else:
        scores = scores[:, :7]
    for call in ("update", "forward"):
        metric = AffectMetrics()
        with pytest.raises(ValueError, match=message):
            getattr(metric, call)((torch.from_numpy(scores), torch.from_numpy(pred)),
                                  (torch.from_numpy(labels), torch.from_numpy(truth)))
            metric.compute()


def test_output_names_are_one_distinct_string_per_output():
    # A string was taken as its letters ("va": keys ccc_v, ccc_a) and repeated names
    # overwrote each other's keys.
    with pytest.raises(TypeError, match="output_names must be a sequence of names, one per "
                                        "output, got the string 'va'"):
        AffectMetrics(output_names="va")
    with pytest.raises(ValueError, match="output_names must be distinct strings"):
        AffectMetrics(output_names=("valence", "valence"))
    with pytest.raises(ValueError, match="output_names has 2 names but num_outputs is 1"):
        AffectMetrics(num_outputs=1)


def test_metric_collection():
    truth, pred = va_data(6)
    collection = MetricCollection({"ccc": CCC(num_outputs=2), "rmse": RMSE(num_outputs=2),
                                   "sagr": SAGR(num_outputs=2)})
    for lo, hi in batches(truth.shape[0], 6):
        collection.update(torch.from_numpy(pred[lo:hi]), torch.from_numpy(truth[lo:hi]))
    result = collection.compute()
    np.testing.assert_allclose(result["ccc"].numpy(), am.ccc(truth, pred), rtol=1e-12)
    np.testing.assert_allclose(result["rmse"].numpy(), am.rmse(truth, pred), rtol=1e-12)
    np.testing.assert_allclose(result["sagr"].numpy(), am.sagr(truth, pred), rtol=1e-12)


def test_metric_collection_groups_only_metrics_that_fill_their_states_alike():
    # The batches wait unprocessed, so the states of AUROC(scores="logits") and AUROC() (or
    # of two nan_policy) were equal after the first update and the collection made them
    # share one: the "logits" AUC came out as the "auto" one (0.9450 for 0.9613).
    labels, scores = expression_data(12, n=300, n_classes=5)
    truth, pred = va_data(12, n=300)
    pred[150, 1] = np.nan
    collection = MetricCollection({
        "auto": AUROC(num_classes=5), "logits": AUROC(num_classes=5, scores="logits"),
        "accuracy": Accuracy(num_classes=5), "f1": F1Score(num_classes=5)})
    continuous = MetricCollection({"raise": CCC(num_outputs=2),
                                   "omit": CCC(num_outputs=2, nan_policy="omit")})
    for lo, hi in ((0, 100), (100, 300)):
        collection.update(torch.from_numpy(scores[lo:hi]), torch.from_numpy(labels[lo:hi]))
        continuous.update(torch.from_numpy(pred[lo:hi]), torch.from_numpy(truth[lo:hi]))
    result = collection.compute()
    assert result["auto"].item() == pytest.approx(am.roc_auc(labels, scores), rel=1e-12)
    assert result["logits"].item() == pytest.approx(
        am.roc_auc(labels, scores, scores="logits"), rel=1e-12)
    assert result["f1"].item() == pytest.approx(am.f1_score(labels, scores), rel=1e-12)
    assert ["accuracy", "f1"] in collection.compute_groups.values()  # still shared
    np.testing.assert_allclose(continuous["omit"].compute().numpy(),
                               am.ccc(truth, pred, nan_policy="omit"), rtol=1e-12)
    with pytest.raises(ValueError, match="preds contains 1 NaN"):
        continuous["raise"].compute()


def test_merge_state_summarises_the_incoming_batches_by_their_own_options():
    # The incoming metric's waiting batches were summarised by the receiver's options: an
    # AUROC(scores="logits") state merged into AUROC() silently became an "auto" AUC, a
    # nan_policy="omit" state raised "preds contains 1 NaN", and another num_outputs gave
    # a raw torch error.
    labels, scores = expression_data(17, n=60, n_classes=3)
    truth, pred = va_data(17, n=60)
    first, second = AUROC(num_classes=3), AUROC(num_classes=3)
    first.update(torch.from_numpy(scores[:25]), torch.from_numpy(labels[:25]))
    second.update(torch.from_numpy(scores[25:]), torch.from_numpy(labels[25:]))
    first.merge_state(second)
    assert first.compute().item() == pytest.approx(am.roc_auc(labels, scores), rel=1e-12)
    logits = AUROC(num_classes=3, scores="logits")
    logits.update(torch.from_numpy(scores), torch.from_numpy(labels))
    with pytest.raises(ValueError, match="a metric of other options"):
        AUROC(num_classes=3).merge_state(logits)
    omit = CCC(num_outputs=2, nan_policy="omit")
    omit.update(torch.from_numpy(pred), torch.from_numpy(truth))
    with pytest.raises(ValueError, match="a metric of other options"):
        CCC(num_outputs=2).merge_state(omit)
    with pytest.raises(ValueError, match=r"'moments' has shape \(13, 2\), this metric's "
                                         r"\(13, 1\)"):
        CCC().merge_state(omit)


def test_inputs_that_require_grad_and_inference_mode():
    truth, pred = va_data(7, n=64)
    leaf = torch.from_numpy(pred).requires_grad_(True)
    metric = CCC(num_outputs=2)
    metric.update(leaf * 1.0, torch.from_numpy(truth))
    with torch.inference_mode():
        metric.update(torch.from_numpy(pred), torch.from_numpy(truth))
        value = metric.compute()
    expected = am.ccc(np.r_[truth, truth], np.r_[pred, pred])
    np.testing.assert_allclose(value.numpy(), expected, rtol=1e-12)


def test_float16_and_bfloat16_inputs_are_read_exactly():
    truth = torch.linspace(-1, 1, 50)
    metric = CCC()
    metric.update(truth.to(torch.bfloat16), truth)
    assert metric.compute().item() == pytest.approx(
        am.ccc(truth.numpy(), truth.to(torch.bfloat16).float().numpy()), rel=1e-12)


def test_batches_of_different_dtypes_are_each_read_exactly():
    # int64 then float16 batches: joined by torch.cat they would become float16, where
    # 70000 is inf (the int batch was refused as infinite).
    truth = [torch.tensor([70001, 70005, 69999]), torch.tensor([0.75, 0.5], dtype=torch.float16)]
    pred = [torch.tensor([70000, 70010, 69990]), torch.tensor([0.5, 0.25], dtype=torch.float16)]
    metric, affect = CCC(), AffectMetrics(num_classes=2, num_outputs=1,
                                          output_names=("valence",))
    for t, p in zip(truth, pred, strict=True):
        metric.update(p, t)
        labels = torch.arange(len(t)) % 2
        affect.update((torch.eye(2)[labels], p), (labels, t))
    expected = am.ccc(np.r_[70001, 70005, 69999, 0.75, 0.5], np.r_[70000, 70010, 69990, 0.5, 0.25])
    assert metric.compute().item() == pytest.approx(expected, rel=1e-12)
    assert affect.compute()["ccc_valence"].item() == pytest.approx(expected, rel=1e-12)


def test_conventions():
    for cls in (CCC, Pearson, RMSE, SAGR):
        metric = cls()
        assert metric.full_state_update is False and metric.is_differentiable is False
    assert CCC.higher_is_better and Pearson.higher_is_better and SAGR.higher_is_better
    assert RMSE.higher_is_better is False and AffectMetrics.higher_is_better is None
    assert CCC().moments.dtype == torch.float64


@pytest.mark.filterwarnings("ignore:The ``compute`` method of metric")
def test_state_dict_save_and_load(tmp_path):
    labels, scores = expression_data(8)
    truth, pred = va_data(8)
    metric = AffectMetrics()
    metric.persistent(True)
    metric.update((torch.from_numpy(scores), torch.from_numpy(pred)),
                  (torch.from_numpy(labels), torch.from_numpy(truth)))
    torch.save(metric.state_dict(), tmp_path / "metric.pt")
    restored = AffectMetrics()
    restored.persistent(True)
    restored.load_state_dict(torch.load(tmp_path / "metric.pt"))
    before, after = metric.compute(), restored.compute()
    for key in before:
        assert after[key].item() == before[key].item(), key


def test_states_stay_float64_under_module_to_dtype_and_set_dtype():
    # Lightning's "bf16-true" precision calls model.to(torch.bfloat16): the metric held in
    # the model must keep its float64 moments and scores (they became bfloat16 and the CCC
    # was 0.8868 for 0.8869).
    truth, pred = va_data(11, n=40)
    labels, scores = expression_data(11, n=40, n_classes=4)
    model = torch.nn.Module()
    model.ccc, model.auc = CCC(num_outputs=2), AUROC(num_classes=4)
    model.ccc.update(torch.from_numpy(pred[:20]), torch.from_numpy(truth[:20]))
    model.auc.update(torch.from_numpy(scores[:20]), torch.from_numpy(labels[:20]))
    model.to(torch.bfloat16)
    model.ccc.set_dtype(torch.float16)
    model.auc.set_dtype(torch.float16)
    assert model.ccc.moments.dtype == model.ccc.refusal.dtype == torch.float64
    assert all(record.dtype == torch.float64 for record in model.auc.records)
    model.ccc.update(torch.from_numpy(pred[20:]), torch.from_numpy(truth[20:]))
    model.auc.update(torch.from_numpy(scores[20:]), torch.from_numpy(labels[20:]))
    np.testing.assert_allclose(model.ccc.compute().numpy(), am.ccc(truth, pred), rtol=1e-12)
    assert model.auc.compute().item() == pytest.approx(am.roc_auc(labels, scores), rel=1e-12)


def test_load_state_dict_checks_the_state_before_loading_it():
    # A state of another num_outputs or num_classes was loaded as is (CCC() then returned
    # -0.47, the first column's value; Accuracy(3) with a 4 x 4 matrix 0.0), and so were a
    # negative sample count and float32 moments.
    truth, pred = va_data(18, n=30)
    labels, scores = expression_data(18, n=30, n_classes=4)
    saved = {}
    for name, metric, batch in (
            ("ccc2", CCC(num_outputs=2), (pred, truth)),
            ("ccc1", CCC(), (pred[:, 0], truth[:, 0])),
            ("acc4", Accuracy(num_classes=4), (scores, labels)),
            ("auc_logits", AUROC(num_classes=4, scores="logits"), (scores, labels))):
        metric.persistent(True)
        metric.update(*(torch.from_numpy(x) for x in batch))
        saved[name] = metric.state_dict()
    for name, metric, message in (
            ("ccc2", CCC(), r"'moments' has shape \(13, 2\), this metric's \(13, 1\)"),
            ("acc4", Accuracy(num_classes=3), r"'confusion' has shape \(4, 4\)"),
            ("auc_logits", AUROC(num_classes=4), "saved by a metric of other options")):
        metric.persistent(True)
        with pytest.raises(ValueError, match=message):
            metric.load_state_dict(saved[name])
    impossible = dict(saved["ccc1"], moments=saved["ccc1"]["moments"].clone())
    impossible["moments"][0] = -3.0
    with pytest.raises(ValueError, match="'moments' is not a summary of data: state entry "
                                         "'n' must be >= 0"):
        CCC().load_state_dict(impossible)
    negative = dict(saved["acc4"], confusion=-saved["acc4"]["confusion"])
    with pytest.raises(ValueError, match="'confusion' holds a negative count"):
        Accuracy(num_classes=4).load_state_dict(negative)
    restored = CCC()
    restored.persistent(True)
    restored.load_state_dict(dict(saved["ccc1"], moments=saved["ccc1"]["moments"].float()))
    assert restored.moments.dtype == torch.float64


def test_devices_follow_to():
    metric = CCC(num_outputs=2).to("cpu")
    truth, pred = va_data(9, n=20)
    metric.update(torch.from_numpy(pred), torch.from_numpy(truth))
    assert metric.compute().device == metric.moments.device == torch.device("cpu")
    if torch.cuda.is_available():  # exercised where a GPU is present
        gpu = CCC(num_outputs=2).to("cuda")
        gpu.update(torch.from_numpy(pred).cuda(), torch.from_numpy(truth).cuda())
        assert gpu.compute().device.type == "cuda"
        np.testing.assert_allclose(gpu.compute().cpu().numpy(), metric.compute().numpy())


def test_undefined_values_warn_like_the_core():
    metric = Pearson()
    metric.update(torch.full((5,), 0.5), torch.linspace(0, 1, 5))
    with pytest.warns(am.UndefinedMetricWarning, match="preds is constant|y_pred is constant"):
        assert torch.isnan(metric.compute())


@pytest.mark.parametrize("shape", [(30,), (30, 2)])
def test_ccc_loss_matches_the_metric_and_passes_gradcheck(shape):
    rng = np.random.default_rng(10)
    target = torch.from_numpy(rng.normal(3.0, 1.0, shape))
    preds = torch.from_numpy(rng.normal(3.2, 0.7, shape)).requires_grad_(True)
    per_output = ccc_loss(preds, target, reduction="none")
    np.testing.assert_allclose(per_output.detach().numpy(),
                               1 - np.atleast_1d(am.ccc(target.numpy(), preds.detach().numpy())),
                               rtol=1e-12)
    assert ccc_loss(preds, target).item() == pytest.approx(per_output.mean().item())
    assert ccc_loss(preds, target, reduction="sum").item() == pytest.approx(
        per_output.sum().item())
    assert torch.autograd.gradcheck(lambda p: ccc_loss(p, target), (preds,))


@pytest.mark.parametrize("scale", [1e160, 1e-170])
def test_ccc_loss_is_scale_robust(scale):
    # The squares of 1e160 overflow and those of 1e-170 underflow: the loss was nan; the
    # core's CCC (invariant to a common scale) is the same as at scale 1.
    rng = np.random.default_rng(14)
    target = rng.uniform(-1, 1, (30, 2))
    pred = target + rng.normal(0.0, 0.3, (30, 2))
    preds = torch.from_numpy(pred * scale).requires_grad_(True)
    loss = ccc_loss(preds, torch.from_numpy(target * scale), reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), 1 - am.ccc(target, pred), rtol=1e-12)
    unit = torch.from_numpy(pred).requires_grad_(True)
    (expected,) = torch.autograd.grad(ccc_loss(unit, torch.from_numpy(target)), unit)
    (gradient,) = torch.autograd.grad(loss.mean(), preds)
    np.testing.assert_allclose((gradient * scale).numpy(), expected.numpy(), rtol=1e-10)


@pytest.mark.parametrize(("dtype", "loc"), [(torch.bfloat16, 0.0), (torch.float16, 0.0),
                                            (torch.float32, 1e6)])
def test_ccc_loss_of_low_precision_inputs_is_the_ccc_of_those_numbers(dtype, loc):
    # Sums in bfloat16 rounded the loss 4 % off (0.1191 for 0.1147), and float32 means
    # around 1e6 6e-4 off; the loss is now taken in float32 from the first row as origin.
    rng = np.random.default_rng(15)
    target = torch.from_numpy(loc + rng.uniform(-1, 1, (30, 2))).to(dtype)
    preds = (target.double() + torch.from_numpy(rng.normal(0.0, 0.3, (30, 2)))).to(dtype)
    loss = ccc_loss(preds.requires_grad_(True), target)
    expected = np.mean(1 - am.ccc(target.double().numpy(), preds.detach().double().numpy()))
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert preds.grad.dtype == dtype and torch.isfinite(preds.grad).all()


def test_ccc_loss_trains_a_regressor():
    torch.manual_seed(0)
    x = torch.randn(256, 4)
    target = x @ torch.tensor([0.5, -0.3, 0.2, 0.1]) + 2.0
    model = torch.nn.Linear(4, 1)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(300):
        optimiser.zero_grad()
        loss = ccc_loss(model(x)[:, 0], target)
        loss.backward()
        optimiser.step()
    assert loss.item() < 0.01


def test_ccc_loss_errors():
    with pytest.raises(ValueError, match="same shape"):
        ccc_loss(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match="n >= 2"):
        ccc_loss(torch.zeros(1), torch.zeros(1))
    with pytest.raises(TypeError, match="floating-point"):
        ccc_loss(torch.zeros(3, dtype=torch.int64), torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="reduction must be"):
        ccc_loss(torch.rand(3), torch.rand(3), reduction="max")



@pytest.mark.parametrize("shards", [[(0, 700), (700, 1003)], [(0, 1003), (1003, 1003)]],
                         ids=["uneven", "empty-shard"])
def test_two_process_distributed_sync_equals_the_core(tmp_path, shards):
    from torch_dist_worker import run

    labels, scores = expression_data(11, n=1003)
    truth, pred = va_data(11, n=1003, loc=100.0)
    np.savez(tmp_path / "data.npz", labels=labels, scores=scores, truth=truth, pred=pred)
    mp.spawn(run, args=(2, str(tmp_path / "init"), str(tmp_path), shards), nprocs=2,
             join=True)
    binned = am.ClassificationAccumulator(num_classes=8, bins=64)
    binned.update(labels, scores)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        expected = {"ccc": am.ccc(truth, pred),
                    "f1": am.f1_score(labels, scores, labels=np.arange(8)),
                    "auc": am.roc_auc(labels, scores),
                    "auc_binned": binned.compute()["auc"],
                    "all_auc_pr": am.pr_auc(labels, scores),
                    "all_ccc_arousal": am.ccc(truth[:, 1], pred[:, 1]),
                    "all_rmse_valence": am.rmse(truth[:, 0], pred[:, 0]),
                    "all_kappa": am.cohen_kappa(labels, scores)}
    for rank in range(2):
        with np.load(tmp_path / f"rank{rank}.npz") as result:
            for key, value in expected.items():
                np.testing.assert_allclose(result[key], value, rtol=1e-10, err_msg=key)


def _torch_state(metric):
    """Every state tensor (lists concatenated), as NumPy, for exact comparison."""
    out = {}
    for name in metric._defaults:
        value = getattr(metric, name)
        if isinstance(value, list):
            value = torch.cat(value) if value else torch.zeros(0, dtype=torch.float64)
        out[name] = value.detach().cpu().numpy().copy()
    return out


def _same_state(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def _counted(state, width=9):
    """The state without the refusal record, exact AUC records reduced to the rows counted
    (the device keeps a refused batch's rows with label -1, so that no shape depends on
    data)."""
    out = {k: v for k, v in state.items() if k != "refusal"}
    if "records" in out:
        table = out["records"].reshape(-1, width)
        out["records"] = table[table[:, 0] >= 0]
    return out


def test_a_refused_batch_changes_no_state_of_affect_metrics_or_binned_auroc():
    # AffectMetrics must refuse both heads of a batch together (a NaN valence/arousal
    # prediction must not leave the expression counts grown); the binned AUROC must not count
    # omitted rows of a batch it refuses for a score outside score_range. Value checks run on
    # the device and are reported by compute(); the states hold only the accepted batches.
    logits, labels = torch.randn(4, 8, dtype=torch.float64), torch.tensor([0, 1, 2, 3])
    va = torch.rand(4, 2, dtype=torch.float64)
    metric = AffectMetrics()
    metric.update((logits, va), (labels, va))
    metric._flush()
    before = _torch_state(metric)
    metric.update((logits, va * float("nan")), (labels, va))
    metric.update((logits, va), (torch.tensor([0, 1, 2, 9]), va))
    metric._flush()
    assert _same_state(_counted(before), _counted(_torch_state(metric)))
    with pytest.raises(ValueError, match="NaN"):  # the first refused batch's problem
        metric.compute()
    auroc = AUROC(num_classes=2, bins=4, score_range=(0.0, 0.5), nan_policy="omit")
    auroc.update(torch.tensor([[0.5, 0.5]]), torch.tensor([0]))
    auroc._flush()
    before = _torch_state(auroc)
    auroc.update(torch.tensor([[float("nan"), 0.5], [0.1, 0.9]], dtype=torch.float64),
                 torch.tensor([0, 1]))
    auroc._flush()
    assert _same_state(_counted(before), _counted(_torch_state(auroc)))
    with pytest.raises(ValueError, match=r"value 0\.9 at position \(1, 1\), outside score_range"):
        auroc.compute()
    # A ragged list of scores is an error naming the argument, not NumPy's.
    with pytest.raises(TypeError, match="preds must be a tensor of numbers"):
        auroc.update([[0.1, 0.9], [0.3]], torch.tensor([0, 1]))
