import random

import numpy as np
import pytest
import torch

from course_utils import setup


def test_seed_everything_is_reproducible():
    setup.seed_everything(123)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    setup.seed_everything(123)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b


def test_choose_device():
    assert setup.choose_device("cpu") == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert setup.choose_device("auto") == expected
    with pytest.raises(ValueError, match="DEVICE debe ser"):
        setup.choose_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="only meaningful without a GPU")
def test_cuda_without_gpu_is_a_clear_spanish_error():
    with pytest.raises(RuntimeError, match="no ve ninguna GPU"):
        setup.choose_device("cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_device_when_present():
    env = setup.setup_notebook(device="cuda", quiet=True)
    assert env.device == "cuda" and env.gpu_name


def test_detect_environment(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delenv("BINDER_SERVICE_HOST", raising=False)
    monkeypatch.delenv("BINDER_REPO_URL", raising=False)
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    assert setup.detect_environment() == "local"
    monkeypatch.setenv("BINDER_SERVICE_HOST", "x")
    assert setup.detect_environment() == "binder"
    monkeypatch.setenv("COLAB_RELEASE_TAG", "x")
    assert setup.detect_environment() == "colab"


def test_setup_notebook_prints_one_summary_line(capsys):
    env = setup.setup_notebook(seed=7, device="cpu")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "dispositivo=cpu" in out[0] and "semilla=7" in out[0]
    assert env.headless  # COURSE_HEADLESS is set by conftest
    assert "torch" in setup.versions()


def test_tensorflow_is_seeded_when_loaded():
    import tensorflow as tf

    setup.seed_everything(5)
    a = tf.random.uniform((3,)).numpy()
    setup.seed_everything(5)
    b = tf.random.uniform((3,)).numpy()
    assert np.array_equal(a, b)


def test_import_tensorflow_keeps_the_cpp_start_up_lines_out():
    """TensorFlow's oneDNN/CUDA lines are written before TF_CPP_MIN_LOG_LEVEL is read (issue 11)."""
    import subprocess
    import sys

    code = "from course_utils import import_tensorflow\ntf, keras = import_tensorflow()\nprint(keras.__version__)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert not any(s in proc.stderr for s in ("oneDNN", "cuda", "cuInit", "absl")), proc.stderr
    plain = subprocess.run([sys.executable, "-c", "import tensorflow"], capture_output=True, text=True, timeout=300)
    assert "oneDNN" in plain.stderr or "cuda" in plain.stderr.lower()  # what a plain import shows here


def test_thread_policy(monkeypatch):
    import torch

    from course_utils.setup import set_threads

    default = torch.get_num_threads()
    try:
        monkeypatch.setenv("COURSE_THREADS", "1")
        assert set_threads() == 1 == torch.get_num_threads()
        monkeypatch.delenv("COURSE_THREADS")
        torch.set_num_threads(default)
        assert set_threads() == default  # without COURSE_THREADS, PyTorch's own choice stays
        monkeypatch.setenv("COURSE_THREADS", "dos")
        assert set_threads() == default  # an unusable value is ignored
    finally:
        torch.set_num_threads(default)
