"""course_utils.gpt: shapes, KV cache, sampling filters, schedule, evaluation and a short training."""

import math

import numpy as np
import pytest
import torch

from course_utils.gpt import GPT, Block, GPTConfig, TrainConfig, evaluate, filter_logits, lr_at, train


def tiny(**kw) -> GPT:
    torch.manual_seed(0)
    cfg = dict(vocab_size=11, block_size=16, n_layer=2, n_head=2, n_embd=16)
    cfg.update(kw)
    return GPT(GPTConfig(**cfg)).eval()


def test_forward_shapes_tying_and_initial_loss():
    model = tiny()
    idx, targets = torch.randint(0, 11, (2, 3, 16))
    logits, loss, cache = model(idx, targets)
    assert logits.shape == (3, 16, 11) and len(cache) == 2
    assert model.lm_head.weight is model.wte.weight
    assert abs(loss.item() - math.log(11)) < 0.1  # small init: close to uniform
    with pytest.raises(ValueError, match="block_size"):
        model(torch.zeros(1, 17, dtype=torch.long))


def test_cache_gives_the_same_logits_one_token_or_a_chunk_at_a_time():
    model = tiny()
    idx = torch.randint(0, 11, (2, 12))
    full, _, _ = model(idx)
    _, _, past = model(idx[:, :5])
    chunk, _, past = model(idx[:, 5:9], past=past)
    torch.testing.assert_close(chunk, full[:, 5:9], atol=1e-5, rtol=0)
    for t in range(9, 12):
        step, _, past = model(idx[:, t:t + 1], past=past)
        torch.testing.assert_close(step[:, 0], full[:, t], atol=1e-5, rtol=0)


def test_encoder_blocks_see_the_future():
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=16)
    causal = Block(cfg).eval()
    encoder = Block(GPTConfig(**{**cfg.__dict__, "causal": False})).eval()
    encoder.load_state_dict(causal.state_dict())
    x = torch.randn(1, 8, 16)
    y = x.clone()
    y[0, -1] = torch.randn(16)  # change only the last position
    assert torch.equal(causal(x)[0][0, 0], causal(y)[0][0, 0])
    assert not torch.allclose(encoder(x)[0][0, 0], encoder(y)[0][0, 0])


def test_generate_identical_with_and_without_cache_inside_the_window():
    model = tiny()
    prompt = torch.tensor([[1, 2, 3]])
    a = model.generate(prompt, 13, temperature=0, use_cache=True)
    b = model.generate(prompt, 13, temperature=0, use_cache=False)
    assert torch.equal(a, b) and a.shape == (1, 16)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    a = model.generate(prompt, 13, temperature=1.0, top_k=5, use_cache=True, generator=g1)
    b = model.generate(prompt, 13, temperature=1.0, top_k=5, use_cache=False, generator=g2)
    assert torch.equal(a, b)
    long = model.generate(prompt, 40, temperature=0, use_cache=True)  # the window slides
    assert long.shape == (1, 43)


def test_filter_logits_top_k_and_top_p():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = torch.isfinite(filter_logits(logits, top_k=2))
    assert kept.tolist() == [[True, True, False, False]]
    assert torch.isfinite(filter_logits(logits, top_p=0.5)).tolist() == [[True, False, False, False]]
    assert torch.isfinite(filter_logits(logits, top_p=0.8)).tolist() == [[True, True, False, False]]
    assert torch.isfinite(filter_logits(logits, top_p=0.81)).tolist() == [[True, True, True, False]]
    shuffled = logits[:, [2, 0, 3, 1]]
    assert torch.isfinite(filter_logits(shuffled, top_p=0.8)).tolist() == [[False, True, False, True]]


def test_learning_rate_schedule():
    cfg = TrainConfig(max_steps=100, warmup_steps=10, lr=1e-3, min_lr=1e-4)
    assert lr_at(0, cfg) == pytest.approx(1e-4)
    assert lr_at(9, cfg) == pytest.approx(1e-3)
    assert lr_at(55, cfg) == pytest.approx(0.5 * (1e-3 + 1e-4))
    assert lr_at(100, cfg) == pytest.approx(1e-4)


@pytest.mark.parametrize("stride", [None, 4, 16])
def test_evaluate_scores_every_position_once(stride):
    model = tiny()
    ids = np.random.default_rng(0).integers(0, 11, 101)
    got = evaluate(model, ids, stride=stride, batch_size=3)
    # reference: position t predicted from the tokens the stride rule gives it
    x = torch.as_tensor(ids)
    nll = []
    T, s = 16, stride or 16
    starts = list(range(0, len(ids) - 1 - T + 1, s))
    scored = set()
    for st in starts:
        logp = torch.log_softmax(model(x[st:st + T][None])[0][0], -1)
        first = T if st == 0 else s
        for j in range(T - first, T):
            scored.add(st + j + 1)
            nll.append(-logp[j, x[st + j + 1]].item())
    tail_start = starts[-1] + T + 1
    logp = torch.log_softmax(model(x[-T - 1:-1][None])[0][0], -1)
    for t in range(tail_start, len(ids)):
        j = t - (len(ids) - T)
        scored.add(t)
        nll.append(-logp[j, x[t]].item())
    assert scored == set(range(1, len(ids)))
    assert got == pytest.approx(np.mean(nll), abs=1e-6)


def test_training_learns_a_repeating_text():
    model = tiny(vocab_size=5)
    ids = np.tile(np.arange(5), 200)
    hist = train(model, ids, ids, TrainConfig(max_steps=120, batch_size=8, lr=1e-2, warmup_steps=5,
                                              eval_every=60), progress=False)
    assert hist.steps == [60, 120] and hist.tokens_seen == 120 * 8 * 16
    assert hist.val_loss[-1] < 0.2 < math.log(5)


def test_bf16_training_runs_and_keeps_float32_weights():
    model = tiny(vocab_size=5)
    ids = np.tile(np.arange(5), 200)
    hist = train(model, ids, ids, TrainConfig(max_steps=120, batch_size=8, lr=1e-2, warmup_steps=5,
                                              eval_every=60, bf16=True), progress=False)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert hist.val_loss[-1] < 0.3
