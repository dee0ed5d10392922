"""Worker for the two-process torch.distributed test (a module, so spawn can import it)."""

import numpy as np
import torch
import torch.distributed as dist


def run(rank, world_size, init_file, out_dir, shards):
    from affectmetrics.torch import AUROC, CCC, AffectMetrics, F1Score

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=world_size)
    data = np.load(f"{out_dir}/data.npz")
    lo, hi = shards[rank]
    labels = torch.from_numpy(data["labels"][lo:hi])
    scores = torch.from_numpy(data["scores"][lo:hi])
    truth = torch.from_numpy(data["truth"][lo:hi])
    pred = torch.from_numpy(data["pred"][lo:hi])
    metrics = {"ccc": CCC(num_outputs=2), "f1": F1Score(num_classes=8),
               "auc": AUROC(num_classes=8), "auc_binned": AUROC(num_classes=8, bins=64),
               "all": AffectMetrics()}
    for start in range(0, hi - lo, 16):  # several updates per rank (none on an empty shard)
        sl = slice(start, start + 16)
        metrics["ccc"].update(pred[sl], truth[sl])
        metrics["f1"].update(scores[sl], labels[sl])
        metrics["auc"].update(scores[sl], labels[sl])
        metrics["auc_binned"].update(scores[sl], labels[sl])
        metrics["all"].update((scores[sl], pred[sl]), (labels[sl], truth[sl]))
    results = {name: metric.compute() for name, metric in metrics.items()}
    flat = {f"all_{k}": v.numpy() for k, v in results.pop("all").items()}
    flat.update({k: v.numpy() for k, v in results.items()})
    np.savez(f"{out_dir}/rank{rank}.npz", **flat)
    dist.destroy_process_group()
