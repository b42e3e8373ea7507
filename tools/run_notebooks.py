"""Record the course's lectures: Run All + Save, only when the machine can be trusted.

    python -m tools.run_notebooks --all                      # every lecture, Index and glossary
    python -m tools.run_notebooks course/01.02-The-GIL.ipynb ...
    python -m tools.run_notebooks --check                    # only measure the machine, record nothing
    python -m tools.run_notebooks --dry-run course/...       # run and report claims, save nothing

Every notebook is executed top to bottom by nbclient in its own folder with
this environment's kernel, so the stored outputs are what a reader gets, and
saved with the metadata JupyterLab itself writes (so opening a lecture does
not mark it modified).  Cells run without timing metadata.

A lecture whose stored numbers depend on the machine being quiet says so in
its metadata (``"conclab": {"timing": true}``).  For those the recorder

1. measures the machine first (a short calibration): one spinning process per
   usable core, CPU seconds they got per wall second (:func:`conclab.timing.free_cores`),
   and the CPU that other programs use while this one sleeps (from the
   system-wide counters in ``/proc/stat``); it waits for a quiet machine for
   up to ``--wait`` seconds, then refuses;
2. measures, while the notebook runs, how much CPU *other* programs used
   (system-wide busy time minus this process and its children, the kernel
   included); if neighbours took more than ``--max-neighbours`` cores on
   average, the run is thrown away and tried again (``--retries``);
3. keeps the new outputs only if every claim in them holds
   (:mod:`conclab.claims`); otherwise it names the failed claims and leaves the
   stored notebook as it was.

The experiments repeat their measurements themselves (best of several runs,
competitors in shuffled order: :func:`conclab.timing.best_of`).  Lectures
without the timing flag are recorded whatever the load: their claims must not
depend on it.  Exit status 0 only if every notebook asked for was recorded.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "course"
if str(COURSE) not in sys.path:
    sys.path.insert(0, str(COURSE))

from conclab import claims, timing  # noqa: E402

QUIET_FRACTION = 0.85     # free cores must reach this share of the usable cores
MAX_NEIGHBOURS = 0.25     # cores other programs may use on average while we record


# ------------------------------------------------------------------ metadata
def lab_metadata() -> dict:
    """The notebook metadata JupyterLab writes when it opens a notebook with this kernel.

    JupyterLab sets ``kernelspec`` to the kernel's name, display name and language
    and ``language_info`` to what the kernel reports; it marks the notebook
    modified whenever the stored values differ.  Both come from this
    environment: the installed ``python3`` kernelspec and ipykernel's
    ``language_info`` (which carries this interpreter's version).
    """
    from ipykernel.ipkernel import IPythonKernel
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    return {
        "kernelspec": {"display_name": spec.display_name, "language": spec.language, "name": "python3"},
        "language_info": dict(IPythonKernel.language_info),
    }


def set_lab_metadata(nb) -> None:
    """Give ``nb`` the kernelspec and language_info JupyterLab would write (see :func:`lab_metadata`)."""
    nb.metadata.update(lab_metadata())


# ------------------------------------------------------------- the machine
def busy_cpu_seconds() -> float:
    """CPU seconds all cores of the machine have spent not idle since boot (``/proc/stat``).

    Steal time (taken by the hypervisor for other guests) counts as busy: it is
    time our processes could not have.
    """
    import psutil

    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    return sum(t) - idle - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)


def own_cpu_seconds() -> float:
    """CPU seconds of this process and of every child it has waited for (the kernel, after it stops)."""
    import psutil

    t = psutil.Process().cpu_times()
    return t.user + t.system + t.children_user + t.children_system


@dataclass
class Calibration:
    usable: int
    free: float                        # median cores a spinning process per core got
    free_runs: list[float]
    neighbours: float                  # cores others used while we slept
    load: tuple[float, float, float]

    @property
    def quiet(self) -> bool:
        return self.free >= QUIET_FRACTION * self.usable and self.neighbours <= MAX_NEIGHBOURS

    def __str__(self) -> str:
        runs = ", ".join(f"{v:.2f}" for v in self.free_runs) or "not measured: others are busy"
        return (f"free cores {self.free:.2f} of {self.usable} (runs: {runs}); "
                f"others used {self.neighbours:.2f} cores while we slept; "
                f"load average {self.load[0]:.2f} {self.load[1]:.2f} {self.load[2]:.2f}; "
                f"{'quiet' if self.quiet else 'BUSY'}")


def calibrate(idle_seconds: float = 1.0, spin: bool = True) -> Calibration:
    """Measure the machine: other programs' CPU use while we sleep, then a spinning-process test.

    The spinning test is skipped (``free`` reported as 0) when other programs
    are already seen to be busy, or when ``spin`` is False: no need to add load
    to a machine that is known to be busy.
    """
    import os

    b0, o0, t0 = busy_cpu_seconds(), own_cpu_seconds(), time.perf_counter()
    time.sleep(idle_seconds)
    neighbours = max(0.0, (busy_cpu_seconds() - b0) - (own_cpu_seconds() - o0)) / (time.perf_counter() - t0)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    if not spin or neighbours > MAX_NEIGHBOURS:
        return Calibration(timing.usable_cores(), 0.0, [], neighbours, load)
    free, runs = timing.median_free_cores(3, 0.4)
    return Calibration(timing.usable_cores(), free, runs, neighbours, load)


def wait_for_quiet(max_wait: float, poll: float = 20.0, say=print) -> Calibration:
    """Calibrate until the machine is quiet or ``max_wait`` seconds have passed; return the last one."""
    deadline = time.monotonic() + max_wait
    while True:
        cal = calibrate()
        say(f"  calibration: {cal}")
        if cal.quiet or time.monotonic() + poll > deadline:
            return cal
        time.sleep(poll)


# -------------------------------------------------------------- recording
def is_timing(nb) -> bool:
    return bool(nb.metadata.get("conclab", {}).get("timing", False))


def failed_claims(nb) -> list[str]:
    """``"cell <id>: <claim>"`` for every claim that failed in ``nb``'s outputs."""
    bad = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        bad += [f"cell {cell.get('id')}: {t}" for ok, t in claims.parse(text) if not ok]
    return bad


@dataclass
class Run:
    nb: object
    seconds: float
    neighbours: float                  # cores other programs used on average meanwhile
    failed: list[str] = field(default_factory=list)


def execute(path: Path, timeout: int = 300) -> Run:
    """Run All on a copy of ``path`` (not saved); measure what neighbours did meanwhile."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)     # no per-cell timestamps in the course files
    set_lab_metadata(nb)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}}, allow_error_names=[])
    b0, o0, t0 = busy_cpu_seconds(), own_cpu_seconds(), time.perf_counter()
    client.execute()                              # cells tagged raises-exception may fail
    wall = time.perf_counter() - t0
    others = max(0.0, (busy_cpu_seconds() - b0) - (own_cpu_seconds() - o0))
    set_lab_metadata(nb)                          # nbclient wrote language_info; keep the kernelspec too
    return Run(nb, wall, others / wall, failed_claims(nb))


def record(path: Path, *, max_wait: float, retries: int, max_neighbours: float,
           keep_failed: bool, say=print, poll: float = 20.0) -> tuple[bool, str]:
    """Record one notebook; returns (recorded, one-line outcome)."""
    from nbclient.exceptions import CellExecutionError

    timed = is_timing(nbformat.read(path, as_version=4))
    for attempt in range(1, retries + 2):
        if timed:
            cal = wait_for_quiet(max_wait, poll=poll, say=say)
            if not cal.quiet:
                return False, f"REFUSED (machine busy: {cal})"
        try:
            run = execute(path)
        except CellExecutionError as exc:
            return False, f"FAILED: a cell raised\n{exc}"
        say(f"  ran in {run.seconds:.1f} s; other programs used {run.neighbours:.2f} cores meanwhile")
        if timed and run.neighbours > max_neighbours:
            say(f"  attempt {attempt}: the machine got busy while recording; outputs thrown away")
            continue
        if run.failed and not keep_failed:
            return False, "CLAIMS FAILED (outputs not saved):\n    " + "\n    ".join(run.failed)
        nbformat.write(run.nb, path)
        note = f" ({len(run.failed)} failed claims kept)" if run.failed else ""
        flag = "" if run.seconds < 60 else "   <-- over the 60 s budget"
        return True, f"recorded in {run.seconds:.1f} s{note}{flag}"
    return False, f"REFUSED (busy while recording, {retries + 1} attempts)"


def dry_run(path: Path) -> tuple[bool, str]:
    """Run ``path`` and report its claims and timing; save nothing."""
    from nbclient.exceptions import CellExecutionError

    try:
        run = execute(path)
    except CellExecutionError as exc:
        return False, f"FAILED: a cell raised\n{exc}"
    verdicts = [v for c in run.nb.cells if c.cell_type == "code"
                for v in claims.parse("".join(o.get("text", "") for o in c.get("outputs", [])
                                              if o.get("output_type") == "stream"))]
    summary = (f"ran in {run.seconds:.1f} s, other programs used {run.neighbours:.2f} cores; "
               f"{len(verdicts) - len(run.failed)} of {len(verdicts)} claims hold (not saved)")
    return not run.failed, summary + "".join(f"\n    FAILED {f}" for f in run.failed)


def course_notebooks() -> list[Path]:
    """The lectures, welcome and glossary (NN-... and NN.MM-...), in name order."""
    from tools.nav import notebooks

    return notebooks(COURSE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to record")
    parser.add_argument("--all", action="store_true", help="record every course notebook")
    parser.add_argument("--check", action="store_true", help="only calibrate: is the machine quiet?")
    parser.add_argument("--wait", type=float, default=600.0, metavar="SECONDS",
                        help="how long to wait for a quiet machine before refusing (default 600)")
    parser.add_argument("--poll", type=float, default=20.0, metavar="SECONDS",
                        help="how often to look again while waiting for a quiet machine (default 20)")
    parser.add_argument("--retries", type=int, default=2,
                        help="re-runs of a timing notebook when neighbours got busy meanwhile (default 2)")
    parser.add_argument("--max-neighbours", type=float, default=MAX_NEIGHBOURS, metavar="CORES",
                        help=f"CPU other programs may use during a timing recording (default {MAX_NEIGHBOURS})")
    parser.add_argument("--dry-run", action="store_true",
                        help="run the notebooks and report their claims, whatever the load; save nothing")
    parser.add_argument("--keep-failed", action="store_true",
                        help="save outputs even when claims failed (to inspect them)")
    args = parser.parse_args(argv)
    if args.check:
        cal = calibrate()
        print(cal)
        return 0 if cal.quiet else 1
    if bool(args.notebooks) == args.all:
        parser.error("name notebooks to record, or --all (not both)")
    paths = course_notebooks() if args.all else args.notebooks
    results = []
    for path in paths:
        path = path.resolve()
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        if not path.exists():
            results.append((shown, False, "no such notebook"))
            continue
        print(f"{shown}{'  (timing)' if is_timing(nbformat.read(path, as_version=4)) else ''}", flush=True)
        if args.dry_run:
            ok, outcome = dry_run(path)
            print(f"  {outcome}", flush=True)
            results.append((shown, ok, outcome))
            continue
        ok, outcome = record(path, max_wait=args.wait, retries=args.retries,
                             max_neighbours=args.max_neighbours, keep_failed=args.keep_failed, poll=args.poll)
        print(f"  {outcome}", flush=True)
        results.append((shown, ok, outcome))
    missed = [(p, o) for p, ok, o in results if not ok]
    print(f"\n{len(results) - len(missed)} of {len(results)} {'ran without a failed claim' if args.dry_run else 'recorded'}.")
    for p, outcome in missed:
        print(f"NOT RECORDED {p}: {outcome.splitlines()[0]}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
