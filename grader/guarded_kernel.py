"""An IPython kernel that runs grader.guard before every cell and reports
its findings in the execute_reply metadata (key ``pyconc_guard``)."""
from __future__ import annotations

import builtins
import hashlib
import os

from ipykernel.ipkernel import IPythonKernel
from ipykernel.kernelapp import IPKernelApp

from grader import guard as guard_module
from grader.guard import Guard

KEY = "pyconc_guard"
BUILTIN_NAMES = frozenset(vars(builtins))


class GuardedKernel(IPythonKernel):
    guard = None
    findings: list = []
    after_test = False

    async def do_execute(self, code, silent, *args, **kwargs):
        if self.guard is None:
            guard_module.ARMED.append(True)  # arms grader/kernel.py's audit hook
            cfg = self._sandbox
            self.guard = Guard(self.shell, cfg["folder"], cfg.get("protected", []))
            self.tests = set(cfg.get("tests", []))
        is_test = hashlib.sha256(code.encode()).hexdigest() in self.tests
        self.findings = self.guard.check(deep=is_test or self.after_test)
        self.after_test = is_test
        if not is_test:
            return await super().do_execute(code, silent, *args, **kwargs)
        # A test cell sees the real builtins: notebook names that shadow them
        # (isinstance = lambda *a: True) step aside while it runs.
        ns = self.shell.user_ns
        hidden = {name: ns.pop(name) for name in list(ns) if name in BUILTIN_NAMES and not name.startswith("_")}
        try:
            return await super().do_execute(code, silent, *args, **kwargs)
        finally:
            for name, value in hidden.items():
                ns.setdefault(name, value)

    def finish_metadata(self, parent, metadata, reply_content):
        metadata = super().finish_metadata(parent, metadata, reply_content)
        metadata[KEY] = {"findings": list(self.findings), "network": os.environ.get("PYCONC_NETWORK", "")}
        return metadata


def launch(cfg: dict) -> None:
    GuardedKernel._sandbox = cfg
    IPKernelApp.launch_instance(kernel_class=GuardedKernel)
