"""The guard inside the grading kernel: what vouches for each test cell.

Student code runs in the same process as the tests, so anything a Python
object holds can be reached and changed by it: a flag, a method, a list of
transformers, the kernel itself, a module's functions.  The guard therefore
trusts none of them.  It vouches for a test cell only when it has seen that
cell's own code run from start to finish, and it reports to the grader through
a channel nobody else in the process can write to (grader.channel).

How a test cell is vouched for
------------------------------
* Before any student code runs, the guard learns the test cells' sources and
  compiles each one wrapped like this (the wrapper keeps the cell's line
  numbers, so tracebacks show the test's own lines)::

      try:
          __import__("sys").audit("pyconc.begin", i)     # on line BEGIN
          <the test cell's code>
      except BaseException:
          __import__("sys").audit("pyconc.end", i)       # on line END_FAIL
          raise
      else:
          __import__("sys").audit("pyconc.end", i)       # on line END_PASS

  An IPython AST transformer applies the same wrapper to the cells the
  notebook sends (it is reachable by student code: removing it only means the
  guard never sees the tests run, and they score nothing).
* ``sys.audit`` calls the audit hook (PEP 578: it cannot be removed).  The
  hook hands the calling frame to the guard's worker thread, which checks that
  the frame runs exactly the wrapped code of test ``i`` (same bytecode, names
  and constants), with the notebook's namespace and the real builtins, that
  test ``i`` has not started before, and, for ``end``, that it is the frame
  that began and on which of the two lines it stands: the outcome comes from
  where the code is, not from any argument.  A frame cannot be made to run
  other code, so a call from anywhere else is told apart, and breaks the
  channel.
* At each begin and end the worker also looks for tampering that a genuine
  run could still be fooled by (see ``_Checks``).  Its findings travel with
  the record.
* The grader (grader.execute) gives a test cell its points only if the
  channel says it passed, with no findings; a cell that would score without
  that is reported as tampering.

What keeps the guard out of reach
---------------------------------
The module you are reading is imported as usual for the transformer (which
student code may reach).  The guard that runs, the audit hook and its worker,
is a second copy of this file's code, executed by ``install`` into a namespace
of its own, with its own copy of the builtins, and with every function it
calls bound when it starts (``_write = os.write``...): nothing a submission
can import, patch or rebind is looked up while it runs.  No object student code
can reach refers to that namespace: the hook is held only by the interpreter's
list of audit hooks, and the worker's state only by its own thread, started
with ``_thread.start_new_thread`` (no Thread object holds its arguments).  The
key that signs records exists only in the grader and in that thread's frame.

What could reach them anyway is refused by the hook: in every thread, what
would reach another thread's frames or raw memory (``gc.get_objects``,
``gc.get_referrers``, ``gc.get_referents``, ``sys._current_frames``, trace and
profile functions (which could also move a test's frame to another line),
whoever calls them; importing ctypes, cffi,
numpy, or an extension module from outside the Python installation; building
code objects: ``types.CodeType``, ``code.replace``, ``marshal``; opening
``/proc/*/mem``); and, in the worker's thread, any access to a frame at all,
which is reported.  The worker never runs in the main thread, where Python
signal handlers run (they receive the interrupted frame), and it pauses the
garbage collector while it works and drops what it touched in another thread,
so no finalizer of the submission's runs in its thread.  "Armed" (writes
confined, signals limited) is an rlimit lowered once, which an unprivileged
process cannot raise again.

What is not prevented: a memory-safety bug in CPython itself; and, without
root, a program the submission starts outside Python runs as the grader's own
user (README, "Grading that cannot be hung or fooled").
"""
from __future__ import annotations

import _hashlib
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
import types
from _queue import Empty, SimpleQueue

BEGIN, END_PASS, END_FAIL = 1_000_001, 1_000_002, 1_000_003
ARM_LIMIT = resource.RLIMIT_MSGQUEUE   # lowered once at arming: the one-way "armed" flag
DENIED_IMPORTS = frozenset({"ctypes", "_ctypes", "cffi", "_cffi_backend", "numpy"})
REFUSED_EVERYWHERE = frozenset({"gc.get_objects", "gc.get_referrers", "gc.get_referents",
                                "sys._current_frames", "sys._current_exceptions",
                                "sys.monitoring.register_callback"})
FRAME_EVENTS = frozenset({"sys._getframe", "object.__getattr__", "sys.settrace", "sys.setprofile",
                          *REFUSED_EVERYWHERE})
FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back"})
CHANGES = frozenset({"os.remove", "os.rmdir", "os.rename", "os.replace", "os.chmod", "os.chown",
                     "os.truncate", "os.link", "os.symlink", "os.mkdir", "shutil.rmtree", "os.utime"})
WATCHED = frozenset({"pyconc.arm", "pyconc.begin", "pyconc.end", "import", "code.__new__", "marshal.loads",
                     "marshal.load", "open", "os.kill", "os.killpg", "os.system", *CHANGES, *FRAME_EVENTS})
HOOKS = ("excepthook", "displayhook", "breakpointhook", "unraisablehook")
SHELL_LISTS = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")
WAIT = 60.0  # s a test waits for the worker (the worker answers in milliseconds)

# Everything the running guard calls, bound now (before any student code runs).
_FUNCTION, _METHOD, _CODE, _MODULE = types.FunctionType, types.MethodType, types.CodeType, types.ModuleType
_PARTIAL, _FRAME = functools.partial, types.FrameType
_MODULE_DICT = types.ModuleType.__dict__["__dict__"].__get__
_TYPE_DICT = type.__dict__["__dict__"].__get__
_FUNC_DICT = types.FunctionType.__dict__["__dict__"].__get__
_write, _getpid, _fsdecode, _lstat, _readlink, _getcwd, _strerror = \
    os.write, os.getpid, os.fsdecode, os.lstat, os.readlink, os.getcwd, os.strerror
_O_WRONLY, _O_RDWR, _O_CREAT, _O_TRUNC = os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_TRUNC
_S_ISLNK, _PathLike = stat.S_ISLNK, os.PathLike
_getframe, _SYS_DICT, _MODULES, _IMPLEMENTATION = sys._getframe, vars(sys), sys.modules, sys.implementation
_getrlimit, _setrlimit, _RLIM_INFINITY = resource.getrlimit, resource.setrlimit, resource.RLIM_INFINITY
_get_ident, _start_thread = _thread.get_ident, _thread.start_new_thread
_gc_disable, _gc_enable, _gc_isenabled = gc.disable, gc.enable, gc.isenabled
_hmac_sha256 = functools.partial(_hashlib.hmac_digest, digest="sha256")
_ESRCH = errno.ESRCH
_COROUTINE_MAKER = types.coroutine.__code__


# --- the wrapper ------------------------------------------------------------------
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


def compile_wrapped(source: str, index: int):
    return compile(wrap(parse_cell(source), index), "<test>", "exec",
                   ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)


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


class TestWrapper(ast.NodeTransformer):
    """IPython AST transformer: wraps the cells whose code is a test cell's (known by
    digest only: the hidden tests' sources are not kept where student code could read them).

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


# --- installation -----------------------------------------------------------------
def install(cfg: dict):
    """Start the guard; returns a function that makes the cells' AST transformer for a shell.

    `cfg`: key (hex), channel_fd, tests (sources, in notebook order), folder,
    protected (shipped file names), student_dirs, library_dirs, writable,
    source_dir, confined (no uid of its own: the hook confines writes).
    Call before any student code runs; `cfg` loses its key and test sources."""
    key = bytes.fromhex(cfg.pop("key"))
    sources = list(cfg.pop("tests"))
    digests: dict[str, list[int]] = {}
    expected: dict[int, tuple] = {}
    for index, source in enumerate(sources):
        try:
            digests.setdefault(digest(parse_cell(source)), []).append(index)
            expected[index] = canonical(compile_wrapped(source, index))
        except SyntaxError:
            continue
    # the running guard: this file's code again, in a namespace no other object refers to
    namespace = {"__builtins__": dict(vars(builtins)), "__name__": "grader.guard (running)"}
    with open(__file__, "rb") as fh:
        exec(compile(fh.read(), __file__, "exec", dont_inherit=True), namespace)
    hook = namespace["_start"](key, dict(cfg), expected)
    sys.addaudithook(hook)
    del namespace, hook, key, sources, expected
    return lambda shell: TestWrapper(digests, shell)


# --- what runs: everything below is called only in the private copy ----------------
def _start(key: bytes, cfg: dict, expected: dict):
    """Start the worker and its releaser; return the audit hook."""
    requests, setup, release = SimpleQueue(), SimpleQueue(), SimpleQueue()
    setup.put((key, cfg, expected))
    soft, hard = _getrlimit(ARM_LIMIT)
    unarmed = hard if hard != _RLIM_INFINITY else 2**20
    _setrlimit(ARM_LIMIT, (min(soft, unarmed - 1) if soft != _RLIM_INFINITY else unarmed - 1, unarmed))
    worker = _start_thread(_worker, (requests, setup, release))
    _start_thread(_releaser, (release,))
    return _make_hook(cfg, requests, worker, unarmed)


def _resolve(path: str) -> str:
    """os.path.realpath, from system calls alone (the library's version calls Python
    functions a submission could patch)."""
    if not path.startswith("/"):
        path = _getcwd().rstrip("/") + "/" + path
    done, todo, links = "", [p for p in path.split("/") if p], 0
    while todo:
        part = todo.pop(0)
        if part == ".":
            continue
        if part == "..":
            done = done.rsplit("/", 1)[0]
            continue
        candidate = done + "/" + part
        try:
            is_link = _S_ISLNK(_lstat(candidate).st_mode)
        except OSError:
            done = candidate
            continue
        if is_link and links < 40:
            links += 1
            target = _readlink(candidate)
            if target.startswith("/"):
                done = ""
            todo = [p for p in target.split("/") if p] + todo
        else:
            done = candidate
    return done or "/"


def _is_link(path: str) -> bool:
    try:
        return _S_ISLNK(_lstat(path).st_mode)
    except (OSError, ValueError):
        return False


def _under(path: str, roots) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _make_hook(cfg: dict, requests, worker: int, unarmed: int):
    folder = _resolve(cfg["folder"])
    writable = tuple(_resolve(p) for p in cfg["writable"])
    library = tuple(_resolve(d).rstrip("/") + "/" for d in cfg["library_dirs"])
    source = _resolve(cfg["source_dir"]) if cfg.get("source_dir") else ""
    confined = bool(cfg.get("confined"))
    me = _getpid()
    put = requests.put
    trusted = {"code.__new__": [_COROUTINE_MAKER]}  # (completed at arming: _trusted_callers)

    def decoded(path):
        try:
            return _fsdecode(path)
        except (TypeError, ValueError):
            return None

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

    def ask(kind: str, index, frame) -> None:
        answer = SimpleQueue()
        put((kind, index, frame, answer))
        try:
            answer.get(timeout=WAIT)
        except Empty:
            pass

    def hook(event, args):
        if event not in WATCHED:
            return
        armed = _getrlimit(ARM_LIMIT)[1] != unarmed
        if _get_ident() == worker:  # in the worker's thread, only the worker's own calls belong
            if event == "object.__getattr__" and (len(args) < 2 or args[1] not in FRAME_ATTRIBUTES):
                return  # (the worker reads code objects; only frames are out of bounds here)
            if armed and (event in FRAME_EVENTS or event.startswith("pyconc.")):
                put(("incident", f"{event} in the guard's thread", None, None))
                raise RuntimeError(f"{event} is not allowed while grading")
            return
        if event in REFUSED_EVERYWHERE:
            # (not even for the installation's or the shipped helpers' code in general: a
            # function can be made from any code object with globals of one's own; only
            # for library functions whose result goes nowhere, see _trusted_callers)
            if armed and _getframe(1).f_code not in trusted.get(event, ()):
                raise RuntimeError(f"{event} is not allowed while grading")
            return
        if event.startswith("pyconc."):
            if _getpid() != me:
                return  # a forked copy of the kernel: the worker is not there
            if event == "pyconc.arm":
                if not armed and len(args) == 3:
                    trusted.update(_trusted_callers())
                    ask("arm", None, tuple(args))
                    # modules imported from now on are compiled from their source: no
                    # bytecode (marshal) is read, so none can be forged
                    _IMPLEMENTATION.cache_tag = None
                    _setrlimit(ARM_LIMIT, (0, unarmed - 1))  # one way: cannot be raised again
                return
            if not armed:
                return
            if len(args) != 1 or type(args[0]) is not int:
                put(("incident", f"{event} called with other arguments", None, None))
                return
            ask(event[len("pyconc."):], args[0], _getframe(1))
            return
        if event in ("sys.settrace", "sys.setprofile"):
            # (a trace function can move a frame to another line: a test's too.  The event
            # does not say what is set: even None is refused)
            if armed:
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
                    and not _resolve(filename).startswith(library):
                raise ImportError(f"extension modules from outside the Python installation cannot be loaded "
                                  f"while grading: {filename}")
            return
        if event in ("code.__new__", "marshal.loads", "marshal.load"):
            # (types.coroutine marks a generator's code as awaitable, hypothesis gives its
            # wrappers their test's file name: code objects that change no bytecode)
            if armed and _getframe(1).f_code not in trusted.get(event, ()):
                raise RuntimeError(f"{event} is not allowed while grading")
            return
        if event == "open":
            name = decoded(args[0]) if args and isinstance(args[0], (str, bytes, _PathLike)) else None
            if name is None:
                return
            if name.rsplit("/", 1)[-1] == "mem" or (_is_link(name) and _resolve(name).rsplit("/", 1)[-1] == "mem"):
                raise PermissionError(f"opening {name!r} is not allowed while grading")
            if confined and source and _under(_resolve(name), [source]):
                # (as root, the sandbox uid cannot read it anyway, and does not even see it)
                raise PermissionError("the course's source folder cannot be read while grading")
            if confined and armed:
                mode = args[1] if len(args) > 1 and type(args[1]) is str else "r"
                flags = args[2] if len(args) > 2 and type(args[2]) is int else 0
                writing = any(c in mode for c in "wax+") or flags & (_O_WRONLY | _O_RDWR | _O_CREAT | _O_TRUNC)
                if writing and not _under(_resolve(name), writable):
                    raise PermissionError(f"writing {name!r} is not allowed while grading")
            return
        if not armed:
            return
        if event in ("os.kill", "os.killpg"):
            pid = args[0]
            if event == "os.kill" and type(pid) is int and (pid == _getpid() or ours(pid)):
                return
            if type(pid) is int and pid > 0:
                try:
                    _lstat(f"/proc/{pid}")
                except OSError:
                    # gone already (e.g. a worker another thread has just reaped): what the
                    # system call itself would say, which multiprocessing expects and ignores
                    raise ProcessLookupError(_ESRCH, _strerror(_ESRCH)) from None
            raise PermissionError(f"{event}({pid}) is not allowed while grading: not a process of this submission")
        if event == "os.symlink" and args:
            target = decoded(args[0]) if isinstance(args[0], (str, bytes, _PathLike)) else None
            if target is not None and target.rsplit("/", 1)[-1] == "mem":
                raise PermissionError("links to process memory are not allowed while grading")
        if not confined:
            return
        if event in CHANGES:
            paths = [decoded(a) for a in args if isinstance(a, (str, bytes, _PathLike))]
            if event == "os.symlink":
                paths = paths[1:]  # where the link goes, not what it names
            if any(p is None or not _under(_resolve(p), writable) for p in paths):
                raise PermissionError(f"{event} outside the submission folder is not allowed while grading")
        elif event == "os.system":
            raise PermissionError("os.system is not allowed while grading")

    return hook


def _trusted_callers() -> dict:
    """{event: code objects of the library functions that may raise it while grading}.

    Each one is read here, once, before any student code runs.  They are
    allowed because of what they do with the result, whatever globals they
    run with: types.coroutine and hypothesis's impersonate copy a code object
    and change only its flags, file or first line (no bytecode); hypothesis's
    register_random only tests whether gc.get_referrers found anything."""
    found = {"code.__new__": [_COROUTINE_MAKER], "gc.get_referrers": []}

    def function(module_name: str, name: str):
        module = _MODULES.get(module_name)
        value = _MODULE_DICT(module).get(name) if isinstance(module, _MODULE) else None
        return value.__code__ if type(value) is _FUNCTION else None

    impersonate = function("hypothesis.internal.reflection", "impersonate")
    if impersonate is not None:
        found["code.__new__"] += [c for c in impersonate.co_consts if type(c) is _CODE and c.co_name == "accept"]
    register_random = function("hypothesis.internal.entropy", "register_random")
    if register_random is not None:
        found["gc.get_referrers"].append(register_random)
    return found


def _releaser(release) -> None:
    while True:
        if release.get() is None:
            return


def _record(key: bytes, seq: int, kind: str, fields: dict) -> bytes:
    """The channel's line (grader.channel reads it), made without json: its Python code
    could be patched, and it would see the record before it is signed."""
    parts = [f'"kind":{_text(kind)}', f'"seq":{seq}']
    for name, value in fields.items():
        parts.append(f"{_text(name)}:{_value(value)}")
    body = "{" + ",".join(parts) + "}"
    return (body + "\t" + _hmac_sha256(key, body.encode()).hex() + "\n").encode()


def _text(value: str) -> str:
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch in '"\\' or code < 0x20 or code > 0x7e:
            out.append(f"\\u{code:04x}" if code <= 0xffff else "?")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _value(value) -> str:
    kind = type(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is str:
        return _text(value)
    if kind in (list, tuple):
        return "[" + ",".join(_value(v) for v in value) + "]"
    return "null"


def _worker(requests, setup, release) -> None:
    """The guard's worker thread: verifies test frames and signs records."""
    key, cfg, expected = setup.get()
    fd = cfg["channel_fd"]
    checks = _Checks(cfg)
    state = {"seq": 0, "broken": False}
    begun: dict = {}

    def send(kind: str, **fields) -> None:
        if state["broken"]:
            return
        record = _record(key, state["seq"], kind, fields)
        state["seq"] += 1
        try:
            written = _write(fd, record)
        except OSError:
            written = 0
        if written != len(record) or kind == "broken":
            state["broken"] = True  # nothing more is vouched for

    send("ready", pid=_getpid())
    while True:
        job = requests.get()
        if job is None:
            return
        kind, index, frame, answer = job
        paused = _gc_isenabled()
        _gc_disable()
        touched: list = []
        try:
            if kind == "incident":
                send("broken", why=index if type(index) is str else "?")
            elif kind == "arm":
                checks.arm(*frame)
            elif kind == "begin":
                why = _not_genuine(frame, index, expected, checks)
                if why or index in begun:
                    send("broken", why=why or f"test cell {index} was started a second time")
                else:
                    begun[index] = frame
                    send("begin", test=index, findings=checks.check(touched))
            elif kind == "end":
                if type(index) is not int or begun.get(index) is not frame \
                        or frame.f_lineno not in (END_PASS, END_FAIL):
                    send("broken", why=f"the end of test cell {index} was claimed by code other than the test")
                else:
                    passed = frame.f_lineno == END_PASS
                    begun[index] = None
                    send("end", test=index, passed=passed, findings=checks.check(touched))
        except Exception as exc:  # the guard itself failed: nothing more is vouched for
            send("broken", why=f"the guard failed: {type(exc).__name__}")
        finally:
            frame = job = None
            if paused:
                _gc_enable()
            release.put(touched)  # dropped in another thread: no finalizer runs in this one
            del touched
            if answer is not None:
                answer.put(True)


def _not_genuine(frame, index, expected: dict, checks) -> str:
    if type(index) is not int or index not in expected:
        return "a test's start was claimed for an unknown test"
    if canonical(frame.f_code) != expected[index]:
        return f"test cell {index}'s start was claimed by code other than the test"
    if frame.f_globals is not checks.user_ns or frame.f_builtins is not checks.builtins:
        return f"test cell {index} was run outside the notebook's namespace"
    if frame.f_lineno != BEGIN:
        return f"test cell {index}'s start was claimed from the wrong place"
    return ""


class _Checks:
    """The worker's view of an untouched kernel, and the comparison with it.

    Everything here runs in the worker thread, with the garbage collector
    paused.  It never calls code a submission could have written: types are
    compared with ``type(x) is ...``, dictionaries are read through C-level
    descriptors, and objects are compared by identity.

    What it compares, at the start and the end of every test:

    * builtins, the ``sys`` hooks (IPython's own, set while a cell runs, are
      recognised), the hooks that give new threads a trace or profile function
      (setting one is refused by the audit hook), IPython's transformer lists,
      custom exception handler and event callbacks, and the attributes of the
      objects on the way from an execute request to the test's code;
    * every module loaded when the first cell ran (and every module loaded
      later, from when the worker first sees it): ``sys.modules`` entries, and
      their functions, classes and submodules, and the members of those
      classes, by identity (a bound method counts as the same when its
      function and object are);
    * the shipped helper files, byte for byte, and their modules: each
      function and class they define must be the one their source compiles to;
    * anywhere else: a function written in the notebook or in the
      submission's folder, found in a module that is not the submission's.
    """

    def __init__(self, cfg: dict):
        self.student_dirs = tuple(_resolve(d).rstrip("/") + "/" for d in cfg["student_dirs"])
        # (the interpreter's and the course's own code are never the submission's, even where
        # they live under a folder students may write to, such as a clone in /tmp)
        self.library_dirs = tuple(_resolve(d).rstrip("/") + "/" for d in cfg["library_dirs"])
        self.protected: dict[str, bytes] = {}
        for name in cfg.get("protected", []):
            path = _resolve(cfg["folder"] + "/" + name)
            try:
                with open(path, "rb") as fh:
                    self.protected[path] = fh.read()
            except OSError:
                continue
        self.expected_defs: dict[str, dict] = {}      # shipped file -> its definitions
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

    def arm(self, shell, user_ns: dict, builtins_dict: dict) -> None:
        """Snapshot the untouched kernel (called once, before any student code runs)."""
        self.shell, self.user_ns, self.builtins = shell, user_ns, builtins_dict
        self.pristine_builtins = dict(builtins_dict)
        self.hooks = {name: (_SYS_DICT.get(name),) for name in HOOKS}
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
        # the objects on the way from an execute request to the test's code: their own
        # attributes (a method rebound on the instance is a function in its __dict__)
        self.instances = {}
        for label, obj in (("shell", shell), ("kernel", getattr(shell, "kernel", None)),
                           ("shell.compile", getattr(shell, "compile", None)),
                           ("shell.displayhook", getattr(shell, "displayhook", None)),
                           ("shell.display_pub", getattr(shell, "display_pub", None)),
                           ("shell.events", getattr(shell, "events", None)),
                           ("shell.input_transformer_manager", manager)):
            try:
                attrs = object.__getattribute__(obj, "__dict__")
            except (AttributeError, TypeError):
                continue
            self.instances[label] = (attrs, {k: v for k, v in attrs.items() if type(k) is str and callable(v)})
        for name, module in list(_MODULES.items()):
            self._adopt(name, module, [])

    def _adopt(self, name, module, touched: list) -> list:
        """Remember a module as it is now (its callables, submodules, and its classes'
        members), and say what in it the submission has planted already."""
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

    def _scan(self, name: str, module, touched: list) -> list:
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

    def _students(self, code) -> bool:
        """Compiled from a notebook cell or from a file of the submission's folder."""
        cached = self.verdicts.get(id(code))
        if cached is not None and cached[0] is code:
            return cached[1]
        filename = code.co_filename
        if type(filename) is not str or filename.startswith("<"):
            verdict = type(filename) is not str or filename.startswith("<ipython-input")
        else:
            verdict = self._student_file(filename)
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
        return type(file) is str and self._student_file(file)

    def _student_file(self, path: str) -> bool:
        return path.startswith(self.student_dirs) and not path.startswith(self.library_dirs) \
            and path not in self.protected

    def check(self, touched: list) -> list:
        found: list = []
        current = self.builtins
        if len(current) != len(self.pristine_builtins):
            found.append("builtins added or removed")
        for name, value in list(current.items()):
            if type(name) is not str or not _same_object(value, self.pristine_builtins.get(name, self)):
                found.append(f"builtins.{name if type(name) is str else '?'} changed")
        for name, allowed in self.hooks.items():
            if not any(_same_object(_SYS_DICT.get(name), original) for original in allowed):
                found.append(f"sys.{name} replaced")
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
            for label, (attrs, callables) in self.instances.items():
                for attr, value in list(attrs.items()):
                    if type(attr) is not str:
                        continue
                    touched.append(value)
                    original = callables.get(attr, self)
                    if original is not self and not _same_object(value, original):
                        found.append(f"IPython's {label}.{attr} replaced")
                    elif original is self and self._planted(value, touched):
                        found.append(f"IPython's {label}.{attr} replaced by the submission's code")
        for name, module in list(_MODULES.items()):  # first seen now: from now on, compared
            if type(name) is str and name not in self.modules:
                found += self._adopt(name, module, touched)
        for name, module in list(self.modules.items()):
            if _MODULES.get(name) is not module:
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
                        found.append(f"{key[0]}.{key[1]}.{member if type(member) is str else '?'} "
                                     "replaced by the submission's code")
            for member, original in members.items():
                value = namespace.get(member, self)
                if value is not original and not _same_object(value, original):
                    touched.append(value)
                    found.append(f"{key[0]}.{key[1]}.{member} {'removed' if value is self else 'replaced'}")
        for path, content in self.protected.items():
            try:
                with open(path, "rb") as fh:
                    now = fh.read()
            except OSError:
                now = None
            name = path.rsplit("/", 1)[-1]
            if now != content:
                found.append(f"read-only file {name} was changed")
            stem = name[:-3] if name.endswith(".py") else name
            module = _MODULES.get(stem)
            if module is None:
                continue
            file = _MODULE_DICT(module).get("__file__") if isinstance(module, _MODULE) else None
            if type(file) is not str or _resolve(file) != path:
                found.append(f"sys.modules[{stem!r}] is not the shipped {name}")
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
    value = _TYPE_DICT(cls).get("__module__")
    return value if type(value) is str else None


def _kind_of_member(item) -> bool:
    return type(item) in (_FUNCTION, staticmethod, classmethod, property, _PARTIAL)


def _same(now: list, then: list) -> bool:
    """Same items, by identity (== could run code the submission wrote)."""
    return len(now) == len(then) and all(a is b for a, b in zip(now, then))


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


def _unwrapped(func, limit: int = 5) -> list:
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
