"""A PyTorch Lightning module logging the torch adapter's metrics, trained on the CPU."""

import lightning as L
import numpy as np
import pytest
import torch
from torchmetrics import MetricCollection

import affectmetrics as am
from affectmetrics.torch import AUROC, CCC, Accuracy, F1Score, ccc_loss

N_CLASSES = 4


class AffectModule(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Linear(6, 16)
        self.expression = torch.nn.Linear(16, N_CLASSES)
        self.va = torch.nn.Linear(16, 2)
        self.val_expression = MetricCollection(
            {"accuracy": Accuracy(N_CLASSES), "f1": F1Score(N_CLASSES),
             "auc": AUROC(N_CLASSES)}, prefix="val_")
        self.val_ccc = CCC(num_outputs=2)
        self.val_f1_forward = F1Score(N_CLASSES)
        self.logged_ccc = []

    def forward(self, x):
        h = torch.tanh(self.body(x))
        return self.expression(h), torch.tanh(self.va(h))

    def training_step(self, batch, batch_idx):
        x, labels, va = batch
        logits, va_pred = self(x)
        return torch.nn.functional.cross_entropy(logits, labels) + ccc_loss(va_pred, va)

    def validation_step(self, batch, batch_idx):
        x, labels, va = batch
        logits, va_pred = self(x)
        self.val_expression.update(logits, labels)
        self.log_dict(self.val_expression, on_step=False, on_epoch=True)  # metric objects
        self.val_f1_forward(logits, labels)  # forward: the batch value, accumulating
        self.log("val_f1_forward", self.val_f1_forward, on_step=False, on_epoch=True)
        self.val_ccc.update(va_pred, va)

    def on_validation_epoch_end(self):
        ccc = self.val_ccc.compute()  # tensor([valence, arousal])
        self.logged_ccc.append(ccc)
        self.log_dict({"val_ccc_valence": ccc[0], "val_ccc_arousal": ccc[1]})
        self.val_ccc.reset()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)


def loader(n, seed, batch_size):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    labels = x[:, :N_CLASSES].argmax(1)
    va = torch.tanh(x[:, 4:6] + 0.3 * torch.randn(n, 2, generator=g))
    data = torch.utils.data.TensorDataset(x, labels, va)
    return torch.utils.data.DataLoader(data, batch_size=batch_size)


def test_lightning_module_logs_the_cores_values():
    torch.manual_seed(0)
    module = AffectModule()
    trainer = L.Trainer(accelerator="cpu", max_epochs=2, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0)
    val = loader(90, 1, 32)
    trainer.fit(module, loader(128, 0, 16), val)
    logged = trainer.validate(module, val, verbose=False)[0]
    x, labels, va = val.dataset.tensors
    with torch.no_grad():
        logits, va_pred = module(x)
    logits, va_pred = logits.double().numpy(), va_pred.double().numpy()
    labels, va = labels.numpy(), va.double().numpy()
    expected = {"val_accuracy": am.accuracy(labels, logits),
                "val_f1": am.f1_score(labels, logits, labels=np.arange(N_CLASSES)),
                "val_f1_forward": am.f1_score(labels, logits, labels=np.arange(N_CLASSES)),
                "val_auc": am.roc_auc(labels, logits),
                "val_ccc_valence": am.ccc(va[:, 0], va_pred[:, 0]),
                "val_ccc_arousal": am.ccc(va[:, 1], va_pred[:, 1])}
    for key, value in expected.items():
        assert logged[key] == pytest.approx(value, rel=1e-5), key
    # Each validation epoch starts afresh (2 during fit, 1 in validate): the first epoch's
    # CCC differs from the last one's, so the states were reset between epochs.
    assert len(module.logged_ccc) == 3
    assert not torch.equal(module.logged_ccc[0], module.logged_ccc[-1])
