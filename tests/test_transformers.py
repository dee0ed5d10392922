"""transformers.Trainer with batch_eval_metrics=True feeding the torch accumulators."""

import numpy as np
import pytest
import torch
from transformers import Trainer, TrainingArguments

import affectmetrics as am
from affectmetrics.transformers import TrainerMetrics

N_CLASSES = 4


class TwoHeads(torch.nn.Module):
    """A tiny expression + valence/arousal model returning the Trainer's dict outputs."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Linear(6, 16)
        self.expression = torch.nn.Linear(16, N_CLASSES)
        self.va = torch.nn.Linear(16, 2)

    def forward(self, x, labels=None, va=None):
        h = torch.tanh(self.body(x))
        logits, va_pred = self.expression(h), torch.tanh(self.va(h))
        out = {"logits": logits, "va_pred": va_pred}
        if labels is not None:
            out["loss"] = (torch.nn.functional.cross_entropy(logits, labels)
                           + torch.nn.functional.mse_loss(va_pred, va))
            out = {"loss": out["loss"], **{k: v for k, v in out.items() if k != "loss"}}
        return out


class Samples(torch.utils.data.Dataset):
    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 6, generator=g)
        self.labels = self.x[:, :N_CLASSES].argmax(1)
        noise = 0.3 * torch.randn(n, 2, generator=g)
        self.va = torch.tanh(self.x[:, 4:6] + noise)

    def __len__(self):
        return self.x.shape[0]

    def __getitem__(self, i):
        return {"x": self.x[i], "labels": self.labels[i], "va": self.va[i]}


def trainer(tmp_path, task, model):
    args = TrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=16, per_device_eval_batch_size=13,
        num_train_epochs=1, learning_rate=1e-2, batch_eval_metrics=True, use_cpu=True,
        report_to="none", save_strategy="no", logging_strategy="no", disable_tqdm=True,
        label_names=["labels", "va"], dataloader_drop_last=False)
    return Trainer(model=model, args=args, train_dataset=Samples(96, 0),
                   eval_dataset=Samples(70, 1), compute_metrics=TrainerMetrics(
                       task, num_classes=N_CLASSES))


def outputs(model, data):
    model.eval()
    with torch.no_grad():
        out = model(data.x)
    return out["logits"].double().numpy(), out["va_pred"].double().numpy()


def test_trainer_evaluates_both_heads_batch_by_batch(tmp_path):
    torch.manual_seed(0)
    model = TwoHeads()
    run = trainer(tmp_path, "both", model)
    run.train()
    result = run.evaluate()
    data = run.eval_dataset
    logits, va_pred = outputs(model, data)
    labels, va = data.labels.numpy(), data.va.double().numpy()
    expected = {"accuracy": am.accuracy(labels, logits),
                "f1": am.f1_score(labels, logits, labels=np.arange(N_CLASSES)),
                "kappa": am.cohen_kappa(labels, logits),
                "auc": am.roc_auc(labels, logits), "auc_pr": am.pr_auc(labels, logits)}
    for j, name in enumerate(("valence", "arousal")):
        expected[f"ccc_{name}"] = am.ccc(va[:, j], va_pred[:, j])
        expected[f"rmse_{name}"] = am.rmse(va[:, j], va_pred[:, j])
    for key, value in expected.items():
        assert result[f"eval_{key}"] == pytest.approx(value, rel=1e-5), key
    again = run.evaluate()  # the state was reset after the first evaluation
    assert again["eval_ccc_valence"] == pytest.approx(result["eval_ccc_valence"], rel=1e-12)


def test_trainer_with_one_head_and_wrong_outputs(tmp_path):
    torch.manual_seed(1)
    model = TwoHeads()
    metrics = TrainerMetrics("expression", num_classes=N_CLASSES)
    data = Samples(40, 2)
    logits, _ = outputs(model, data)
    from transformers import EvalPrediction
    for lo in range(0, 40, 16):
        last = lo + 16 >= 40
        result = metrics(EvalPrediction(torch.from_numpy(logits[lo:lo + 16]),
                                        data.labels[lo:lo + 16]), compute_result=last)
    labels = data.labels.numpy()
    assert result["auc"] == pytest.approx(am.roc_auc(labels, logits), rel=1e-12)
    assert result["kappa"] == pytest.approx(am.cohen_kappa(labels, logits), rel=1e-12)
    with pytest.raises(TypeError, match="task='both' needs"):
        TrainerMetrics("both")(EvalPrediction(torch.zeros(2, 8), torch.zeros(2)))
    with pytest.raises(ValueError, match="task must be one of"):
        TrainerMetrics("va")


@pytest.mark.parametrize("task", ["expression", "both"])
def test_an_evaluation_ended_by_an_error_does_not_count_in_the_next(task):
    # (n,) arg-max predictions suit accuracy but not AUC: accuracy had taken the batch
    # before AUC refused it, and the first batch stayed in every metric, so the next
    # evaluation reported accuracy 0.1 for 0.125.
    from transformers import EvalPrediction

    rng = np.random.default_rng(13)
    labels = torch.from_numpy(rng.integers(0, N_CLASSES, 40))
    logits = torch.from_numpy(rng.normal(size=(40, N_CLASSES)))
    va = torch.from_numpy(rng.uniform(-1, 1, (40, 2)))

    def batch(lo, hi, expression_pred=None):
        expression_pred = logits[lo:hi] if expression_pred is None else expression_pred
        if task == "expression":
            return EvalPrediction(expression_pred, labels[lo:hi])
        return EvalPrediction((expression_pred, va[lo:hi]), (labels[lo:hi], va[lo:hi]))

    compute_metrics = TrainerMetrics(task, num_classes=N_CLASSES)
    assert compute_metrics(batch(0, 10), compute_result=False) == {}
    with pytest.raises(ValueError, match=r"must be an \(n, 4\) matrix"):
        compute_metrics(batch(10, 20, logits[10:20].argmax(1)), compute_result=False)
    for lo in range(0, 40, 10):
        result = compute_metrics(batch(lo, lo + 10), compute_result=lo == 30)
    assert result["accuracy"] == pytest.approx(am.accuracy(labels.numpy(), logits.numpy()),
                                               rel=1e-12)
    assert result["auc"] == pytest.approx(am.roc_auc(labels.numpy(), logits.numpy()),
                                          rel=1e-12)
    compute_metrics(batch(0, 10), compute_result=False)
    compute_metrics.reset()  # an evaluation stopped elsewhere
    assert compute_metrics(batch(10, 40))["accuracy"] == pytest.approx(
        am.accuracy(labels[10:].numpy(), logits[10:].numpy()), rel=1e-12)
