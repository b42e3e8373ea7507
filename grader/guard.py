"""The guard inside the grading kernel: what vouches for each test cell.

Student code runs in the same process as the tests, so anything a Python
object holds can be reached and changed by it: a flag, a method, a list of
transformers, the kernel itself.  The guard therefore does not trust any of
them.  It vouches for a test cell only when it has seen that cell's own code
run from start to finish, and it reports to the grader through a channel
nobody else in the process can write to (grader.channel).

How a test cell is vouched for
------------------------------
* Before any student code runs, the guard learns the test cells' sources and
  compiles each one wrapped like this (the wrapper keeps the cell's line
  numbers, so tracebacks show the test's own lines)::

      try:
          sys.audit("pyconc.begin", i)          # on line BEGIN
          <the test cell's code>
      except BaseException:
          sys.audit("pyconc.end", i)            # on line END_FAIL
          raise
      else:
          sys.audit("pyconc.end", i)            # on line END_PASS

  An IPython AST transformer applies the same wrapper to the cells the
  notebook sends (it is reachable by student code; removing it only means the
  guard never sees the test run).
* ``sys.audit`` calls the audit hook (PEP 578: it cannot be removed).  The
  hook hands the calling frame to the guard's worker thread, which checks that
  the frame runs exactly the wrapped code of test ``i`` (same bytecode, names
  and constants), with the notebook's namespace and the real builtins, that
  test ``i`` has not started before, and, for ``end``, that it is the frame
  that began and on which of the two lines it stands: the outcome comes from
  where the code is, not from any argument.  A frame cannot be made to run
  other code, so a call from anywhere else is told apart and breaks the
  channel.
* At each begin and end the worker also looks for tampering that a genuine
  run could still be fooled by: builtins and ``sys`` hooks replaced, trace or
  profile functions, functions written by the submission planted in other
  modules (checked against a fresh compile of the file they claim to come
  from), library functions rebound, shipped helper files or their modules
  replaced.  Its findings travel with the record.
* The grader (grader.execute) gives a test cell its points only if the
  channel says it passed, with no findings; a cell that would score without
  that is reported as tampering.

What keeps the worker out of reach
----------------------------------
The key that signs records exists only in the grader and in the worker
thread's own frame.  The worker is started with ``_thread.start_new_thread``
(no Thread object holds its arguments), never runs in the main thread (where
Python signal handlers run, and receive the interrupted frame), and runs with
the garbage collector paused.  The audit hook refuses, in every thread, what
would reach another thread's frames or raw memory: ``gc.get_objects``,
``gc.get_referrers``, ``gc.get_referents``, ``sys._current_frames``, importing
ctypes, cffi, numpy or an extension module from outside the Python
installation, building code objects (``types.CodeType``, ``code.replace``,
``marshal``), opening ``/proc/*/mem``; and in the worker's thread it refuses
(and reports) any access to a frame at all.  The state the hook itself keeps is
immutable, or only lets one put requests to the worker, which checks them as
above; "armed" (writes confined, signals limited) is an rlimit lowered once,
which the process cannot raise again.

What is not prevented: a memory-safety bug in CPython itself; and, without
root, a program the submission starts outside Python runs as the grader's own
user (README, "Grading that cannot be hung or fooled").
"""
from __future__ import annotations

import _thread
import ast
import builtins
import errno
import functools
import gc
import hashlib
import os
import resource
import stat
import sys
import time
import types
from queue import Empty, SimpleQueue

from grader import channel

BEGIN, END_PASS, END_FAIL = 1_000_001, 1_000_002, 1_000_003
ARM_LIMIT = resource.RLIMIT_MSGQUEUE   # lowered once at arming: the one-way "armed" flag
DENIED_IMPORTS = frozenset({"ctypes", "_ctypes", "cffi", "_cffi_backend", "numpy"})
FRAME_EVENTS = frozenset({"sys._getframe", "object.__getattr__", "sys._current_frames",
                          "sys._current_exceptions", "gc.get_objects", "gc.get_referrers",
                          "gc.get_referents", "sys.settrace", "sys.setprofile"})
FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back"})
HOOKS = ("excepthook", "displayhook", "breakpointhook", "unraisablehook")
SHELL_LISTS = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")
WAIT = 60.0  # s a test waits for the worker (the worker answers in milliseconds)

_FUNCTION, _METHOD, _CODE, _MODULE = types.FunctionType, types.MethodType, types.CodeType, types.ModuleType
_PARTIAL, _FRAME = functools.partial, types.FrameType
_MODULE_DICT = types.ModuleType.__dict__["__dict__"].__get__
_TYPE_DICT = type.__dict__["__dict__"].__get__


# --- the wrapper --------------------------------------------------------------
def _audit_call(event: str, index: int, line: int) -> ast.stmt:
    call = ast.Expr(ast.Call(
        func=ast.Attribute(ast.Call(ast.Name("__import__", ast.Load()), [ast.Constant("sys")], []),
                           "audit", ast.Load()),
        args=[ast.Constant(event), ast.Constant(index)], keywords=[]))
    for node in ast.walk(call):
        node.lineno = node.end_lineno = line
        node.col_offset = node.end_col_offset = 0
    return call


def wrap(tree: ast.Module, index: int) -> ast.Module:
    """The test cell's module, wrapped so that its start and its outcome call the hook."""
    body = [_audit_call("pyconc.begin", index, BEGIN), *tree.body]
    handler = ast.ExceptHandler(ast.Name("BaseException", ast.Load()), None,
                                [_audit_call("pyconc.end", index, END_FAIL), ast.Raise()])
    node = ast.Try(body, [handler], [_audit_call("pyconc.end", index, END_PASS)], [])
    first = tree.body[0] if tree.body else None
    node.lineno, node.col_offset = (first.lineno, first.col_offset) if first else (1, 0)
    node.end_lineno, node.end_col_offset = (first.end_lineno, first.end_col_offset) if first else (1, 0)
    for child in ast.walk(node):
        if "lineno" in child._attributes and not hasattr(child, "lineno"):
            ast.copy_location(child, node)
    return ast.Module([node], [])


def parse_cell(source: str) -> ast.Module:
    """The AST IPython runs for a cell (after its own clean-up transforms)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return ast.parse(TransformerManager().transform_cell(source))


def digest(tree: ast.Module) -> str:
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


def canonical(code) -> tuple:
    """What makes two code objects run the same: bytecode, names, constants (line numbers aside)."""
    return (code.co_code, code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars,
            code.co_flags & ~0x0100_0000, tuple(_constant(c) for c in code.co_consts))


def _constant(value):
    kind = type(value)
    if kind is _CODE:
        return canonical(value)
    if kind is tuple:
        return ("tuple", tuple(_constant(v) for v in value))
    if kind is frozenset:  # (its order follows string hashing, which changes from run to run)
        return ("frozenset", tuple(sorted(repr(_constant(v)) for v in value)))
    return (kind.__name__, repr(value))


def compile_wrapped(source: str, index: int):
    return compile(wrap(parse_cell(source), index), "<test>", "exec",
                   ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)


class TestWrapper(ast.NodeTransformer):
    """IPython AST transformer: wraps the cells whose code is a test cell's (by digest only:
    the hidden tests' sources are not kept where student code could read them).

    Its first call, on the notebook's first cell and before that cell runs, arms
    the guard: from then on the kernel is compared with the state it is in now
    (inside IPython's cell context, as the tests will be)."""

    def __init__(self, digests: dict[str, list[int]], shell):
        self.digests = digests
        self.used: set[int] = set()
        self.shell = shell

    def visit_Module(self, node):
        if self.shell is not None:
            shell, self.shell = self.shell, None
            sys.audit("pyconc.arm", shell, shell.user_ns, vars(builtins))
        for index in self.digests.get(digest(node), []):
            if index not in self.used:
                self.used.add(index)
                return ast.fix_missing_locations(wrap(node, index))
        return node


# --- the worker ---------------------------------------------------------------
class _Checks:
    """The worker's view of an untouched kernel, and the comparison with it.

    Everything here runs in the worker thread, with the garbage collector
    paused.  It never calls code a submission could have written: types are
    compared with ``type(x) is ...``, dictionaries are read through C-level
    descriptors, and objects are compared by identity.

    What it compares, at the start and the end of every test:
    * builtins, the ``sys`` hooks, trace and profile functions, IPython's
      transformer lists, custom exception handler and event callbacks;
    * every module loaded when the first cell ran (and every module loaded
      later, from when the worker first sees it): ``sys.modules`` entries, and
      their functions, classes and submodules, and the functions of those
      classes, by identity (a bound method counts as the same when its
      function and object are);
    * the shipped helper files, byte for byte, and their modules: each
      function and class they define must be the one their source compiles to;
    * anywhere else: a function written in the notebook or in the
      submission's folder, found in a module that is not the submission's.
    """

    def __init__(self, cfg: dict):
        self.student_dirs = tuple(os.path.realpath(d) + os.sep for d in cfg["student_dirs"])
        self.protected: dict[str, bytes] = {}
        for name in cfg.get("protected", []):
            path = os.path.realpath(os.path.join(cfg["folder"], name))
            try:
                with open(path, "rb") as fh:
                    self.protected[path] = fh.read()
            except OSError:
                continue
        self.expected_defs: dict[str, dict] = {}      # shipped file -> {name: canonical code or class body}
        for path, content in self.protected.items():
            try:
                self.expected_defs[path] = _definitions(compile(content, path, "exec", dont_inherit=True))
            except (SyntaxError, ValueError):
                self.expected_defs[path] = {}
        self.shell = self.user_ns = self.builtins = None
        self.modules: dict = {}
        self.sizes: dict = {}      # module name -> entries in its dictionary
        self.classes: dict = {}    # (module name, class name) -> (class, entries in its dict, {member: value})
        self.members: dict = {}    # module name -> {attribute: value}, for its callables and submodules
        self.verdicts: dict = {}   # id(code) -> (code, written by the submission?)
        self.files: dict = {}      # filename -> in the submission's folders?

    def arm(self, shell, user_ns: dict, builtins_dict: dict) -> None:
        """Snapshot the untouched kernel (called once, before any student code runs)."""
        self.shell, self.user_ns, self.builtins = shell, user_ns, builtins_dict
        self.pristine_builtins = dict(builtins_dict)
        self.hooks = {name: (_MODULE_DICT(sys).get(name),) for name in HOOKS}
        # (IPython sets sys.excepthook to its shell's while a cell's code runs)
        self.hooks["excepthook"] += (getattr(shell, "excepthook", None),)
        # the shell's own lists and dictionaries, held directly: reading them later
        # through the shell could run a property the submission put on its class
        self.lists = {name: (obj, list(obj)) for name in SHELL_LISTS for obj in [getattr(shell, name)]}
        manager = shell.input_transformer_manager
        self.lists.update({f"input transformer ({name})": (obj, list(obj))
                           for name in ("cleanup_transforms", "line_transforms") for obj in [getattr(manager, name)]})
        self.shell_dict = object.__getattribute__(shell, "__dict__")
        self.custom = (self.shell_dict.get("custom_exceptions"), self.shell_dict.get("CustomTB"))
        self.callbacks = shell.events.callbacks
        self.events = {name: list(cbs) for name, cbs in self.callbacks.items()}
        for name, module in list(sys.modules.items()):
            self._adopt(name, module, [])

    def _adopt(self, name, module, touched: list) -> list[str]:
        """Remember a module as it is now (its callables, submodules, and its classes'
        members), and say what in it was planted by the submission already."""
        if type(name) is not str or name in self.modules:
            return []
        self.modules[name] = module
        if not isinstance(module, _MODULE) or self._student_module(module):
            return []
        items = _items(module)
        self.sizes[name] = len(items)
        for attr, value in items:
            touched.append(value)
            if type(attr) is not str or not (callable(value) or type(value) is _MODULE):
                continue
            if name == "sys" and attr in HOOKS:
                continue  # (compared above, with what IPython sets while a cell runs)
            self.members.setdefault(name, {})[attr] = value
            if issubclass(type(value), type) and _type_module(value) == name:
                members = _class_items(value)
                self.classes[(name, attr)] = (value, len(members),
                                              {m: i for m, i in members if type(m) is str and _kind_of_member(i)})
        return self._scan(name, module, touched)

    def _scan(self, name: str, module, touched: list) -> list[str]:
        """Functions of the submission's in a module that is not the submission's."""
        found = []
        for attr, value in _items(module):
            label = f"{name}.{attr if type(attr) is str else '?'}"
            if self._planted(value, touched):
                found.append(f"{label} replaced by the submission's code")
            elif issubclass(type(value), type) and _type_module(value) == name:
                for member, item in _class_items(value):
                    if self._planted(item, touched):
                        found.append(f"{label}.{member if type(member) is str else '?'} replaced by the submission's code")
        return found

    # -- who wrote a code object ---------------------------------------------
    def _students(self, code) -> bool:
        """Compiled from a notebook cell or from a file of the submission's folder."""
        cached = self.verdicts.get(id(code))
        if cached is not None and cached[0] is code:
            return cached[1]
        filename = code.co_filename
        if type(filename) is not str or filename.startswith("<"):
            verdict = type(filename) is not str or filename.startswith("<ipython-input")
        else:
            verdict = self.files.get(filename)
            if verdict is None:
                real = os.path.realpath(filename)
                verdict = self.files[filename] = real not in self.protected and real.startswith(self.student_dirs)
        self.verdicts[id(code)] = (code, verdict)
        return verdict

    def _planted(self, value, touched: list) -> bool:
        touched.append(value)
        kind = type(value)
        if kind in (_METHOD, staticmethod, classmethod):
            value = value.__func__
        elif kind is _PARTIAL:
            value = value.func
        elif kind is property:
            return any(self._planted(f, touched) for f in (value.fget, value.fset, value.fdel) if f is not None)
        return type(value) is _FUNCTION and self._students(value.__code__)

    def _student_module(self, module) -> bool:
        if module is self.modules.get("__main__"):
            return True
        namespace = _MODULE_DICT(module)
        if namespace is self.user_ns:
            return True
        file = namespace.get("__file__")
        if type(file) is not str:
            return False
        real = os.path.realpath(file)
        return real.startswith(self.student_dirs) and real not in self.protected

    # -- the check -------------------------------------------------------------
    def check(self, touched: list) -> list[str]:
        found: list[str] = []
        current = self.builtins
        if len(current) != len(self.pristine_builtins):
            found.append("builtins added or removed")
        for name, value in list(current.items()):
            if type(name) is not str or not _same_object(value, self.pristine_builtins.get(name, self)):
                found.append(f"builtins.{name if type(name) is str else '?'} changed")
        sys_dict = _MODULE_DICT(sys)
        for name, allowed in self.hooks.items():
            if not any(_same_object(sys_dict.get(name), original) for original in allowed):
                found.append(f"sys.{name} replaced")
        if sys.gettrace() is not None or sys.getprofile() is not None:
            found.append("a trace or profile function is set")
        threading = self.modules.get("threading")
        if isinstance(threading, _MODULE):
            namespace = _MODULE_DICT(threading)
            if namespace.get("_trace_hook") is not None or namespace.get("_profile_hook") is not None:
                found.append("a thread trace or profile hook is set")
        if self.shell is not None:
            for name, (held, original) in self.lists.items():
                if not _same(list(held), original):
                    found.append(f"IPython {name} changed")
            custom = (self.shell_dict.get("custom_exceptions"), self.shell_dict.get("CustomTB"))
            if custom[0] is not self.custom[0] or not _same_object(custom[1], self.custom[1]):
                found.append("a custom exception handler was installed")
            for name, original in self.events.items():
                if not _same(list(self.callbacks.get(name, [])), original):
                    found.append(f"IPython event callbacks for {name!r} changed")
        modules = sys.modules
        for name, module in list(modules.items()):  # first seen now: from now on, compared
            if type(name) is str and name not in self.modules:
                found += self._adopt(name, module, touched)
        for name, module in list(self.modules.items()):
            if modules.get(name) is not module:
                found.append(f"sys.modules[{name!r}] replaced")
            elif name in self.sizes and len(_MODULE_DICT(module)) != self.sizes[name]:
                self.sizes[name] = len(_MODULE_DICT(module))  # something was added: whose is it?
                found += self._scan(name, module, touched)
        for name, members in list(self.members.items()):
            namespace = _MODULE_DICT(self.modules[name])
            for attr, original in list(members.items()):
                value = namespace.get(attr, self)
                if value is not original and not _same_object(value, original):
                    touched.append(value)
                    found.append(f"{name}.{attr} {'removed' if value is self else 'replaced'}")
        for key, (cls, size, members) in list(self.classes.items()):
            namespace = _TYPE_DICT(cls)
            if len(namespace) != size:
                self.classes[key] = (cls, len(namespace), members)
                for member, item in _class_items(cls):
                    if self._planted(item, touched):
                        found.append(f"{'.'.join(key)}.{member if type(member) is str else '?'} "
                                     "replaced by the submission's code")
            for member, original in members.items():
                value = namespace.get(member, self)
                if value is not original and not _same_object(value, original):
                    touched.append(value)
                    found.append(f"{'.'.join(key)}.{member} {'removed' if value is self else 'replaced'}")
        for path, content in self.protected.items():
            try:
                with open(path, "rb") as fh:
                    now = fh.read()
            except OSError:
                now = None
            if now != content:
                found.append(f"read-only file {os.path.basename(path)} was changed")
            stem = os.path.splitext(os.path.basename(path))[0]
            module = modules.get(stem)
            if module is None:
                continue
            file = _MODULE_DICT(module).get("__file__") if isinstance(module, _MODULE) else None
            if type(file) is not str or os.path.realpath(file) != path:
                found.append(f"sys.modules[{stem!r}] is not the shipped {os.path.basename(path)}")
                continue
            namespace = _MODULE_DICT(module)
            for attr, expected in self.expected_defs.get(path, {}).items():
                value = namespace.get(attr, self)
                touched.append(value)
                if value is self or not _matches(value, expected):
                    found.append(f"{stem}.{attr} is not the shipped definition")
        return sorted(set(found))


def _items(module) -> list:
    if not isinstance(module, _MODULE):
        return []
    try:
        return list(_MODULE_DICT(module).items())
    except Exception:
        return []


def _class_items(cls) -> list:
    try:
        return list(_TYPE_DICT(cls).items())
    except Exception:
        return []


def _type_module(cls):
    value = dict(_class_items(cls)).get("__module__")
    return value if type(value) is str else None


def _kind_of_member(item) -> bool:
    return type(item) in (_FUNCTION, staticmethod, classmethod, property, _PARTIAL)


def _same_object(now, then) -> bool:
    """The same object, or the same method of the same object (bound methods are made anew
    at each attribute access, so ipykernel's per-cell hooks come back as equal copies)."""
    if now is then:
        return True
    return type(now) is _METHOD and type(then) is _METHOD and now.__self__ is then.__self__ \
        and now.__func__ is then.__func__


def _definitions(module_code) -> dict:
    """{name: what defines it} for the functions and classes at the top of a shipped file:
    ("function", {canonical codes}) or ("class", {method name: {canonical codes}})."""
    found: dict = {}
    for const in module_code.co_consts:
        if type(const) is not _CODE or const.co_name.startswith("<"):
            continue
        if const.co_flags & 0x0001:  # CO_OPTIMIZED: a function
            found.setdefault(const.co_name, ("function", set()))[1].add(canonical(const))
        elif "__qualname__" in const.co_names:  # a class body
            methods: dict = {}
            for item in const.co_consts:
                if type(item) is _CODE and not item.co_name.startswith("<"):
                    methods.setdefault(item.co_name, set()).add(canonical(item))
            found[const.co_name] = ("class", methods)
    return found


_FUNC_DICT = types.FunctionType.__dict__["__dict__"].__get__


def _unwrapped(func, limit: int = 5):
    """The function and those it wraps (functools.wraps sets __wrapped__), outermost first."""
    out = []
    while type(func) is _FUNCTION and len(out) < limit:
        out.append(func)
        func = _FUNC_DICT(func).get("__wrapped__")
    return out


def _matches(value, expected) -> bool:
    kind, shape = expected
    if kind == "function":
        return any(canonical(f.__code__) in shape for f in _unwrapped(value))
    if not issubclass(type(value), type):
        return False
    for name, item in _class_items(value):
        if type(name) is not str or name.startswith("__") and name not in shape:
            continue
        if name not in shape:
            if _kind_of_member(item):
                return False  # a method the shipped class does not have
            continue
        funcs = [item.__func__] if type(item) in (staticmethod, classmethod) else \
            [f for f in (item.fget, item.fset, item.fdel) if f is not None] if type(item) is property else [item]
        for func in funcs:
            if type(func) is _FUNCTION and not any(canonical(f.__code__) in shape[name] for f in _unwrapped(func)):
                return False
    return True


def _same(now: list, then: list) -> bool:
    """Same items, by identity (== could run code the submission wrote)."""
    return len(now) == len(then) and all(a is b for a, b in zip(now, then))


def _worker(requests: SimpleQueue, setup: SimpleQueue, release: SimpleQueue) -> None:
    """The guard's worker thread: verifies test frames and signs records (see the module docstring)."""
    key, fd, sources, cfg = setup.get()
    checks = _Checks(cfg)
    expected = {}
    for index, source in enumerate(sources):
        try:
            expected[index] = canonical(compile_wrapped(source, index))
        except SyntaxError:
            pass
    del sources
    seq = 0
    broken = False
    begun: dict[int, object] = {}

    def send(kind: str, **fields) -> None:
        nonlocal seq, broken
        if broken:
            return
        record = channel.sign(key, seq, kind, **fields)
        seq += 1
        try:
            written = os.write(fd, record)
        except OSError:
            written = 0
        if written != len(record) or kind == "broken":
            broken = True

    send("ready", pid=os.getpid())
    while True:
        job = requests.get()
        if job is None:
            return
        kind, index, frame, answer = job
        paused = gc.isenabled()
        gc.disable()
        touched: list = []
        try:
            if kind == "incident":
                send("broken", why=str(index))
            elif kind == "arm":
                checks.arm(*frame)
            elif kind == "begin":
                why = _not_genuine(frame, index, BEGIN, expected, checks)
                if why or index in begun:
                    send("broken", why=why or f"test cell {index} was started a second time")
                else:
                    begun[index] = frame
                    send("begin", test=index, findings=checks.check(touched))
            elif kind == "end":
                if begun.get(index) is not frame or frame.f_lineno not in (END_PASS, END_FAIL):
                    send("broken", why=f"the end of test cell {index} was claimed by code other than the test")
                else:
                    passed = frame.f_lineno == END_PASS
                    begun[index] = None
                    send("end", test=index, passed=passed, findings=checks.check(touched))
        except Exception as exc:  # the guard itself failed: nothing more is vouched for
            send("broken", why=f"the guard failed: {type(exc).__name__}: {exc}"[:300])
        finally:
            frame = job = None
            if paused:
                gc.enable()
            release.put(touched)  # dropped in another thread: no finalizer runs in this one
            del touched
            if answer is not None:
                answer.put(True)


def _not_genuine(frame, index: int, line: int, expected: dict, checks: _Checks) -> str:
    code = frame.f_code
    if expected.get(index) is None or canonical(code) != expected[index]:
        return f"test cell {index}'s start was claimed by code other than the test"
    if frame.f_globals is not checks.user_ns or frame.f_builtins is not checks.builtins:
        return f"test cell {index} was run outside the notebook's namespace"
    if frame.f_lineno != line:
        return f"test cell {index}'s start was claimed from the wrong place"
    return ""


def _releaser(release: SimpleQueue) -> None:
    while True:
        if release.get() is None:
            return


# --- installation -------------------------------------------------------------
def install(cfg: dict):
    """Start the worker, install the audit hook; returns a function that makes the
    cells' AST transformer for a shell.

    `cfg`: key (hex), channel_fd, tests (sources, in notebook order), folder,
    protected (shipped file names), student_dirs, library_dirs, writable,
    source_dir, confined (no uid of its own: the hook confines writes).
    Call before any student code runs; `cfg` loses its key and test sources."""
    key = bytes.fromhex(cfg.pop("key"))
    sources = list(cfg.pop("tests"))
    digests: dict[str, list[int]] = {}
    for index, source in enumerate(sources):
        try:
            digests.setdefault(digest(parse_cell(source)), []).append(index)
        except SyntaxError:
            continue
    requests: SimpleQueue = SimpleQueue()
    setup: SimpleQueue = SimpleQueue()
    release: SimpleQueue = SimpleQueue()
    setup.put((key, cfg["channel_fd"], sources, dict(cfg)))
    del key, sources
    worker = _thread.start_new_thread(_worker, (requests, setup, release))
    _thread.start_new_thread(_releaser, (release,))
    soft, hard = resource.getrlimit(ARM_LIMIT)
    unarmed = hard if hard != resource.RLIM_INFINITY else 2**20
    resource.setrlimit(ARM_LIMIT, (min(soft, unarmed - 1) if soft != resource.RLIM_INFINITY else unarmed - 1, unarmed))
    sys.addaudithook(_make_hook(cfg, requests, worker, unarmed))
    return lambda shell: TestWrapper(digests, shell)


def _make_hook(cfg: dict, requests: SimpleQueue, worker: int, unarmed: int):
    folder = os.path.realpath(cfg["folder"])
    writable = tuple(os.path.realpath(p) for p in cfg["writable"])
    library = tuple(os.path.realpath(d) + os.sep for d in cfg["library_dirs"])
    source = os.path.realpath(cfg["source_dir"]) if cfg.get("source_dir") else ""
    confined = bool(cfg.get("confined"))
    shipped = frozenset(os.path.realpath(os.path.join(folder, name)) for name in cfg.get("protected", []))
    me = os.getpid()
    get_ident, getframe, realpath, basename = _thread.get_ident, sys._getframe, os.path.realpath, os.path.basename
    getrlimit, setrlimit = resource.getrlimit, resource.setrlimit
    put = requests.put
    coroutine_maker = types.coroutine.__code__
    watched = frozenset({
        "pyconc.arm", "pyconc.begin", "pyconc.end", "import", "code.__new__", "marshal.loads", "marshal.load",
        "open", "os.kill", "os.killpg", "os.system", "os.remove", "os.rmdir", "os.rename", "os.replace",
        "os.chmod", "os.chown", "os.truncate", "os.link", "os.symlink", "os.mkdir", "shutil.rmtree",
        "sys.monitoring.register_callback", *FRAME_EVENTS,
    })
    refused_everywhere = frozenset({"gc.get_objects", "gc.get_referrers", "gc.get_referents",
                                    "sys._current_frames", "sys._current_exceptions",
                                    "sys.monitoring.register_callback"})
    changes = frozenset({"os.remove", "os.rmdir", "os.rename", "os.replace", "os.chmod", "os.chown",
                         "os.truncate", "os.link", "os.symlink", "os.mkdir", "shutil.rmtree"})

    def inside(path, roots) -> bool:
        try:
            real = realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return True
        return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots)

    def ours(pid: int) -> bool:
        if pid in (0, -1) or pid < 0:
            return False
        try:
            while pid > 1:
                if pid == me:
                    return True
                with open(f"/proc/{pid}/stat") as fh:
                    pid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        return False

    def caller_in(files, prefixes=(), depth=3) -> bool:
        """Whether the Python code that raised the event (`depth` frames up from here)
        comes from one of `files` or from under one of `prefixes`."""
        filename = getframe(depth).f_code.co_filename
        if type(filename) is not str or filename.startswith("<"):
            return False
        real = realpath(filename)
        return real in files or (bool(prefixes) and real.startswith(prefixes))

    def trusted_caller() -> bool:
        """Called from the Python installation's code or a shipped helper (which use these
        calls and hand back no frames or objects), not from the submission's."""
        return caller_in(shipped, library, depth=3)

    def hook(event, args):
        if event not in watched:
            return
        armed = getrlimit(ARM_LIMIT)[1] != unarmed
        if get_ident() == worker:  # in the worker's thread, only the worker's own calls belong
            if event == "object.__getattr__" and (len(args) < 2 or args[1] not in FRAME_ATTRIBUTES):
                return  # (the worker reads code objects; only frames are out of bounds here)
            if armed and (event in FRAME_EVENTS or event.startswith("pyconc.")):
                put(("incident", f"{event} in the guard's thread", None, None))
                raise RuntimeError(f"{event} is not allowed while grading")
            return
        if event in refused_everywhere and armed and not trusted_caller():
            raise RuntimeError(f"{event} is not allowed while grading")
        if event.startswith("pyconc."):
            if os.getpid() != me:
                return  # a forked copy of the kernel: the worker is not there
            if event == "pyconc.arm":
                if not armed:
                    answer = SimpleQueue()
                    put(("arm", None, tuple(args), answer))
                    answer.get(timeout=WAIT)
                    # modules imported from now on are compiled from their source: no
                    # bytecode (marshal) is read, so none can be forged
                    sys.implementation.cache_tag = None
                    setrlimit(ARM_LIMIT, (0, unarmed - 1))  # one way: the process cannot raise it again
                return
            if len(args) != 1 or type(args[0]) is not int:
                put(("incident", f"{event} called with {len(args)} arguments", None, None))
                return
            if not armed:
                return
            answer = SimpleQueue()
            put((event[len("pyconc."):], args[0], getframe(1), answer))
            try:
                answer.get(timeout=WAIT)
            except Empty:
                pass
            return
        if event in ("sys.settrace", "sys.setprofile"):
            # (the event does not say what is set: even None is refused; the shipped
            # helpers may set one, on their own threads)
            if armed and not caller_in(shipped, depth=2):
                raise RuntimeError(f"{event} is not allowed while grading")
            return
        if event in ("sys._getframe", "object.__getattr__"):
            return
        if event == "import":
            name = args[0] if args else ""
            filename = args[1] if len(args) > 1 else None
            if type(name) is str and name.split(".")[0] in DENIED_IMPORTS:
                raise ImportError(f"{name} is not available while grading: it gives direct access to memory")
            if type(filename) is str and filename.endswith((".so", ".pyd", ".dylib")) \
                    and not realpath(filename).startswith(library):
                raise ImportError(f"extension modules from outside the Python installation cannot be loaded "
                                  f"while grading: {filename}")
            return
        if event in ("code.__new__", "marshal.loads", "marshal.load"):
            # (types.coroutine marks a generator's code as awaitable: flags only)
            if armed and not (event == "code.__new__" and getframe(1).f_code is coroutine_maker):
                raise RuntimeError(f"{event} is not allowed while grading")
            return
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            try:
                name = os.fsdecode(args[0])
            except (TypeError, ValueError):
                return
            if basename(name) == "mem" or basename(realpath(name)) == "mem":
                raise PermissionError(f"opening {name!r} is not allowed while grading")
            if source and inside(name, [source]):
                raise PermissionError("the course's source folder cannot be read while grading")
            if confined and armed:
                mode = args[1] if len(args) > 1 and isinstance(args[1], str) else "r"
                flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
                writing = any(c in mode for c in "wax+") or flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC)
                if writing and not inside(name, writable):
                    raise PermissionError(f"writing {name!r} is not allowed while grading")
            return
        if not armed:
            return
        if event in ("os.kill", "os.killpg"):
            pid = args[0]
            if event == "os.kill" and (pid == os.getpid() or ours(pid)):
                return
            if isinstance(pid, int) and pid > 0 and not os.path.exists(f"/proc/{pid}"):
                # gone already (e.g. a worker another thread has just reaped): what the
                # system call itself would say, which multiprocessing expects and ignores
                raise ProcessLookupError(errno.ESRCH, os.strerror(errno.ESRCH))
            raise PermissionError(f"{event}({pid}) is not allowed while grading: not a process of this submission")
        if event == "os.symlink" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            try:
                if basename(os.fsdecode(args[0])) == "mem":
                    raise PermissionError("links to process memory are not allowed while grading")
            except (TypeError, ValueError):
                pass
        if not confined:
            return
        if event in changes:
            paths = [a for a in args if isinstance(a, (str, bytes, os.PathLike))]
            if event == "os.symlink":
                paths = paths[1:]  # where the link goes, not what it names
            if any(not inside(p, writable) for p in paths):
                raise PermissionError(f"{event} outside the submission folder is not allowed while grading")
        elif event == "os.system":
            raise PermissionError("os.system is not allowed while grading")

    return hook
