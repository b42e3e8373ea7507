"""How the grader goes through a notebook's cells (grader.execute.SandboxedExecute.preprocess_cell)
once the kernel is gone: no later cell is sent to it, each is marked as not run."""
import time

import nbformat.v4 as v4
from nbgrader.preprocessors import Execute

import grader.execute as execute


def test_a_kernel_silenced_at_the_first_cell_runs_no_later_cell(monkeypatch):
    """A submission may put its own cell first: a kernel that ends cell 0 without answering is
    as dead as one that does so later, and no later cell is sent to it (each would wait its limit)."""
    sent = []

    def kernel(self, cell, resources, index):
        sent.append(index)
        if index == 0:
            raise execute.KernelNotAnswering("the kernel ended the cell without answering")
        return cell, resources

    monkeypatch.setattr(Execute, "preprocess_cell", kernel)
    ex = execute.SandboxedExecute()
    ex._dead, ex._silenced, ex._iopub_timeout, ex._deadline = False, None, 4, time.monotonic() + 60
    ex._readers, ex._box = [], {}  # (no sandbox was built: no channels to read)
    cells = [v4.new_code_cell("get_ipython().kernel.do_execute = None"), v4.new_code_cell("assert True")]
    for index, cell in enumerate(cells):
        ex.preprocess_cell(cell, {}, index)
    assert sent == [0], f"cells sent to the kernel after it stopped answering at cell 0: {sent[1:]}"
    assert ex._silenced == 0, "the cell the kernel stopped answering at is reported (as tampering)"
    assert cells[1].outputs[0]["ename"] == "KernelDied"
