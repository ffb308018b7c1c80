"""Tampering with the tests gains nothing and is flagged: the guarded grading kernel and its verdict.

Hidden tests run in the student's process, after the student's code, so that code could replace
what they rely on: `course_utils.checks.check_close` by a no-op, `np.allclose` by `lambda *a: True`,
IPython's `showtraceback` by a function that hides failures, a module in `sys.modules`, a builtin
shadowed in the notebook's namespace. The design here is *detection, judged outside*:

1. Kernel side (`GuardedKernel`, the kernel the grader starts, inside the sandbox). Before the first
   cell runs, it imports the modules the assignment's tests use and records the identity of
   everything they could rely on (`Snapshot`): every callable, class and submodule of those modules
   (and the code, defaults of their Python functions), the builtins, `sys.modules` entries,
   `sys.stdout`/`stderr`/hooks, the IPython shell's and the kernel's methods, and the names the test
   cells take from the notebook's namespace. After every cell it compares and reports the
   differences in an output of its own (MIME `MIME`) — the report comes from this code, not from
   anything the cell can rebind without replacing the kernel's own methods, which are watched too.
2. Grader side (`course_utils.grading.verdict.GuardVerdict`, an nbgrader autograde preprocessor, in
   the grader's process, which never runs student code). A graded test cell whose report is missing or lists changes scores 0,
   with a Spanish "manipulación detectada" error, and the notebook is marked for the instructor.

So a tampered submission never scores more than the same submission without the tampering lines.
Limits (stated in the README): code written specifically against this guard, that finds its objects
and imitates its reports, is not a trick one can copy without understanding it, but it is not
impossible in one process; and changes made and undone inside one call are not seen.
"""

from __future__ import annotations

import builtins
import importlib
import json
import os
import sys
import types
from typing import Any

# The guard's own builtins and types, bound when the kernel starts, before any student code: a cell
# that replaces `builtins.isinstance` or `types.FunctionType` must not blind the guard itself.
_id, _isinstance, _callable, _getattr, _vars, _type = id, isinstance, callable, getattr, vars, type
_list, _sorted, _set, _dict = list, sorted, set, dict
_FunctionType, _ModuleType = types.FunctionType, types.ModuleType
_INSTALLED = tuple({os.path.realpath(p) + os.sep for p in (sys.prefix, sys.base_prefix)} |
                   {p + os.sep for p in (sys.prefix, sys.base_prefix)})  # where library code lives

MIME = "application/vnd.curso-dl.vigilante+json"
SPEC_ENV = "COURSE_GUARD_SPEC"  # JSON {"modules": [...], "aliases": {name: "module" | "module:attr"}}


# ----------------------------------------------------------------------------
# The snapshot (kernel side).

def _resolve(target: str) -> Any:
    module, _, attr = target.partition(":")
    obj = builtins if module == "builtins" else sys.modules.get(module) or importlib.import_module(module)
    return _getattr(obj, attr) if attr else obj


def _fingerprint(obj: Any) -> tuple:
    """Identity, plus the mutable parts of a Python function (code, defaults, closure)."""
    if _isinstance(obj, _FunctionType):
        return (_id(obj), _id(obj.__code__), _id(obj.__defaults__), _id(obj.__kwdefaults__), _id(obj.__closure__))
    return (_id(obj),)


def _library_wrapper(new: Any, old: Any) -> bool:
    """A library's own wrapper of the recorded object: wraps it (functools.wraps) and its code is installed.

    Student code defined in a notebook cell lives in no installed file, so a student's wrapper is
    never mistaken for one.
    """
    wrapped, seen = _getattr(new, "__wrapped__", None), 0
    while wrapped is not None and wrapped is not old and seen < 8:
        wrapped, seen = _getattr(wrapped, "__wrapped__", None), seen + 1
    code = _getattr(new, "__code__", None)
    filename = _getattr(code, "co_filename", "") or ""
    return wrapped is old and _isinstance(filename, str) and filename.startswith(_INSTALLED)


SHELL_ATTRS = ("display_pub", "displayhook", "InteractiveTB", "SyntaxTB", "events", "user_ns")


def _watched_objects(shell: Any, kernel: Any) -> dict[str, Any]:
    """The single objects a test's outcome passes through, as they are now (compared by identity)."""
    objects = {"sys.stdout": sys.stdout, "sys.stderr": sys.stderr, "sys.excepthook": sys.excepthook,
               "sys.displayhook": sys.displayhook, "sys.modules": sys.modules, "builtins": sys.modules.get("builtins")}
    if kernel is not None:
        objects["kernel.session"] = _getattr(kernel, "session", None)
        objects["kernel.iopub_socket"] = _getattr(kernel, "iopub_socket", None)
    if shell is not None:
        objects.update({f"shell.{attr}": _getattr(shell, attr, None) for attr in SHELL_ATTRS})
    return objects


def _watchable(value: Any) -> bool:
    return _callable(value) or _isinstance(value, (_ModuleType, _type))


class Snapshot:
    """The identity of everything the tests rely on, and what has changed since."""

    def __init__(self, spec: dict[str, Any], shell: Any = None, kernel: Any = None):
        self.keep: list[Any] = []  # strong references: recorded ids stay valid
        self.modules: dict[str, _ModuleType] = {}
        self.attrs: dict[str, tuple] = {}  # "module.attr" → (fingerprint, object)
        for name in spec.get("modules", []):
            try:
                module = importlib.import_module(name)
            except Exception:  # noqa: BLE001 - a module the grading machine lacks: nothing to watch
                continue
            self.modules[name] = module
            self._record(name, _vars(module))
        self._record("builtins", {k: v for k, v in _vars(builtins).items() if k != "_"})
        self.kernel = kernel
        self.objects = _watched_objects(shell, kernel)
        self.classes: dict[str, tuple] = {}  # "module.Class.attr" → (fingerprint, object)
        self.instances = [(label, obj) for label, obj in (("shell", shell), ("kernel", kernel)) if obj is not None]
        if kernel is not None:
            self.instances.append(("kernel.session", kernel.session))
        for label, obj in self.instances:
            for cls in _type(obj).__mro__:
                if cls is not object:
                    self._record(f"{cls.__module__}.{cls.__qualname__}", _vars(cls), self.classes)
        self.shadows = {f"{label}.{key}": _fingerprint(value) for label, obj in self.instances
                        for key, value in self._shadowing(obj).items()}
        self.keep += _list(self.modules.values()) + _list(self.objects.values())
        self.aliases = {n: _resolve(t) for n, t in spec.get("aliases", {}).items() if self._try(t)}
        self.seen: set[str] = _set()
        self.shell = shell

    @staticmethod
    def _shadowing(obj: Any) -> dict[str, Any]:
        """Instance attributes that hide a method of the class (how `shell.showtraceback = f` patches)."""
        return {k: v for k, v in _list(_vars(obj).items()) if _callable(v) and _callable(_getattr(_type(obj), k, None))}

    @staticmethod
    def _try(target: str) -> bool:
        try:
            _resolve(target)
            return True
        except Exception:  # noqa: BLE001
            return False

    def _same_name_in_a_module(self, name: str, value: Any) -> bool:
        """`from numpy import *` rebinds `max` to `numpy.max`: a library's own name is not a trick."""
        return any(_getattr(m, name, None) is value for m in self.modules.values())

    def _record(self, prefix: str, namespace: dict, into: dict | None = None) -> None:
        into = self.attrs if into is None else into
        for key, value in _list(namespace.items()):
            if _watchable(value):
                into[f"{prefix}.{key}"] = (_fingerprint(value), value)
                self.keep.append(value)

    def _compare(self, prefix: str, namespace: dict, recorded: dict, changes: list[str]) -> None:
        start = prefix + "."
        for key, value in _list(namespace.items()):
            old = recorded.get(start + key)
            if old is not None and _fingerprint(value) != old[0]:
                if _library_wrapper(value, old[1]):  # e.g. torch wraps torch.manual_seed when it loads dynamo
                    recorded[start + key] = (_fingerprint(value), value)
                    self.keep.append(value)
                else:
                    changes.append(start + key)
        names = namespace.keys()
        changes += [k for k in recorded if k.startswith(start) and "." not in k[len(start):]
                    and k[len(start):] not in names]

    def changes(self) -> list[str]:
        """Names of what differs from the snapshot (empty: nothing was touched)."""
        changes: list[str] = []
        for name, module in self.modules.items():
            if sys.modules.get(name) is not module:
                changes.append(f"sys.modules[{name!r}]")
            self._compare(name, _vars(module), self.attrs, changes)
        self._compare("builtins", {k: v for k, v in _vars(builtins).items() if k != "_"}, self.attrs, changes)
        current = _watched_objects(self.shell, self.kernel)
        for label, obj in self.instances:
            for cls in _type(obj).__mro__:
                if cls is not object:
                    self._compare(f"{cls.__module__}.{cls.__qualname__}", _vars(cls), self.classes, changes)
            for key, value in self._shadowing(obj).items():  # new or changed since the snapshot
                if self.shadows.get(f"{label}.{key}") != _fingerprint(value):
                    changes.append(f"{label}.{key}")
        changes += [k for k, v in self.objects.items() if current.get(k) is not v]
        if self.shell is not None:
            namespace = self.shell.user_ns
            for name, expected in self.aliases.items():
                if name in namespace:
                    if namespace[name] is expected:
                        self.seen.add(name)
                    elif not self._same_name_in_a_module(name, namespace[name]):
                        changes.append(f"nombre {name!r} del cuaderno")
                elif name in self.seen:
                    changes.append(f"nombre {name!r} del cuaderno (borrado)")
        return _sorted(_set(changes))


# ----------------------------------------------------------------------------
# The kernel (runs in the sandbox: python -m course_utils.grading.guard -f CONNECTION_FILE).

def _kernel_class():
    from ipykernel.ipkernel import IPythonKernel

    class GuardedKernel(IPythonKernel):
        """IPython kernel that reports, after every cell, what the cell changed of what tests rely on."""

        _guard: Snapshot | None = None

        async def do_execute(self, code, silent, *args, **kwargs):
            if self._guard is None:  # before the first cell: nothing of the student's has run yet
                self._guard = Snapshot(json.loads(os.environ.get(SPEC_ENV, "{}")), self.shell, self)
            reply = await super().do_execute(code, silent, *args, **kwargs)
            try:
                report = {"cambios": self._guard.changes()}
            except Exception as e:  # noqa: BLE001 - the guard itself broken by the cell
                report = {"cambios": [f"el vigilante falló: {_type(e).__name__}"]}
            self.session.send(self.iopub_socket, "display_data",
                              {"data": {MIME: report, "text/plain": ""}, "metadata": {}, "transient": {}},
                              parent=self.get_parent("shell"), ident=self._topic("display_data"))
            return reply

    return GuardedKernel


def main() -> None:
    from ipykernel.kernelapp import IPKernelApp

    IPKernelApp.launch_instance(kernel_class=_kernel_class())


if __name__ == "__main__":
    main()
