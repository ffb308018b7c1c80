"""A small GPT (decoder-only Transformer) in the spirit of nanoGPT, for module 05.

Lesson 05.3 writes this model cell by cell and checks that it gives the same logits as
this file; lesson 05.5 and the assignment import it from here. Read top to bottom:
config → attention → MLP → block → GPT (forward, generate with a KV cache) → training
(AdamW, warm-up + cosine decay, clipping) → evaluation in bits/char.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

Cache = list[tuple[torch.Tensor, torch.Tensor]]


@dataclass
class GPTConfig:
    vocab_size: int
    block_size: int = 128     # longest context the model sees (learned positions)
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True
    causal: bool = True       # False: every position attends to every other (an encoder, e.g. a ViT)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        if cfg.n_embd % cfg.n_head:
            raise ValueError(f"n_embd={cfg.n_embd} debe ser múltiplo de n_head={cfg.n_head}")
        self.n_head = cfg.n_head
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)  # q, k, v in one matmul
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.dropout = cfg.dropout
        self.causal = cfg.causal
        self.resid_drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        # (B, T, C) -> (B, heads, T, C / heads)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        if past is not None:  # KV cache: keys and values of earlier positions are reused
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        # with a cache and one new token (T == 1) every cached position is visible: no mask needed
        causal = self.causal and T > 1
        if causal and past is not None:
            S = k.shape[2]
            mask = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(diagonal=S - T)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                               dropout_p=self.dropout if self.training else 0.0)
        else:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=causal,
                                               dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # merge the heads
        return self.resid_drop(self.c_proj(y)), (k, v)


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.c_proj(F.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-LayerNorm block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        a, kv = self.attn(self.ln_1(x), past)
        x = x + a
        return x + self.mlp(self.ln_2(x)), kv


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)   # token embeddings
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)   # learned absolute positions
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2: scaled init of the residual projections
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_params(self) -> int:
        """Parameters without the position embeddings (as nanoGPT counts them)."""
        return sum(p.numel() for p in self.parameters()) - self.wpe.weight.numel()

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                past: Cache | None = None) -> tuple[torch.Tensor, torch.Tensor | None, Cache]:
        """Logits (B, T, vocab), the mean cross-entropy in nats when targets are given, and the cache."""
        B, T = idx.shape
        start = 0 if past is None else past[0][0].shape[2]
        if start + T > self.cfg.block_size:
            raise ValueError(f"la secuencia ({start + T} posiciones) supera block_size={self.cfg.block_size}")
        pos = torch.arange(start, start + T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        cache: Cache = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, None if past is None else past[i])
            cache.append(kv)
        logits = self.lm_head(self.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss, cache

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, use_cache: bool = True,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Append max_new_tokens sampled tokens (temperature 0 = greedy).

        Without a cache every step re-reads the last block_size tokens (nanoGPT). With use_cache
        each step feeds only the newest token and reuses the keys/values of the others; the
        tokens are identical while the text fits in block_size. Then the window must slide, and
        because positions are absolute (learned), cached keys cannot be shifted: the cache is
        rebuilt from the last block_size // 2 tokens (a shorter context, so the tokens may differ
        from the no-cache run from there on).
        """
        self.eval()
        B = self.cfg.block_size
        past: Cache | None = None
        for _ in range(max_new_tokens):
            if not use_cache:
                logits, _, _ = self(idx[:, -B:])
            elif past is None or past[0][0].shape[2] >= B:
                logits, _, past = self(idx[:, -(B if past is None else B // 2):])
            else:
                logits, _, past = self(idx[:, -1:], past=past)
            next_id = sample_next(logits[:, -1, :], temperature, top_k, top_p, generator)
            idx = torch.cat([idx, next_id], dim=1)
        return idx


def filter_logits(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Set to -inf every logit outside the top k and outside the smallest set with probability ≥ top_p."""
    logits = logits.clone()
    if top_k is not None:
        kth = torch.topk(logits, min(top_k, logits.size(-1)), dim=-1).values[..., -1:]
        logits[logits < kth] = float("-inf")
    if top_p is not None:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        cum = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
        drop = cum - torch.softmax(sorted_logits, dim=-1) >= top_p  # mass before this token already ≥ p
        sorted_logits[drop] = float("-inf")
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    return logits


def sample_next(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                top_p: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """One token id per row of logits (B, vocab) → (B, 1)."""
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    probs = torch.softmax(filter_logits(logits / temperature, top_k, top_p), dim=-1)
    return torch.multinomial(probs, 1, generator=generator)


# ---------------------------------------------------------------- training

@dataclass
class TrainConfig:
    max_steps: int = 2000
    batch_size: int = 32
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_steps: int = 100
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.99)
    grad_clip: float = 1.0
    eval_every: int = 250
    eval_windows: int = 64       # random held-out windows per intermediate evaluation
    max_seconds: float | None = None  # optional wall-clock budget (stops early)
    seed: int = 0
    bf16: bool = False           # mixed precision: matmuls in bfloat16 (torch.autocast), weights stay float32


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to cfg.lr, then cosine decay to cfg.min_lr at cfg.max_steps."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps))
    return cfg.min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (cfg.lr - cfg.min_lr)


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on biases, LayerNorm gains or… 1-D tensors)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas)


def get_batch(ids: torch.Tensor, block_size: int, batch_size: int,
              generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows of block_size tokens and the same windows shifted by one."""
    if len(ids) <= block_size:
        raise ValueError(f"el texto ({len(ids)} tokens) es más corto que block_size={block_size}")
    start = torch.randint(len(ids) - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size)
    x = ids[start[:, None] + offsets]
    y = ids[start[:, None] + offsets + 1]
    return x, y


@dataclass
class History:
    steps: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)   # nats, mean over the last eval_every steps
    val_loss: list[float] = field(default_factory=list)     # nats, on eval_windows random held-out windows
    tokens_seen: int = 0
    train_seconds: float = 0.0


def train(model: GPT, train_ids: Any, val_ids: Any, cfg: TrainConfig, device: str = "cpu",
          on_eval: Callable[[int, History], None] | None = None, progress: bool = True) -> History:
    """Train a GPT on one token stream; returns the loss history (evaluation time not counted)."""
    from tqdm.auto import tqdm

    train_t = torch.as_tensor(np.asarray(train_ids), dtype=torch.long)
    val_t = torch.as_tensor(np.asarray(val_ids), dtype=torch.long)
    gen = torch.Generator().manual_seed(cfg.seed)
    eval_gen = torch.Generator().manual_seed(cfg.seed + 1)
    opt = make_optimizer(model, cfg)
    model.to(device).train()
    hist, running, start = History(), [], time.perf_counter()
    T = model.cfg.block_size
    bar = tqdm(range(cfg.max_steps), desc="entrenando", disable=not progress, leave=False)
    for step in bar:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        x, y = get_batch(train_t, T, cfg.batch_size, gen)
        with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=cfg.bf16):
            _, loss, _ = model(x.to(device), y.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        running.append(loss.item())
        hist.tokens_seen += x.numel()
        last = step == cfg.max_steps - 1
        out_of_time = cfg.max_seconds is not None and hist.train_seconds + time.perf_counter() - start > cfg.max_seconds
        if (step + 1) % cfg.eval_every == 0 or last or out_of_time:
            hist.train_seconds += time.perf_counter() - start
            x, y = get_batch(val_t, T, cfg.eval_windows, eval_gen)
            with torch.no_grad():
                model.eval()
                _, vloss, _ = model(x.to(device), y.to(device))
                model.train()
            hist.steps.append(step + 1)
            hist.seconds.append(hist.train_seconds)
            hist.train_loss.append(float(np.mean(running)))
            hist.val_loss.append(vloss.item())
            running = []
            bar.set_postfix(val=f"{vloss.item():.3f}")
            if on_eval is not None:
                on_eval(step + 1, hist)
                model.train()  # the callback may have generated text (generate() switches to eval)
            start = time.perf_counter()
            if out_of_time:
                break
    model.eval()
    return hist


@torch.no_grad()
def evaluate(model: GPT, ids: Any, stride: int | None = None, batch_size: int = 64,
             device: str = "cpu") -> float:
    """Mean cross-entropy in nats over a whole token stream.

    stride=None: non-overlapping windows of block_size (every position once, contexts of
    0..block_size-1 tokens, what nanoGPT's random windows measure on average). A smaller stride
    slides the window and scores only the new positions, so (after the first window) every
    token sees at least block_size - stride tokens of context.
    """
    ids_t = torch.as_tensor(np.asarray(ids), dtype=torch.long)
    T = model.cfg.block_size
    stride = stride or T
    if not 0 < stride <= T:
        raise ValueError(f"stride debe estar entre 1 y block_size={T}")
    starts = list(range(0, len(ids_t) - 1 - T + 1, stride))
    if not starts:
        raise ValueError(f"el texto ({len(ids_t)} tokens) es más corto que block_size + 1")
    model.eval().to(device)
    total, count = 0.0, 0
    offsets = torch.arange(T)
    for i in range(0, len(starts), batch_size):
        s = torch.tensor(starts[i:i + batch_size])
        x = ids_t[s[:, None] + offsets].to(device)
        y = ids_t[s[:, None] + offsets + 1].to(device)
        logits, _, _ = model(x)
        nll = F.cross_entropy(logits.transpose(1, 2), y, reduction="none")  # (B, T)
        keep = torch.zeros(T, dtype=torch.bool, device=device)
        keep[T - stride:] = True
        first = (s == 0).to(device)[:, None]  # the first window scores all its positions
        mask = keep[None, :] | first
        total += nll[mask].double().sum().item()
        count += int(mask.sum().item())
    # the tail after the last full window
    tail = len(ids_t) - 1 - (starts[-1] + T)
    if tail > 0:
        x = ids_t[-T - 1:-1][None].to(device)
        y = ids_t[-T:][None].to(device)
        logits, _, _ = model(x)
        nll = F.cross_entropy(logits.transpose(1, 2), y, reduction="none")[0, -tail:]
        total += nll.double().sum().item()
        count += tail
    return total / count
