"""A small PyTorch training loop: progress bar, history, early stopping, checkpoints.

    history = fit(model, train_loader, loss_fn, optimizer, epochs=10,
                  val_loader=val_loader, device="cuda", patience=3,
                  checkpoint="build/best.pt")

Each epoch logs `train_loss`, `train_acc` (classification) and, with a
validation loader, `val_loss` and `val_acc`. With `patience`, training stops
when `val_loss` has not improved for that many epochs and the best weights are
restored. Everything here is plain PyTorch so students can read it in one go.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

Batch = tuple[torch.Tensor, torch.Tensor]


def _accuracy_count(out: torch.Tensor, y: torch.Tensor) -> int | None:
    """Correct predictions for class logits (N, C) or binary logits (N,)/(N, 1); None otherwise."""
    if y.dtype in (torch.int64, torch.int32) and out.ndim == 2 and out.shape[1] > 1:
        return int((out.argmax(dim=1) == y).sum())
    binary_targets = bool(((y == 0) | (y == 1)).all())
    if binary_targets and out.numel() == y.numel() and (out.ndim == 1 or out.shape[-1] == 1):
        pred = (out.reshape(-1) > 0).to(y.dtype)  # logits: > 0 means probability > 0.5
        return int((pred == y.reshape(-1)).sum())
    return None


def evaluate(model: nn.Module, loader: Iterable[Batch], loss_fn: Callable, device: str = "cpu") -> dict[str, float]:
    """Mean loss (and accuracy when it makes sense) of `model` on `loader`, without gradients."""
    model.eval()
    total, loss_sum, correct, has_acc = 0, 0.0, 0, True
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            out = model(x)
            loss_sum += float(loss_fn(out, y)) * len(x)
            total += len(x)
            c = _accuracy_count(out, y)
            has_acc = has_acc and c is not None
            correct += c or 0
    if total == 0:
        raise ValueError("El DataLoader de evaluación está vacío.")
    result = {"loss": loss_sum / total}
    if has_acc:
        result["acc"] = correct / total
    return result


def fit(
    model: nn.Module,
    train_loader: Iterable[Batch],
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    val_loader: Iterable[Batch] | None = None,
    device: str = "cpu",
    patience: int | None = None,
    checkpoint: str | Path | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    progress: bool = True,
) -> dict[str, list[float]]:
    """Train `model` and return its history (lists per metric, one value per epoch)."""
    if epochs < 1:
        raise ValueError(f"epochs debe ser ≥ 1, no {epochs}.")
    model.to(device)
    history: dict[str, list[float]] = {}
    best_loss, best_state, waited = float("inf"), None, 0
    bar = tqdm(range(1, epochs + 1), desc="entrenando", unit="época", disable=not progress)
    for epoch in bar:
        start = time.perf_counter()
        model.train()
        total, loss_sum, correct, has_acc = 0, 0.0, 0, True
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            out = model(x)
            loss = loss_fn(out, y)
            loss.backward()
            optimizer.step()
            loss_sum += float(loss.detach()) * len(x)
            total += len(x)
            c = _accuracy_count(out.detach(), y)
            has_acc = has_acc and c is not None
            correct += c or 0
        if scheduler is not None:
            scheduler.step()
        row = {"train_loss": loss_sum / max(total, 1), "epoch_time": time.perf_counter() - start}
        if has_acc:
            row["train_acc"] = correct / max(total, 1)
        if val_loader is not None:
            row.update({f"val_{k}": v for k, v in evaluate(model, val_loader, loss_fn, device).items()})
        for k, v in row.items():
            history.setdefault(k, []).append(v)
        bar.set_postfix({k: f"{v:.4f}" for k, v in row.items() if k != "epoch_time"})

        monitored = row.get("val_loss", row["train_loss"])
        if monitored < best_loss:
            best_loss, waited = monitored, 0
            best_state = copy.deepcopy(model.state_dict())
            if checkpoint is not None:
                Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
                torch.save({"epoch": epoch, "model": best_state, "loss": best_loss}, checkpoint)
        else:
            waited += 1
            if patience is not None and waited >= patience:
                print(f"⏹ Parada temprana (early stopping) en la época {epoch}: "
                      f"la pérdida no mejora desde hace {patience} épocas.")
                break
    if patience is not None and best_state is not None:
        model.load_state_dict(best_state)
    return history


def load_checkpoint(model: nn.Module, path: str | Path, device: str = "cpu") -> dict:
    """Load weights saved by `fit(checkpoint=...)` into `model`; return the checkpoint dict."""
    ckpt = torch.load(path, map_location=device, weights_only=True)
    model.load_state_dict(ckpt["model"])
    return ckpt
