"""Tests for the data layer: downloads against a local HTTP server, mirrors, cache, fallbacks.

Everything runs offline: the "internet" is a small HTTP server on 127.0.0.1 that
serves a good file, a wrong one, a truncated one, a 404 and a slow answer. Each
test uses its own cache (tmp_path), so the repository's data/ is never written.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import random
import socket
import struct
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from course_utils import data, download
from course_utils.data import DataUnavailableError, DatasetSpec
from course_utils.download import FileSpec
from course_utils.report import read_entries

PAYLOAD = random.Random(0).randbytes(150_000)
SHA = hashlib.sha256(PAYLOAD).hexdigest()
TOY_PATH = "toy/toy.bin"
SLOW_S = 2.0  # the slow route waits this long; the tests' timeout is 0.3 s
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_shared = pytest.mark.skipif(not (SHARED_DATA / "mnist").is_dir(), reason=f"no hay espejo en {SHARED_DATA}")


class Handler(http.server.BaseHTTPRequestHandler):
    """Routes: /good/… /bad/… /short/… /long/… /missing/… /slow/… /mirror/<path>."""

    log: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        Handler.log.append(self.path)
        route = self.path.split("/")[1]
        try:
            if route in ("good", "mirror"):
                self._send(PAYLOAD)
            elif route == "bad":
                self._send(bytes([PAYLOAD[0] ^ 1]) + PAYLOAD[1:])  # same size, other bytes
            elif route == "long":
                self._send(PAYLOAD + b"extra")
            elif route == "short":
                self._send(PAYLOAD[: len(PAYLOAD) // 2], declared=len(PAYLOAD))  # then hang up
            elif route == "slow":
                time.sleep(SLOW_S)
                self._send(PAYLOAD)
            else:
                self.send_error(404, "Not Found")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def _send(self, body: bytes, declared: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(declared or len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    """A fresh cache per test, no mirror, network allowed, short timeout and backoff."""
    root = tmp_path / "cache"
    monkeypatch.setenv("COURSE_DATA_DIR", str(root))
    for var in ("COURSE_DATA_MIRROR", "COURSE_OFFLINE", "COURSE_REPORT_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COURSE_DOWNLOAD_TIMEOUT", "0.3")
    monkeypatch.setattr(download, "BACKOFF_S", 0.01)
    Handler.log.clear()
    return root


@pytest.fixture
def toy(server, monkeypatch):
    """Register a one-file dataset 'toy' whose URLs are the given server routes, in order."""

    def use(*routes: str, base: str = server) -> FileSpec:
        spec = FileSpec(TOY_PATH, SHA, len(PAYLOAD), tuple(f"{base}/{r}/{TOY_PATH}" for r in routes))
        monkeypatch.setitem(data.DATASETS, "toy", DatasetSpec("toy", "Juguete", "prueba", "ninguna", "", (spec,)))
        return spec

    return use


def files_in(root: Path) -> list[str]:
    """Every file under root (hidden temp files included), relative, sorted."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_only_good_file(cache: Path) -> None:
    assert files_in(cache) == [TOY_PATH]
    assert (cache / TOY_PATH).read_bytes() == PAYLOAD


# --- downloads against the local server ----------------------------------------------------------

def test_good_file_is_downloaded_and_verified(toy, cache):
    toy("good")
    paths = data.fetch_dataset("toy")
    assert paths == [cache / TOY_PATH]
    assert_only_good_file(cache)
    assert Handler.log == [f"/good/{TOY_PATH}"]


@pytest.mark.parametrize(
    "route, reason, requests",
    [
        ("bad", "sha256 no coincide", 1),  # a wrong file is not asked for again
        ("long", "más bytes", 1),
        ("short", "incompleto", 1 + download.RETRIES),  # transient: retried
        ("missing", "HTTP 404", 1),
        ("slow", "tiempo de espera agotado", 1 + download.RETRIES),
    ],
)
def test_failed_download_gives_spanish_error_and_clean_cache(toy, cache, route, reason, requests):
    spec = toy(route)
    start = time.perf_counter()
    with pytest.raises(DataUnavailableError) as err:
        data.fetch_dataset("toy")
    message = str(err.value)
    assert reason in message
    assert "No se pudo obtener el conjunto de datos «toy»" in message
    assert spec.urls[0] in message and str(cache) in message and "COURSE_DATA_MIRROR" in message
    assert files_in(cache) == []  # no partial, corrupt or temporary file left behind
    assert len(Handler.log) == requests
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("bad_route", ["bad", "long", "short", "missing", "slow"])
def test_next_url_is_tried_after_a_failure(toy, cache, bad_route):
    spec = toy(bad_route, "good")
    path, source, where = download.fetch_file(spec)
    assert (path, source, where) == (cache / TOY_PATH, "download", spec.urls[1])
    assert_only_good_file(cache)


def test_unreachable_server_skips_the_network_for_the_remaining_files(monkeypatch, cache):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there: connection refused
    files = tuple(FileSpec(f"toy/{n}.bin", SHA, len(PAYLOAD), (f"http://127.0.0.1:{port}/{n}.bin",)) for n in "ab")
    monkeypatch.setitem(data.DATASETS, "toy", DatasetSpec("toy", "Juguete", "prueba", "ninguna", "", files))
    with pytest.raises(DataUnavailableError) as err:
        data.fetch_dataset("toy")
    assert "no se pudo conectar" in str(err.value)
    assert "toy/b.bin: no se intentó la red" in str(err.value)
    assert "toy/a.bin" in str(err.value) and "toy/b.bin" in str(err.value)


# --- mirrors -------------------------------------------------------------------------------------

def make_mirror(root: Path, content: bytes = PAYLOAD) -> Path:
    (root / "toy").mkdir(parents=True)
    (root / TOY_PATH).write_bytes(content)
    return root


@pytest.mark.parametrize("as_uri", [False, True])
def test_mirror_folder_is_used_offline(toy, cache, tmp_path, monkeypatch, as_uri):
    mirror = make_mirror(tmp_path / "mirror")
    monkeypatch.setenv("COURSE_DATA_MIRROR", mirror.as_uri() if as_uri else str(mirror))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    spec = toy("good")
    assert download.fetch_file(spec)[1:] == ("mirror", str(mirror))
    assert download.fetch_file(spec)[1] == "cache"  # the copy in the cache is used next time
    assert_only_good_file(cache)
    assert Handler.log == []


def test_corrupt_mirror_file_is_skipped(toy, cache, tmp_path, monkeypatch):
    mirror = make_mirror(tmp_path / "mirror", PAYLOAD[:-10] + b"0123456789")
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(mirror))
    spec = toy("good")
    assert download.fetch_file(spec)[1] == "download"
    assert_only_good_file(cache)
    assert (mirror / TOY_PATH).read_bytes() != PAYLOAD  # the mirror itself is never modified


def test_mirror_url_is_tried_before_the_canonical_urls(toy, cache, server, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_MIRROR", f"{server}/mirror/")
    spec = toy("good")
    assert download.fetch_file(spec)[1:] == ("mirror", f"{server}/mirror")
    assert Handler.log == [f"/mirror/{TOY_PATH}"]
    assert_only_good_file(cache)


# --- cache -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"x" + PAYLOAD[1:], PAYLOAD[:1000], b""], ids=["dañado", "parcial", "vacío"])
def test_corrupt_cached_file_is_deleted_and_fetched_again(toy, cache, capsys, content):
    (cache / "toy").mkdir(parents=True)
    (cache / TOY_PATH).write_bytes(content)
    spec = toy("good")
    assert download.fetch_file(spec)[1] == "download"
    assert "está dañado o incompleto" in capsys.readouterr().out
    assert_only_good_file(cache)


def test_corrupt_cached_file_is_deleted_even_when_nothing_replaces_it(toy, cache, monkeypatch):
    (cache / "toy").mkdir(parents=True)
    (cache / TOY_PATH).write_bytes(PAYLOAD[:500])
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    toy("good")
    with pytest.raises(DataUnavailableError):
        data.fetch_dataset("toy")
    assert files_in(cache) == []


def test_offline_makes_no_network_calls(toy, cache, server, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setenv("COURSE_DATA_MIRROR", f"{server}/mirror")  # a mirror URL is network too

    def no_network(*args, **kwargs):
        raise AssertionError("se usó la red con COURSE_OFFLINE=1")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    toy("good")
    with pytest.raises(DataUnavailableError) as err:
        data.fetch_dataset("toy")
    assert "COURSE_OFFLINE=1: no se usó la red" in str(err.value)
    assert Handler.log == [] and files_in(cache) == []


def test_default_cache_dir(monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR")
    in_checkout = (download.REPO_DATA_DIR / "README.md").is_file()
    expected = download.REPO_DATA_DIR if in_checkout else Path.home() / ".cache" / "course_utils" / "data"
    assert download.cache_dir() == expected


def test_invalid_timeout_is_explained(monkeypatch):
    monkeypatch.setenv("COURSE_DOWNLOAD_TIMEOUT", "rápido")
    with pytest.raises(ValueError, match="COURSE_DOWNLOAD_TIMEOUT debe ser un número"):
        download.download_timeout()


def test_describe_lists_datasets_and_cache_state(toy, cache):
    toy("good")

    def toy_line() -> str:
        return next(line for line in data.describe().splitlines() if line.startswith("toy "))

    assert toy_line().endswith(" no")
    data.fetch_dataset("toy")
    assert toy_line().endswith(" sí")
    table = data.describe()
    for text in ("mnist", "fashion-mnist", "tinyshakespeare", "quijote", "MIT", "Gutenberg", str(cache)):
        assert text in table


# --- loaders -----------------------------------------------------------------------------------------

def test_mnist_fallback_offline(cache, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setenv("COURSE_REPORT_FILE", str(tmp_path / "report.jsonl"))
    ds = data.load_mnist()
    assert "AVISO" in capsys.readouterr().out
    assert ds.source == "fallback" and ds.name == "mnist"
    assert ds.x_train.shape == (4000, 28, 28) and ds.x_test.shape == (1000, 28, 28)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int64 and ds.x_train.max() == 255
    assert np.bincount(ds.y_train).tolist() == [400] * 10  # stratified
    assert np.bincount(ds.y_test).tolist() == [100] * 10
    assert ds.classes == [str(i) for i in range(10)]
    again = data.load_mnist()
    assert np.array_equal(ds.x_test, again.x_test) and np.array_equal(ds.y_train, again.y_train)
    _, notes = read_entries(tmp_path / "report.jsonl")
    assert notes[0]["dataset"] == "mnist" and notes[0]["source"] == "fallback" and notes[0]["detail"]
    assert files_in(cache) == []


def test_mnist_fallback_after_failed_downloads(server, monkeypatch, cache):
    mnist = data.DATASETS["mnist"]
    files = tuple(dataclasses.replace(f, urls=(f"{server}/missing/{f.name}",)) for f in mnist.files)
    monkeypatch.setitem(data.DATASETS, "mnist", dataclasses.replace(mnist, files=files))
    assert data.load_mnist().source == "fallback"
    assert len(Handler.log) == 4 and files_in(cache) == []


def test_mnist_without_fallback_raises_spanish_error(monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(DataUnavailableError) as err:
        data.load_mnist(fallback=False)
    message = str(err.value)
    for text in ("mnist/train-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz",
                 "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz", "Cómo solucionarlo"):
        assert text in message


@pytest.mark.parametrize("load", [data.load_fashion_mnist, lambda: data.load_text("quijote", fallback=False)])
def test_no_fallback_for_fashion_mnist_and_texts_without_fallback(monkeypatch, load):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match="No se pudo obtener el conjunto de datos"):
        load()


# The sha256 values of shared/data/MANIFEST.md, written out again so that a wrong registry entry fails too.
MANIFEST_SHA = {"quijote": "485be638d952a55acbb944c964d0429418ca2da711df7bc48a36c612129ead9b",
                "tinyshakespeare": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"}


@pytest.mark.parametrize("name, start, length", [("quijote", "El ingenioso hidalgo don Quijote de la Mancha", None),
                                                 ("tinyshakespeare", "First Citizen:", 1115394)])
def test_texts_load_offline_from_the_packaged_copy(cache, tmp_path, monkeypatch, capsys, name, start, length):
    monkeypatch.setenv("COURSE_OFFLINE", "1")  # and, from the fixture: an empty cache and no mirror
    monkeypatch.setenv("COURSE_REPORT_FILE", str(tmp_path / "report.jsonl"))
    spec = data.DATASETS[name]
    raw, where = data._packaged_text(spec, DataUnavailableError("sin datos"))
    assert hashlib.sha256(raw).hexdigest() == MANIFEST_SHA[name] == spec.files[0].sha256
    full = data.load_text(name, strip_header=False)
    assert full == raw.decode("utf-8-sig").replace("\r\n", "\n")
    text = data.load_text(name)
    assert text.startswith(start) and "\r" not in text and "PROJECT GUTENBERG" not in text
    assert length is None or len(text) == length
    out = capsys.readouterr().out
    assert out.count("se usa la copia incluida en course_utils") == 3 and spec.title in out
    _, notes = read_entries(tmp_path / "report.jsonl")
    assert [(n["dataset"], n["source"]) for n in notes] == [(name, "package")] * 2
    assert "copia comprimida incluida en course_utils" in notes[0]["detail"] and where == notes[0]["detail"]
    assert files_in(cache) == []  # the packaged copy is read in place, never written to the cache


@pytest.mark.parametrize("content, problem", [
    (gzip.compress(b"otra cosa"), "sha256 distintos"),
    (b"no es gzip", "no se puede descomprimir"),
    (None, "no existe"),
], ids=["otro contenido", "no es gzip", "falta"])
def test_corrupt_packaged_copy_is_never_used(cache, tmp_path, monkeypatch, capsys, content, problem):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    folder = tmp_path / "data_files"
    folder.mkdir()
    if content is not None:
        (folder / data.PACKAGED_TEXTS["quijote"]).write_bytes(content)
    monkeypatch.setattr(data, "PACKAGED_DIR", folder)
    with pytest.raises(DataUnavailableError) as err:
        data.load_text("quijote")
    message = str(err.value)
    assert "No se pudo obtener el conjunto de datos «quijote»" in message and "Cómo solucionarlo" in message
    assert f"Tampoco sirve la copia incluida en course_utils: {folder}" in message and problem in message
    assert "se usa la copia" not in capsys.readouterr().out and files_in(cache) == []


def test_packaged_copies_are_package_data():
    import tomllib

    config = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["course_utils"]
    for file_name in data.PACKAGED_TEXTS.values():
        path = data.PACKAGED_DIR / file_name
        assert path.is_file() and path.stat().st_size < 1_000_000
        assert any(Path("data_files", file_name).match(p) for p in patterns), f"{file_name} no está en package-data"


def test_digits_and_sample_images(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_REPORT_FILE", str(tmp_path / "report.jsonl"))
    digits = data.load_digits()
    assert digits.x_train.shape == (1437, 8, 8) and digits.x_test.shape == (360, 8, 8)
    assert digits.x_train.dtype == np.uint8 and digits.max_value == 16 == digits.x_train.max()
    assert set(digits.y_test.tolist()) == set(range(10)) and digits.source == "package"
    images = data.load_sample_images()
    assert [img.shape for img in images] == [(427, 640, 3), (427, 640, 3)]
    assert all(img.dtype == np.uint8 for img in images)
    _, notes = read_entries(tmp_path / "report.jsonl")
    assert [(n["dataset"], n["source"]) for n in notes] == [("digits", "package"), ("sample_images", "package")]


def test_unknown_names_are_explained_in_spanish():
    with pytest.raises(ValueError, match="Conjunto de datos desconocido: 'cifar10'.*mnist, fashion-mnist"):
        data.fetch_dataset("cifar10")
    with pytest.raises(ValueError, match="disponibles son: tinyshakespeare, quijote"):
        data.load_text("mnist")


def write_idx(path: Path, magic: int, dims: tuple[int, ...], n_bytes: int) -> Path:
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(f">I{len(dims)}I", magic, *dims) + bytes(n_bytes))
    return path


def test_read_idx_checks_magic_and_size(tmp_path):
    assert data.read_idx(write_idx(tmp_path / "ok.gz", 0x803, (2, 3, 3), 18), (2, 3, 3)).shape == (2, 3, 3)
    with pytest.raises(ValueError, match="número mágico"):
        data.read_idx(write_idx(tmp_path / "magic.gz", 0x801, (2, 3, 3), 18), (2, 3, 3))
    with pytest.raises(ValueError, match="dimensiones"):
        data.read_idx(write_idx(tmp_path / "dims.gz", 0x803, (3, 3, 3), 27), (2, 3, 3))
    with pytest.raises(ValueError, match="dimensiones"):
        data.read_idx(write_idx(tmp_path / "short.gz", 0x803, (2, 3, 3), 17), (2, 3, 3))


# --- the real files, from ../shared/data used as a mirror ----------------------------------------------

@pytest.fixture
def shared_mirror(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(SHARED_DATA))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setenv("COURSE_REPORT_FILE", str(tmp_path / "report.jsonl"))
    return tmp_path / "report.jsonl"


@needs_shared
@pytest.mark.parametrize("name, first_labels", [("mnist", [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]),
                                                ("fashion-mnist", [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])])
def test_full_image_datasets_from_mirror(shared_mirror, name, first_labels):
    load = data.load_mnist if name == "mnist" else data.load_fashion_mnist
    ds = load()
    assert ds.source == "mirror" and ds.x_train.shape == (60000, 28, 28) and ds.x_test.shape == (10000, 28, 28)
    assert ds.x_train.dtype == np.uint8 and ds.y_test.dtype == np.int64
    assert ds.y_train[:10].tolist() == first_labels
    assert np.bincount(ds.y_test).size == 10 and len(ds.classes) == 10
    assert load().source == "cache"
    _, notes = read_entries(shared_mirror)
    assert [n["source"] for n in notes] == ["mirror", "cache"]


@needs_shared
def test_fashion_mnist_class_names(shared_mirror):
    assert data.load_fashion_mnist().classes[7] == "zapatilla"


@needs_shared
def test_texts_from_mirror(shared_mirror):
    quijote = data.load_text("quijote")
    assert quijote.startswith("El ingenioso hidalgo don Quijote de la Mancha")
    assert "En un lugar de la Mancha, de cuyo nombre no quiero acordarme" in quijote
    assert "\r" not in quijote and "\ufeff" not in quijote and "Gutenberg" not in quijote[:5000]
    assert "PROJECT GUTENBERG" not in quijote
    full = data.load_text("quijote", strip_header=False)
    assert full.startswith("The Project Gutenberg eBook of Don Quijote") and len(full) > len(quijote)
    shakespeare = data.load_text("tinyshakespeare")
    assert shakespeare.startswith("First Citizen:") and len(shakespeare) == 1115394


def test_can_reach_local_server_and_respects_offline(monkeypatch):
    import socket as _socket

    server = _socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    monkeypatch.delenv(download.OFFLINE_ENV, raising=False)
    assert download.can_reach("127.0.0.1", port, timeout=1.0)
    monkeypatch.setenv(download.OFFLINE_ENV, "1")
    assert not download.can_reach("127.0.0.1", port, timeout=1.0)
    server.close()
    monkeypatch.delenv(download.OFFLINE_ENV)
    assert not download.can_reach("127.0.0.1", port, timeout=1.0)
