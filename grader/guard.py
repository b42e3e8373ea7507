"""The in-kernel guard: what student code may not change while it is graded.

It runs inside the sandboxed kernel (grader.kernel), outside IPython's cell
machinery, so input and AST transformers cannot rewrite it.  Before each cell
it compares the kernel with a snapshot taken before any student code ran,
restores what it can, and returns a list of findings; the kernel attaches
them to the cell's execute_reply, where grader.execute reads them:

* IPython input transformers, AST transformers, custom exception handlers,
  event callbacks, and sys.excepthook/displayhook/breakpointhook;
* a trace or profile function (sys.settrace is also refused by the audit hook);
* entries of builtins added, removed or replaced;
* functions or classes written by the student planted into any module that
  is not the student's own (patching gradelib, tasks, os, ... to fool a test);
* the shipped, read-only helper files changed on disk.
"""
from __future__ import annotations

import builtins
import hashlib
import os
import sys
import threading
import types

# The guard's own view of the builtins, fixed at import, before any student
# code runs: patching builtins.isinstance (say) must not blind the guard itself.
_PRISTINE = dict(vars(builtins))
(isinstance, getattr, setattr, hasattr, vars, list, dict, set, id, len, str, type, any, bool, open,
 Exception, TypeError, OSError) = (_PRISTINE[n] for n in (
    "isinstance", "getattr", "setattr", "hasattr", "vars", "list", "dict", "set", "id", "len", "str",
    "type", "any", "bool", "open", "Exception", "TypeError", "OSError"))

ARMED: list = []  # becomes [True] when the first cell runs: grader/kernel.py's audit hook then applies

HOOKS = ("excepthook", "displayhook", "breakpointhook")
SHELL_LISTS = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")


def _sha(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except OSError:
        return None


class Guard:
    def __init__(self, shell, student_dir: str, protected_files: list[str]):
        self.shell = shell
        self.student_dir = os.path.realpath(student_dir)
        self.protected = {os.path.realpath(os.path.join(student_dir, f)): None for f in protected_files}
        self.cell_dir = None  # where ipykernel writes cell code (set on first check)
        self._file_cache: dict[str, bool] = {}
        self._module_cache: dict[int, tuple[object, bool]] = {}
        self.snapshot()

    # --- what "untouched" looks like ------------------------------------
    def snapshot(self) -> None:
        sh = self.shell
        self.lists = {name: list(getattr(sh, name)) for name in SHELL_LISTS}
        manager = sh.input_transformer_manager
        self.manager_lists = {
            name: list(getattr(manager, name)) for name in ("cleanup_transforms", "line_transforms")
        }
        self.custom = (sh.custom_exceptions, sh.CustomTB)
        self.hooks = {name: getattr(sys, name) for name in HOOKS}
        self.events = {name: list(cbs) for name, cbs in sh.events.callbacks.items()}
        self.builtins = dict(vars(builtins))
        for path in self.protected:
            self.protected[path] = _sha(path)

    # --- who wrote an object ---------------------------------------------
    def _student_file(self, filename: str) -> bool:
        if not filename:
            return False
        cached = self._file_cache.get(filename)
        if cached is None:
            cached = self._file_cache[filename] = self._classify_file(filename)
        return cached

    def _classify_file(self, filename: str) -> bool:
        if filename.startswith("<"):
            return filename.startswith("<ipython-input")  # <frozen ...>, <string>: library code
        real = os.path.realpath(filename)
        if real in self.protected:
            return False
        if real.startswith(self.student_dir + os.sep):
            return True
        return bool(self.cell_dir) and real.startswith(self.cell_dir)

    def _code_of(self, value):
        if isinstance(value, types.MethodType):
            value = value.__func__
        if isinstance(value, types.FunctionType):
            return value.__code__
        return None

    def _student_made(self, value) -> bool:
        code = self._code_of(value)
        if code is not None:
            func = value.__func__ if isinstance(value, types.MethodType) else value
            home = sys.modules.get(func.__globals__.get("__name__", ""))
            if home is not None and getattr(home, "__dict__", None) is func.__globals__ \
                    and self._student_module(home):
                return True  # defined in the notebook or in a module of the submission
            return self._student_file(code.co_filename)
        if isinstance(value, type):
            module = sys.modules.get(getattr(value, "__module__", ""), None)
            return module is not None and self._student_module(module)
        return False

    def _student_module(self, module) -> bool:
        cached = self._module_cache.get(id(module))
        if cached is not None and cached[0] is module:
            return cached[1]
        verdict = getattr(module, "__name__", "") == "__main__" or \
            self._student_file(getattr(module, "__file__", "") or "")
        self._module_cache[id(module)] = (module, verdict)
        return verdict

    # --- the check, before every cell ----------------------------------
    def check(self, deep: bool = True) -> list[str]:
        """`deep` adds the costly part (every module's attributes, the shipped files'
        digests, about 10 ms): the kernel asks for it before each test cell and the
        cell after one, where a planted function could change what a test sees."""
        try:
            return self._check(deep)
        except Exception as exc:  # a guard that cannot look is itself a finding
            return [f"the grading guard could not inspect the kernel: {type(exc).__name__}: {exc}"]

    def _check(self, deep: bool) -> list[str]:
        found: list[str] = []
        current = vars(builtins)
        for name in set(current) | set(self.builtins):
            if current.get(name, self) is not self.builtins.get(name, self):
                found.append(f"builtins.{name} changed")
                if name in self.builtins:
                    current[name] = self.builtins[name]
                else:
                    del current[name]
        sh = self.shell
        if self.cell_dir is None:
            try:
                compiler_file = sh.compile.get_code_name("", "x", 0)
                self.cell_dir = os.path.dirname(os.path.realpath(compiler_file)) + os.sep
            except Exception:
                self.cell_dir = ""
        for name, original in self.lists.items():
            if list(getattr(sh, name)) != original:
                found.append(f"IPython {name} changed")
                getattr(sh, name)[:] = original
        manager = sh.input_transformer_manager
        for name, original in self.manager_lists.items():
            if list(getattr(manager, name)) != original:
                found.append(f"IPython input transformer ({name}) changed")
                getattr(manager, name)[:] = original
        if (sh.custom_exceptions, sh.CustomTB) != self.custom:
            found.append("a custom exception handler was installed")
            sh.custom_exceptions, sh.CustomTB = self.custom
        for name, original in self.hooks.items():
            if getattr(sys, name) is not original:
                found.append(f"sys.{name} replaced")
                setattr(sys, name, original)
        for name, original in self.events.items():
            if list(sh.events.callbacks.get(name, [])) != original:
                found.append(f"IPython event callbacks for {name!r} changed")
                sh.events.callbacks[name][:] = original
        if sys.gettrace() is not None or sys.getprofile() is not None:
            found.append("a trace or profile function is set")
            sys.settrace(None)
            sys.setprofile(None)
        if getattr(threading, "_trace_hook", None) or getattr(threading, "_profile_hook", None):
            found.append("a thread trace or profile hook is set")
            threading._trace_hook = threading._profile_hook = None
        if deep:
            found += self._deep_check()
        return found

    def _deep_check(self) -> list[str]:
        found: list[str] = []
        for modname, module in list(sys.modules.items()):
            if not isinstance(module, types.ModuleType) or self._student_module(module):
                continue
            try:
                items = list(vars(module).items())
            except TypeError:
                continue
            for attr, value in items:
                if self._student_made(value):
                    found.append(f"{modname}.{attr} replaced by the submission's code")
        for path in self.protected:
            stem = os.path.splitext(os.path.basename(path))[0]
            module = sys.modules.get(stem)
            file = getattr(module, "__file__", None) if module is not None else None
            if module is not None and (not file or os.path.realpath(file) != path):
                found.append(f"sys.modules[{stem!r}] is not the shipped {os.path.basename(path)}")
                del sys.modules[stem]
        for path, digest in self.protected.items():
            if _sha(path) != digest:
                found.append(f"read-only file {os.path.basename(path)} was changed")
        return found
