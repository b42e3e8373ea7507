"""Everything the grader takes from nbgrader, nbclient, jupyter_client, ipykernel and
IPython, in one place, with what it assumes of each.

An upgrade that breaks one of these assumptions fails
``tests/test_upstream_contract.py`` with the assumption's name, before anything
else fails in a roundabout way (CONTRIBUTING.md, "Upgrading a pinned package").

What the grader assumes (each checked by a test of that file):

* nbgrader's ``Autograde.autograde_preprocessors`` default runs ``Execute``
  once; the course's list is that default with ``Execute`` replaced by
  ``SandboxedExecute`` (``autograde_preprocessors``), so whatever nbgrader adds
  upstream stays.
* nbgrader's ``Execute`` is nbconvert's ExecutePreprocessor, i.e. nbclient's
  NotebookClient: ``preprocess(nb, resources, km)`` calls ``setup_kernel()``,
  which calls ``start_new_kernel(cwd=<resources path>)``; ``start_new_kernel``
  is ``run_sync(async_start_new_kernel)`` (so a subclass overrides both), which
  passes its keyword arguments to ``KernelManager.start_kernel``;
  ``create_kernel_manager()`` makes ``self.km``; ``preprocess_cell`` runs one
  cell; a dead kernel raises ``DeadKernelError``.  A cell past its time limit
  goes to ``_async_handle_timeout(timeout, cell)``, which interrupts the kernel
  and (nbgrader sets ``error_on_timeout``) makes up an error reply; the poll
  then waits ``iopub_timeout`` for the cell's end on IOPub and raises
  ``CellTimeoutError`` if ``raise_on_iopub_timeout`` (the sandbox turns it on
  only after a timeout: a kernel that ignores the interrupt is stopped).  The
  cell's ``metadata.execution`` is cleared before it runs and gets
  ``iopub.status.idle`` when the kernel ends the request on IOPub.
* A kernel's messages reach nbclient through jupyter_client's
  ``Session.deserialize`` (which checks each message's signature and raises
  ``ValueError`` for a wrong one) and nbclient's ``process_message`` (which
  turns one into the cell's outputs): an exception raised in either while a
  cell runs comes from a message the kernel should never have sent
  (``MESSAGE_TAKERS``).
* jupyter_client's LocalProvisioner passes unknown keyword arguments of
  ``start_kernel`` (``pass_fds``) to ``subprocess.Popen``, starts the kernel in
  a new session, interrupts it by signalling its process group, and keeps
  the launched process's pid in ``provisioner.pid``.
* nbgrader scores a test cell 0 when it has an error output or any stderr
  output, and reads a number in an ``execute_result`` as partial credit
  (``determine_grade``).
* nbgrader's default exchange collects with ``ExchangeCollect.do_copy(src,
  dest)`` (grader.exchange overrides it) and ``nbgrader.utils.ignore_patterns``.
* IPython runs a cell by parsing it (after ``TransformerManager``'s clean-up),
  applying ``shell.ast_transformers`` to the module, and running each
  top-level node as its own code object compiled with
  ``PyCF_ALLOW_TOP_LEVEL_AWAIT``; the shell has the attributes the guard reads
  (``user_ns``, the transformer lists, ``custom_exceptions``, ``CustomTB``,
  ``events.callbacks``, ``excepthook``, ``compile``, ``displayhook``,
  ``display_pub``, ``kernel``), and sets ``sys.excepthook`` to its own
  ``excepthook`` while a cell's code runs.  ``run_cell_async`` formats an error a
  second time, for the session's history, with the shell's
  ``_format_exception_for_storage`` (grader.sandbox_kernel replaces it on the shell).
* ipykernel's ``IPKernelApp.launch_instance(kernel_class=...)`` runs the given
  IPythonKernel subclass; with ``JPY_PARENT_PID=1`` it polls no parent.
* CPython raises the audit events the guard watches, with the arguments it
  reads (``open``: path, mode, flags; ``import``: name, file; ``code.__new__``;
  ``marshal.loads``; ``gc.get_objects``/``get_referrers``/``get_referents``;
  ``sys._current_frames``; ``sys.settrace``/``setprofile``;
  ``object.__getattr__`` for ``f_code`` and ``__code__``), and
  ``types.coroutine`` makes its code object with ``code.replace``.
* hypothesis's ``internal.reflection.impersonate`` (an inner ``accept``) and
  ``internal.entropy.register_random`` are the library calls that build code
  objects and look up referrers while a property-based test runs.
"""
from __future__ import annotations

from jupyter_client.kernelspec import KernelSpecManager  # noqa: F401  (re-exported)
from jupyter_core.utils import run_sync  # noqa: F401
from nbclient.exceptions import CellTimeoutError, DeadKernelError  # noqa: F401
from nbgrader.preprocessors import Execute
from nbgrader.utils import determine_grade, ignore_patterns, is_grade, is_solution  # noqa: F401

# The code that takes in a kernel's messages (see above): its code objects, to find in a traceback.
from jupyter_client.session import Session as _Session  # noqa: E402
from nbclient import NotebookClient as _NotebookClient  # noqa: E402

MESSAGE_TAKERS = frozenset({_Session.deserialize.__code__, _NotebookClient.process_message.__code__})


def autograde_preprocessors(execute=None) -> list:
    """nbgrader's own autograde pipeline, with `execute` (default: the sandbox) in place of Execute."""
    from nbgrader.converters.autograde import Autograde

    if execute is None:
        from grader.execute import SandboxedExecute as execute
    default = list(Autograde.class_traits()["autograde_preprocessors"].default())
    if default.count(Execute) != 1:
        raise RuntimeError("nbgrader's Autograde.autograde_preprocessors no longer runs Execute exactly once: "
                           "the sandbox cannot take its place (see grader/upstream.py)")
    return [execute if step is Execute else step for step in default]
