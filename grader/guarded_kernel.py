"""An IPython kernel that runs grader.guard before every cell and reports
its findings in the execute_reply metadata (key ``pyconc_guard``)."""
from __future__ import annotations

import os

from ipykernel.ipkernel import IPythonKernel
from ipykernel.kernelapp import IPKernelApp

from grader import guard as guard_module
from grader.guard import Guard

KEY = "pyconc_guard"


class GuardedKernel(IPythonKernel):
    guard = None
    findings: list = []

    async def do_execute(self, code, silent, *args, **kwargs):
        if self.guard is None:
            guard_module.ARMED.append(True)  # arms grader/kernel.py's audit hook
            cfg = self._sandbox
            self.guard = Guard(self.shell, cfg["folder"], cfg.get("protected", []))
        self.findings = self.guard.check()
        return await super().do_execute(code, silent, *args, **kwargs)

    def finish_metadata(self, parent, metadata, reply_content):
        metadata = super().finish_metadata(parent, metadata, reply_content)
        metadata[KEY] = {"findings": list(self.findings), "network": os.environ.get("PYCONC_NETWORK", "")}
        return metadata


def launch(cfg: dict) -> None:
    GuardedKernel._sandbox = cfg
    IPKernelApp.launch_instance(kernel_class=GuardedKernel)
