"""A minimal, deterministic training loop for the example and test models (CPU, seconds)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def train_classifier(model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int = 30, lr: float = 1e-2,
                     batch: int = 64, seed: int = 0) -> nn.Module:
    """Adam on cross-entropy; latent weights are clipped to [−1, 1] after each step (BNN
    practice: the STE passes no gradient beyond it). Returns the model in eval mode."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(xt), generator=g)
        for i in range(0, len(xt), batch):
            idx = order[i : i + batch]
            opt.zero_grad()
            loss_fn(model(xt[idx]), yt[idx]).backward()
            opt.step()
            with torch.no_grad():
                for name, p in model.named_parameters():
                    if name.endswith("weight") and p.dim() > 1:
                        p.clamp_(-1, 1)
        sched.step()
    return model.eval()


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.asarray(logits).argmax(axis=1) == labels))


def calibrate_batchnorm(model: nn.Module, x: np.ndarray) -> nn.Module:
    """Set every batchnorm's running mean and variance to the statistics of ``x`` passed
    through the model (a cumulative average over one pass, no weights change), so that
    untrained test models spread their activations over the quantizer's levels rather than
    saturate. Returns the model in eval mode."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        model(torch.as_tensor(x, dtype=torch.float32))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    return model.eval()
