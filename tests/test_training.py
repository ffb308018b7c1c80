import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_utils.training import evaluate, fit, load_checkpoint


def _blobs(n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return TensorDataset(x, y)


def test_fit_learns_a_separable_problem_and_checkpoints(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    train = DataLoader(_blobs(), batch_size=32, shuffle=True)
    val = DataLoader(_blobs(seed=1), batch_size=64)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    ckpt = tmp_path / "best.pt"
    hist = fit(model, train, nn.CrossEntropyLoss(), opt, epochs=8, val_loader=val, checkpoint=ckpt, progress=False)
    assert set(hist) >= {"train_loss", "train_acc", "val_loss", "val_acc", "epoch_time"}
    assert len(hist["train_loss"]) == 8
    assert hist["val_acc"][-1] > 0.95
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    fresh = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    info = load_checkpoint(fresh, ckpt)
    assert info["loss"] == pytest.approx(min(hist["val_loss"]))
    assert evaluate(fresh, val, nn.CrossEntropyLoss())["loss"] == pytest.approx(info["loss"], rel=1e-5)


def test_early_stopping_restores_best_weights(capsys):
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    data = _blobs()
    train = DataLoader(data, batch_size=400)
    # Validation labels are the opposite: the better the fit, the worse the validation loss.
    flipped = DataLoader(TensorDataset(data.tensors[0], 1 - data.tensors[1]), batch_size=400)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    hist = fit(model, train, nn.CrossEntropyLoss(), opt, epochs=30, val_loader=flipped, patience=2, progress=False)
    assert len(hist["val_loss"]) == 3  # best at epoch 1, then 2 epochs without improvement
    assert "Parada temprana" in capsys.readouterr().out
    best = min(hist["val_loss"])
    assert best == hist["val_loss"][0]
    assert evaluate(model, flipped, nn.CrossEntropyLoss())["loss"] == pytest.approx(best, rel=1e-5)


def test_binary_logits_accuracy_and_regression_has_no_accuracy():
    x = torch.randn(64, 3)
    y_bin = (x[:, 0] > 0).float().unsqueeze(1)
    model = nn.Linear(3, 1)
    hist = fit(model, [(x, y_bin)], nn.BCEWithLogitsLoss(), torch.optim.SGD(model.parameters(), lr=1.0),
               epochs=20, progress=False)
    assert hist["train_acc"][-1] > 0.9
    y_reg = x.sum(dim=1, keepdim=True) * 3.3
    reg = nn.Linear(3, 1)
    hist = fit(reg, [(x, y_reg)], nn.MSELoss(), torch.optim.SGD(reg.parameters(), lr=0.1), epochs=2, progress=False)
    assert "train_acc" not in hist


def test_bad_arguments_are_spanish():
    with pytest.raises(ValueError, match="epochs debe ser"):
        fit(nn.Linear(1, 1), [], nn.MSELoss(), torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1), epochs=0)
    with pytest.raises(ValueError, match="vacío"):
        evaluate(nn.Linear(1, 1), [], nn.MSELoss())
