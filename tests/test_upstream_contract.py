"""Each assumption the grader makes about nbgrader, nbclient, jupyter_client,
ipykernel, IPython, CPython and hypothesis (listed in grader/upstream.py),
checked directly and quickly, so that an upgrade that breaks one fails here,
by name, rather than later in a hostile case."""
import ast
import inspect
import subprocess
import sys
import types

import pytest

from grader import upstream


def test_nbgraders_autograde_pipeline_runs_execute_once_and_the_course_swaps_in_the_sandbox():
    from nbgrader.converters.autograde import Autograde

    default = list(Autograde.class_traits()["autograde_preprocessors"].default())
    assert default.count(upstream.Execute) == 1, default
    from grader.execute import SandboxedExecute

    ours = upstream.autograde_preprocessors()
    assert ours == [SandboxedExecute if p is upstream.Execute else p for p in default]


def test_execute_is_an_nbclient_notebook_client_with_the_hooks_the_sandbox_overrides():
    from nbclient import NotebookClient

    assert issubclass(upstream.Execute, NotebookClient)
    for name in ("preprocess", "preprocess_cell", "create_kernel_manager", "async_start_new_kernel",
                 "start_new_kernel", "setup_kernel"):
        assert callable(getattr(upstream.Execute, name, None)), f"Execute.{name} is gone"
    # start_new_kernel is run_sync(async_start_new_kernel): a subclass must override both
    assert NotebookClient.start_new_kernel is not NotebookClient.async_start_new_kernel
    source = inspect.getsource(NotebookClient.async_start_new_kernel)
    assert "start_kernel(" in source and "**kwargs" in source, "async_start_new_kernel no longer passes kwargs on"
    assert "cwd" in inspect.getsource(NotebookClient.async_start_new_kernel)
    assert issubclass(upstream.CellTimeoutError, Exception) and issubclass(upstream.DeadKernelError, Exception)


def test_a_cell_past_its_limit_goes_through_the_timeout_hook_and_the_iopub_wait():
    """How the sandbox stops a kernel that ignores the interrupt or no longer answers
    (grader.execute.SandboxedExecute._async_handle_timeout)."""
    from nbclient import NotebookClient

    hook = inspect.signature(NotebookClient._async_handle_timeout)
    assert list(hook.parameters)[:3] == ["self", "timeout", "cell"], hook
    poll = inspect.getsource(NotebookClient._async_poll_for_reply)
    # the made-up reply comes from the hook, then the poll waits for the cell's end on IOPub
    assert poll.index("_async_handle_timeout(timeout, cell)") > 0
    assert "self.iopub_timeout" in poll and "if self.raise_on_iopub_timeout" in poll
    assert "raise CellTimeoutError" in poll
    execute = inspect.getsource(NotebookClient.async_execute_cell)
    assert 'cell["metadata"]["execution"] = {}' in execute, "execution metadata is no longer cleared before a cell runs"
    assert '["iopub.status.idle"]' in inspect.getsource(NotebookClient.process_message)
    assert upstream.Execute.class_traits()["error_on_timeout"].default(), "nbgrader no longer makes up a timeout reply"


def test_a_bad_message_from_the_kernel_raises_inside_the_code_that_takes_messages():
    """grader.execute treats an exception raised in upstream.MESSAGE_TAKERS as a forged or garbled
    message: a wrong signature raises in Session.deserialize, an unreadable output in
    NotebookClient.process_message."""
    import nbformat
    from jupyter_client.session import Session
    from nbclient import NotebookClient

    from grader.execute import _from_a_message

    sender, receiver = Session(key=b"forged"), Session(key=b"the kernel's")
    wire = sender.serialize(sender.msg("stream", content={"name": "stdout", "text": "hi"}))
    with pytest.raises(ValueError, match="Invalid Signature") as raised:
        receiver.deserialize(wire[wire.index(b"<IDS|MSG>") + 1:])
    assert _from_a_message(raised.value)

    client = NotebookClient(nbformat.v4.new_notebook())
    cell = nbformat.v4.new_code_cell("print('hi')")
    msg = {"msg_type": "stream", "header": {"msg_type": "stream"}, "parent_header": {"msg_id": "m"},
           "content": {}}
    with pytest.raises(KeyError) as raised:
        client.process_message(msg, cell, 0)
    assert _from_a_message(raised.value)
    try:
        {}["the grader's own"]
    except KeyError as own:
        assert not _from_a_message(own), "an error of the grader's own code is not a message's"


def test_jupyter_client_passes_popen_arguments_on_and_signals_the_process_group():
    from jupyter_client import launcher
    from jupyter_client.provisioning.local_provisioner import LocalProvisioner

    kept = LocalProvisioner._scrub_kwargs({"pass_fds": (5,), "cwd": "/", "extra_arguments": [], "kernel_id": "x"})
    assert kept == {"pass_fds": (5,), "cwd": "/"}, kept
    assert "start_new_session" in inspect.getsource(launcher.launch_kernel)
    assert "killpg" in inspect.getsource(LocalProvisioner.send_signal)
    assert "self.pid = self.process.pid" in inspect.getsource(LocalProvisioner.launch_kernel)


def test_nbgrader_scores_errors_and_stderr_zero_and_reads_values_as_partial_credit():
    from nbformat.v4 import new_code_cell, new_output

    def cell(*outputs):
        c = new_code_cell("pass", outputs=list(outputs))
        c.metadata.nbgrader = {"grade": True, "solution": False, "points": 2, "grade_id": "t"}
        return c

    assert upstream.determine_grade(cell()) == (2, 2)
    assert upstream.determine_grade(cell(new_output("error", ename="E", evalue="", traceback=[])))[0] == 0
    assert upstream.determine_grade(cell(new_output("stream", name="stderr", text="x")))[0] == 0
    assert upstream.determine_grade(cell(new_output("execute_result", data={"text/plain": "1"},
                                                    execution_count=1)))[0] == 1


def test_nbgraders_exchange_collects_with_do_copy():
    from nbgrader.exchange.default.collect import ExchangeCollect

    assert list(inspect.signature(ExchangeCollect.do_copy).parameters)[:3] == ["self", "src", "dest"]
    assert "self.do_copy(" in inspect.getsource(ExchangeCollect.copy_files)
    assert callable(upstream.ignore_patterns(exclude=[], include=["*"], max_file_size=1, log=None))


def test_ipython_runs_each_top_level_node_after_the_ast_transformers_with_top_level_await():
    from IPython.core.inputtransformer2 import TransformerManager
    from IPython.core.interactiveshell import InteractiveShell

    assert TransformerManager().transform_cell("x = 1\n") == "x = 1\n"
    run_nodes = inspect.getsource(InteractiveShell.run_ast_nodes)
    assert "PyCF_ALLOW_TOP_LEVEL_AWAIT" in run_nodes and "Module([node]" in run_nodes
    assert "self.transform_ast(" in inspect.getsource(InteractiveShell.run_cell_async)
    assert "sys.excepthook = sys.excepthook, self.excepthook" in inspect.getsource(InteractiveShell.run_code)


def test_ipython_formats_an_error_for_its_history_in_the_method_the_grading_kernel_replaces():
    """grader/sandbox_kernel.py replaces it on the shell, so that each error of a grading is
    formatted once (for the notebook), not a second time for a history nobody reads."""
    from IPython.core.interactiveshell import InteractiveShell

    assert "_format_exception_for_storage" in inspect.getsource(InteractiveShell.run_cell_async)
    assert callable(getattr(InteractiveShell, "_format_exception_for_storage", None))


def test_the_shell_has_what_the_guard_reads():
    from ipykernel.zmqshell import ZMQInteractiveShell

    shell = ZMQInteractiveShell.instance()
    try:
        for name in ("user_ns", "ast_transformers", "input_transformers_cleanup", "input_transformers_post",
                     "input_transformer_manager", "custom_exceptions", "CustomTB", "events", "excepthook",
                     "compile", "displayhook", "display_pub"):
            assert hasattr(shell, name), f"the shell has no {name}"
        manager = shell.input_transformer_manager
        assert isinstance(manager.cleanup_transforms, list) and isinstance(manager.line_transforms, list)
        assert isinstance(shell.events.callbacks, dict)
    finally:
        ZMQInteractiveShell.clear_instance()


def test_ipykernel_launches_a_given_kernel_class_and_polls_no_parent_with_pid_1():
    from ipykernel import kernelapp

    assert "kernel_class" in inspect.signature(kernelapp.IPKernelApp.launch_instance).parameters or \
        "kwargs" in str(inspect.signature(kernelapp.IPKernelApp.launch_instance))
    assert "self.parent_handle != 1" in inspect.getsource(kernelapp.IPKernelApp.init_poller)


AUDIT_PROBE = r"""
import gc, marshal, sys, types
seen = {}
def hook(event, args):
    if event in ("open", "import", "code.__new__", "marshal.loads", "gc.get_objects", "gc.get_referrers",
                 "gc.get_referents", "sys._current_frames", "sys.settrace", "sys.setprofile",
                 "object.__getattr__"):
        seen.setdefault(event, []).append(tuple(type(a).__name__ for a in args))
        if event == "object.__getattr__":
            seen.setdefault("attrs", []).append(args[1])
sys.addaudithook(hook)
open(__file__ if "__file__" in globals() else "/dev/null").close()
import json
(lambda: 0).__code__.replace(co_name="x")
marshal.loads(marshal.dumps(1))
gc.get_objects(); gc.get_referrers(gc); gc.get_referents(gc)
sys._current_frames()
sys.settrace(None); sys.setprofile(None)
sys._getframe().f_code; (lambda: 0).__code__
@types.coroutine
def g():
    yield
print(repr(seen))
"""


def test_cpython_raises_the_audit_events_the_guard_watches_with_their_arguments():
    done = subprocess.run([sys.executable, "-c", AUDIT_PROBE], capture_output=True, text=True, timeout=60)
    seen = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert seen["open"][0][:3] == ("str", "str", "int"), seen["open"][0]
    assert seen["import"][0][:2] == ("str", "str") or seen["import"][0][0] == "str"
    for event in ("code.__new__", "marshal.loads", "gc.get_objects", "gc.get_referrers", "gc.get_referents",
                  "sys._current_frames", "sys.settrace", "sys.setprofile"):
        assert event in seen, f"CPython no longer raises {event}"
    assert {"f_code", "__code__"} <= set(seen["attrs"]), seen["attrs"]
    assert len(seen["code.__new__"]) >= 2, "types.coroutine no longer makes its code object with code.replace"


def test_the_library_calls_allowed_while_grading_still_exist_and_do_what_is_allowed():
    from hypothesis.internal import entropy, reflection

    accept = [c for c in reflection.impersonate.__code__.co_consts if isinstance(c, types.CodeType)
              and c.co_name == "accept"]
    assert accept, "hypothesis's impersonate has no inner accept any more"
    assert "co_filename=" in inspect.getsource(reflection.impersonate) and "co_code" not in \
        inspect.getsource(reflection.impersonate), "impersonate must only rename a code object"
    source = inspect.getsource(entropy.register_random)
    assert "if not gc.get_referrers(r):" in source, "register_random must only test gc.get_referrers' result"
    assert "co_flags" in inspect.getsource(types.coroutine)
