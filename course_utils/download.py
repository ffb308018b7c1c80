"""Get one verified data file: cache → mirror → canonical URLs.

A file is described by a `FileSpec` (its path inside the cache/mirror, sha256,
size and URLs). `fetch_file` returns a path to a copy whose size and sha256
match; it never returns, keeps or leaves behind a corrupt or partial file:
everything is written to a temporary file beside the target and renamed with
`os.replace` only after the checksum matches.

Environment variables:
    COURSE_DATA_DIR          cache folder (default: the repository's data/ in a
                             checkout, otherwise ~/.cache/course_utils/data)
    COURSE_DATA_MIRROR       a folder or URL (http://, https://, file://) laid out
                             as <dataset>/<official file name>
    COURSE_OFFLINE=1         never use the network (mirror folders still work)
    COURSE_DOWNLOAD_TIMEOUT  seconds without an answer before giving up (default 30)
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from tqdm.auto import tqdm

DATA_DIR_ENV = "COURSE_DATA_DIR"
MIRROR_ENV = "COURSE_DATA_MIRROR"
OFFLINE_ENV = "COURSE_OFFLINE"
TIMEOUT_ENV = "COURSE_DOWNLOAD_TIMEOUT"
DEFAULT_TIMEOUT_S = 30.0
RETRIES = 2  # extra attempts per URL after a transient failure
BACKOFF_S = 0.5  # wait before retry k: BACKOFF_S * 2**k
CHUNK = 1 << 16
TMP_SUFFIX = ".part"
USER_AGENT = "course_utils/0.1 (curso abierto de deep learning en español)"
REPO_DATA_DIR = Path(__file__).resolve().parents[1] / "data"


class DataUnavailableError(RuntimeError):
    """A data file could not be obtained from any source (message in Spanish)."""

    def __init__(self, message: str, attempts: list[str] | None = None) -> None:
        super().__init__(message)
        self.attempts = attempts or []


@dataclass(frozen=True)
class FileSpec:
    """One published file: `path` is '<dataset folder>/<official file name>'."""

    path: str
    sha256: str
    size: int
    urls: tuple[str, ...]

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass
class FetchLog:
    """What was tried while fetching the files of one dataset."""

    attempts: list[str] = field(default_factory=list)
    network_down: bool = False  # every network attempt so far failed to connect


class _DownloadError(Exception):
    """One failed attempt; `retry` says whether trying the same URL again may help."""

    def __init__(self, reason: str, retry: bool = False, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.retry = retry
        self.unreachable = unreachable


def cache_dir() -> Path:
    """The cache folder: $COURSE_DATA_DIR, the repository's data/, or ~/.cache/course_utils/data."""
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    if (REPO_DATA_DIR / "README.md").is_file():
        return REPO_DATA_DIR
    return Path.home() / ".cache" / "course_utils" / "data"


def is_offline() -> bool:
    """True when COURSE_OFFLINE asks for no network access."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "si", "sí"}


def can_reach(host: str, port: int = 443, timeout: float = 3.0) -> bool:
    """True when a TCP connection to host:port opens within `timeout` s (False if COURSE_OFFLINE=1).

    For optional online extras (pretrained weights, the Hugging Face hub): ask
    first, so that an offline machine takes the offline path at once instead of
    waiting for a library's own long timeout.
    """
    if is_offline():
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def download_timeout() -> float:
    """Seconds to wait for the server (COURSE_DOWNLOAD_TIMEOUT, default 30)."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ValueError(f"{TIMEOUT_ENV} debe ser un número de segundos mayor que 0, no {raw!r}.")
    return value


def mirror_location() -> tuple[Path | None, str | None]:
    """(mirror folder, mirror URL) from COURSE_DATA_MIRROR; at most one is set."""
    raw = os.environ.get(MIRROR_ENV, "").strip()
    if not raw:
        return None, None
    if raw.startswith("file://"):
        return Path(urllib.request.url2pathname(urllib.parse.urlparse(raw).path)), None
    if raw.startswith(("http://", "https://")):
        return None, raw.rstrip("/")
    return Path(raw).expanduser(), None


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def is_valid(path: Path, spec: FileSpec) -> bool:
    """True when `path` has exactly the published size and sha256."""
    return path.is_file() and path.stat().st_size == spec.size and sha256_of(path) == spec.sha256


def human_size(n: int) -> str:
    """Bytes as a short readable size ('9.5 MB')."""
    if n < 1024:
        return f"{n} B"
    size = n / 1024
    for unit in ("KB", "MB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _write_verified(src: BinaryIO, dest: Path, spec: FileSpec, label: str = "") -> None:
    """Stream `src` into a temp file beside `dest`; rename it only if size and sha256 match.

    A progress bar titled `label` is shown for files of 1 MiB or more (none if label is "").
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=TMP_SUFFIX)
    tmp = Path(tmp_name)
    try:
        digest, received = hashlib.sha256(), 0
        bar = tqdm(total=spec.size, unit="B", unit_scale=True, unit_divisor=1024, desc=label,
                   leave=False, disable=not label or spec.size < (1 << 20))
        with os.fdopen(fd, "wb") as out, bar:
            while chunk := src.read(CHUNK):
                received += len(chunk)
                if received > spec.size:
                    raise _DownloadError(f"llegan más bytes de los publicados ({spec.size})")
                digest.update(chunk)
                out.write(chunk)
                bar.update(len(chunk))
        if received != spec.size:
            raise _DownloadError(f"archivo incompleto ({received} de {spec.size} bytes)", retry=True)
        if digest.hexdigest() != spec.sha256:
            raise _DownloadError("la suma sha256 no coincide (archivo distinto o dañado)")
        os.chmod(tmp, 0o644)  # mkstemp creates 0600 files
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)  # nothing to do after a successful os.replace


def _http_get(url: str, dest: Path, spec: FileSpec, timeout: float) -> None:
    """One download attempt, classified into a `_DownloadError` on failure."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if response.status != 200:
                raise _DownloadError(f"respuesta HTTP {response.status}", retry=response.status >= 500)
            _write_verified(response, dest, spec, f"Descargando {spec.name}")
    except urllib.error.HTTPError as e:
        raise _DownloadError(f"HTTP {e.code} {e.reason}", retry=e.code >= 500 or e.code == 429) from None
    except TimeoutError:
        raise _DownloadError(f"sin respuesta en {timeout:g} s (tiempo de espera agotado)",
                             retry=True, unreachable=True) from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, TimeoutError):
            raise _DownloadError(f"sin respuesta en {timeout:g} s (tiempo de espera agotado)",
                                 retry=True, unreachable=True) from None
        dns_failed = isinstance(e.reason, socket.gaierror)
        raise _DownloadError(f"no se pudo conectar ({e.reason})", retry=not dns_failed,
                             unreachable=True) from None
    except (http.client.HTTPException, OSError) as e:
        raise _DownloadError(f"conexión interrumpida ({e.__class__.__name__}: {e})", retry=True) from None


def _download(url: str, dest: Path, spec: FileSpec) -> None:
    """Download with retries and a short exponential backoff."""
    timeout = download_timeout()
    for attempt in range(RETRIES + 1):
        try:
            return _http_get(url, dest, spec, timeout)
        except _DownloadError as e:
            if not e.retry or attempt == RETRIES:
                raise
            time.sleep(BACKOFF_S * 2**attempt)


def _from_cache(dest: Path, spec: FileSpec) -> bool:
    """True when the cached copy is valid; a corrupt or partial copy is deleted."""
    if not dest.exists():
        return False
    if is_valid(dest, spec):
        return True
    print(f"⚠️ El archivo en caché {dest} está dañado o incompleto (tamaño o sha256 distinto): "
          "se borra y se vuelve a obtener.")
    dest.unlink(missing_ok=True)
    return False


def _from_mirror_folder(folder: Path, dest: Path, spec: FileSpec, log: FetchLog) -> bool:
    """Copy the file from a mirror folder into the cache, verified."""
    src = folder / spec.path
    if not src.is_file():
        log.attempts.append(f"espejo {folder}: no contiene {spec.path}")
        return False
    try:
        with open(src, "rb") as f:
            _write_verified(f, dest, spec)
        return True
    except (_DownloadError, OSError) as e:
        log.attempts.append(f"espejo {src}: {e}")
        return False


def _try_urls(urls: list[str], dest: Path, spec: FileSpec, log: FetchLog) -> str | None:
    """Try each URL in order; return the one that worked (or None)."""
    if is_offline():
        log.attempts.append(f"{OFFLINE_ENV}=1: no se usó la red")
        return None
    if log.network_down:
        log.attempts.append(f"{spec.path}: no se intentó la red (falló la conexión con los archivos anteriores)")
        return None
    unreachable = 0
    for url in urls:
        print(f"⬇️ Descargando {spec.path} ({human_size(spec.size)}) desde {url}")
        try:
            _download(url, dest, spec)
            return url
        except _DownloadError as e:
            log.attempts.append(f"{url}: {e}")
            unreachable += e.unreachable
    log.network_down = bool(urls) and unreachable == len(urls)
    return None


def fetch_file(spec: FileSpec, log: FetchLog | None = None) -> tuple[Path, str, str]:
    """Return (path, source, where) for a verified copy of `spec` in the cache.

    source is "cache", "mirror" or "download"; where is the folder or URL used.
    Raises DataUnavailableError (with `.attempts`) when no source gave a valid file.
    """
    log = log if log is not None else FetchLog()
    root = cache_dir()
    dest = root / spec.path
    if _from_cache(dest, spec):
        return dest, "cache", str(root)
    folder, mirror_url = mirror_location()
    if folder is not None and _from_mirror_folder(folder, dest, spec, log):
        return dest, "mirror", str(folder)
    urls = ([f"{mirror_url}/{spec.path}"] if mirror_url else []) + list(spec.urls)
    used = _try_urls(urls, dest, spec, log)
    if used is None:
        raise DataUnavailableError(f"No se pudo obtener {spec.path}.", log.attempts)
    if mirror_url and used.startswith(mirror_url):
        return dest, "mirror", mirror_url
    return dest, "download", used
