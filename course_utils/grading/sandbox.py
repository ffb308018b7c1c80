"""Run student code in a bubblewrap sandbox: the kernel used for grading.

`python -m course_utils.grading.sandbox -f CONNECTION_FILE` is the command of the
`python3` kernelspec that `course_utils.grading.grade` puts first on JUPYTER_PATH while
nbgrader autogrades. It starts the guarded IPython kernel (`course_utils.grading.guard`)
inside `bwrap` with:

- no network (own network namespace) and its own PID/IPC/UTS namespaces;
- a read-only view of the system, of Python and of course_utils only: no
  grading/source, no gradebook.db, no other student's folder;
- one writable folder, the current directory (the student's autograded copy),
  plus a private /tmp;
- an unprivileged user id of its own (derived from its folder, so the process
  limit of one student's fork bomb never touches another's) and resource
  limits: memory, CPU time, processes, file size, open files.

The kernel talks to nbgrader through ZeroMQ IPC sockets (files) in the runtime
folder, which is the only other writable place: TCP would need the network.
What it does not protect against: CPU and memory use up to the limits, side
channels, and kernel exploits (bubblewrap is not a virtual machine).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

FIRST_UID, N_UIDS = 200_000, 100_000  # one unprivileged uid per working folder (see sandbox_uid)
MARKER = ".course-sandbox"  # marks the private runtime folder made by course_utils.grading.grade
LIMITS = {  # resource: (soft, hard)
    resource.RLIMIT_DATA: 4 << 30,  # 4 GiB of heap: a memory bomb gets MemoryError
    resource.RLIMIT_CPU: 900,  # seconds of CPU per process
    resource.RLIMIT_NPROC: 128,  # processes of the sandbox user: a fork bomb gets an error
    resource.RLIMIT_FSIZE: 64 << 20,  # 64 MiB per written file
    resource.RLIMIT_NOFILE: 1024,
    resource.RLIMIT_CORE: 0,
}
SYSTEM_DIRS = ("/usr", "/etc", "/opt")


def bwrap_path() -> str | None:
    """Path of a working `bwrap`, or None (missing, not allowed here, or not root).

    Root is needed to hand the kernel over to an unprivileged user id.
    """
    exe = shutil.which("bwrap")
    if exe is None or os.geteuid() != 0 or shutil.which("setpriv") is None:
        return None
    probe = subprocess.run([exe, "--ro-bind", "/", "/", "--unshare-net", "true"], capture_output=True)
    return exe if probe.returncode == 0 else None


def _package_dir() -> Path:
    """The course_utils package (this file is course_utils/grading/sandbox.py)."""
    return Path(__file__).resolve().parents[1]


def _read_only_paths() -> list[Path]:
    """What the kernel may read besides the system: Python (with its packages), course_utils, data.

    Deliberately not sys.path: it may hold the repository root, and with it grading/.
    """
    paths = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), _package_dir()}
    data = os.environ.get("COURSE_DATA_DIR")
    if data and Path(data).is_dir():
        paths.add(Path(data).resolve())
    kept = sorted(paths, key=lambda p: len(p.parts))  # a folder inside another is already visible
    return [p for i, p in enumerate(kept) if not any(p.is_relative_to(q) for q in kept[:i])]


def _dirs_for(path: Path) -> list[str]:
    """bwrap arguments creating every ancestor of `path` world-readable (bwrap's own are 0700)."""
    args: list[str] = []
    for parent in reversed(path.parents[:-1]):  # skip "/"
        args += ["--perms", "0755", "--dir", str(parent)]
    return args


def sandbox_uid(workdir: Path) -> int:
    """A stable, unprivileged uid for one working folder (no account needed)."""
    return FIRST_UID + zlib.crc32(str(workdir).encode()) % N_UIDS


def bwrap_command(bwrap: str, workdir: Path, runtime_dir: Path, inner: list[str]) -> list[str]:
    """The full bwrap command line that runs `inner` unprivileged in `workdir`."""
    cmd = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
           "--die-with-parent", "--proc", "/proc", "--dev", "/dev",
           "--perms", "1777", "--tmpfs", "/tmp", "--perms", "1777", "--tmpfs", "/dev/shm"]
    for d in SYSTEM_DIRS:
        if Path(d).is_dir():
            cmd += ["--ro-bind", d, d]
    for name in ("lib", "lib64", "bin", "sbin"):
        target = Path("/") / name
        if target.is_symlink():
            cmd += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            cmd += ["--ro-bind", str(target), str(target)]
    for p in _read_only_paths():
        if not any(p.is_relative_to(d) for d in SYSTEM_DIRS):
            cmd += _dirs_for(p) + ["--ro-bind", str(p), str(p)]
    for p in (runtime_dir, workdir):
        cmd += _dirs_for(p) + ["--bind", str(p), str(p)]
    cmd += ["--chdir", str(workdir), "--clearenv"]
    env = {"HOME": "/tmp", "TMPDIR": "/tmp", "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8",
           "MPLCONFIGDIR": "/tmp/matplotlib", "COURSE_HEADLESS": "1", "COURSE_OFFLINE": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "NBGRADER_EXECUTION": "autograde"}
    for name in ("COURSE_DATA_DIR", "COURSE_GUARD_SPEC"):  # data folder; what the guarded kernel watches
        if os.environ.get(name):
            env[name] = os.environ[name]
    for k, v in env.items():
        cmd += ["--setenv", k, v]
    uid = sandbox_uid(workdir)
    drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--no-new-privs"]
    return cmd + ["--", *drop, *inner]


def _apply_limits() -> None:
    for res, value in LIMITS.items():
        resource.setrlimit(res, (value, value))


def launch(connection_file: str, extra: list[str]) -> int:
    """Start ipykernel in the sandbox; runs as the kernel process nbgrader started."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        print("❌ bubblewrap (bwrap) no está instalado: no se puede aislar el código del alumnado.", file=sys.stderr)
        return 2
    workdir = Path.cwd().resolve()
    conn = Path(connection_file).resolve()
    runtime_dir = conn.parent
    if not (runtime_dir / MARKER).is_file():
        print(f"❌ {runtime_dir} no es una carpeta de ejecución del calificador (falta {MARKER}): "
              "el núcleo aislado solo se lanza desde `python -m course_utils grade`.", file=sys.stderr)
        return 2
    # The sandbox user must read the connection file, create IPC sockets and write in its working copy.
    shared = runtime_dir / f"sandbox-{conn.name}"
    shared.write_bytes(conn.read_bytes())
    shared.chmod(0o644)
    runtime_dir.chmod(0o777)
    workdir.chmod(0o777)
    for path in workdir.rglob("*"):
        path.chmod(0o777 if path.is_dir() else 0o666)
    ip = json.loads(conn.read_text()).get("ip", "")
    if not Path(ip).is_absolute() or Path(ip).parent != runtime_dir:
        print(f"❌ El núcleo aislado necesita sockets IPC en {runtime_dir} (ip={ip!r}).", file=sys.stderr)
        return 2
    inner = [sys.executable, "-m", "course_utils.grading.guard", "-f", str(shared), *extra]
    cmd = bwrap_command(bwrap, workdir, runtime_dir, inner)
    _apply_limits()
    os.execv(bwrap, cmd)
    return 0  # not reached


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Kernel de IPython aislado con bubblewrap (para calificar).")
    parser.add_argument("-f", dest="connection_file", required=True)
    args, extra = parser.parse_known_args(argv)
    return launch(args.connection_file, extra)


if __name__ == "__main__":
    raise SystemExit(main())
