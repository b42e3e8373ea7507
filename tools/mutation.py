"""Mutation testing of an assignment's reference solution (``make mutation A=<assignment>``).

    python -m tools.mutation run NAME [--only CELL[:FIRST-LAST]] [--sample N] [--jobs 2] [--resume | --survivors]
    python -m tools.mutation report NAME    (the last full run's report again, e.g. after EQUIVALENT_MUTANTS changed)
    python -m tools.mutation list NAME          # the mutants, with their keys (no test runs)

How it works
------------
The mutation tool is Cosmic Ray (``cosmic-ray``, pinned in requirements-dev.txt):
its operators find the mutants, its session database records them and their
outcomes, and its ``mutate_and_test`` applies one mutant to a file, runs a test
command in a subprocess with a time limit, and puts the file back.

A solution lives in notebook cells, so the solution cells of
``source/<name>/<notebook>.ipynb`` (nbgrader's ``solution`` cells, markers
included) are written one after another into one module file, each after a
marker line; a cell magic on a cell's first line (``%%writefile pool.py``) is
kept aside.  Only lines inside ``### BEGIN SOLUTION`` / ``### END SOLUTION`` are
mutated: the rest is the scaffold the students receive.

The test command (``python -m tools.mutation test ...``) splits the (mutated)
module back into cells, puts them into the source notebook (hidden tests
included) in a fresh copy of the assignment folder, and runs it cell by cell
with nbclient in a new kernel.  After each graded test cell it scores the
cell as autograde does (nbgrader's ``determine_grade``: an error or any stderr
output scores 0) and stops at the first cell that loses points: the mutant is
*killed*.  A mutant that hangs is killed too (*timed out*): a cell gets 4
times the slowest reference test cell (at least 30 s) before it is
interrupted, the whole run twice the reference's time plus 30 s before its
kernel and every process it started are killed.  A mutant for which every test cell keeps its points *survived*.
Two lanes (``--jobs``) run mutants side by side, each in its own folder.

Mutant keys
-----------
A mutant's key names it independently of the rest of the solution, so that a
key stays valid while its own line does not change::

    <solution cell grade id>|<the mutated line, stripped>|<operator>|<n>

``operator`` is Cosmic Ray's operator name (e.g.
``core/ReplaceComparisonOperator_Lt_LtE``); ``n`` counts, from 0, the mutants
with the same cell, line text and operator, in the order they occur in the
cell (a line that occurs twice in a cell gives 0 and 1, ...).  Example::

    pool_solution|if processes < 1:|core/ReplaceComparisonOperator_Lt_LtE|0

The report
----------
A full run writes ``tests/grading/<name>/MUTATION.md``: the tool and its
version, the date, the counts, the time taken, which test cell killed how many
mutants, and every survivor with its key, whether
``tests/grading/<name>/rules.py`` records it in ``EQUIVALENT_MUTANTS`` (and
why), and its diff.  A machine-readable first line holds the scope and the
sha256 of the solution module, which tests/test_rules.py compares with the
current reference.  ``--only``/``--sample`` runs are for quick iterations: they
write ``.cache/mutation/<name>/MUTATION-partial.md`` and never the committed
report.

``--survivors`` runs again only the mutants that survived the last full run of
the same solution (its session is kept in ``.cache/mutation/<name>/``), after
checks were added to the tests: the mutants it killed stay killed, since checks
were only added.  The report then lists each run of the session, with its date,
its mutants and its time.  Whenever a check is changed or removed, or the
solution changes, make a full run again.  ``--also-operator REGEX`` adds every
mutant of the matching operators to such a run (after a change to how those
mutants are run), and ``report`` writes the report again from the session (after
``EQUIVALENT_MUTANTS`` changed).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime
import difflib
import hashlib
import importlib
import json
import os
import queue
import random
import re
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.assignments import (  # noqa: E402
    ROOT,
    SOLUTION_MARKERS,
    SOURCE,
    assignments,
    cells_by_id,
    nbgrader_meta,
    notebook_path,
    points_of,
    solution_ids,
)

GRADING = ROOT / "tests" / "grading"
CACHE = ROOT / ".cache" / "mutation"
MARK = "# ---- solution cell: {} ----"
MARK_RE = re.compile(r"^# ---- solution cell: (\S+) ----$")
TAG_VAR = "COURSE_MUTANT_TAG"
# Operators left out: swapping an arithmetic operator for a bitwise one, a
# power or a matrix product makes a mutant no student writes, and each such
# swap multiplies the run time.  (Add, Sub, Mul, Div, FloorDiv, Mod stay.)
EXCLUDED_OPERATORS = (
    r"core/ReplaceBinaryOperator_\w+_(BitAnd|BitOr|BitXor|LShift|RShift|MatMul|Pow)$",
)
EXCLUDED_TEXT = "arithmetic operators swapped for bitwise ones, a power or a matrix product"
HEADER = re.compile(r"^<!-- mutation-report: (\{.*\}) -->$")
KEY_LINE = re.compile(r"^key: (\".*\")$")


# --- the solution as a module ---------------------------------------------------------

@dataclass
class Solution:
    name: str
    text: str                                   # the module: the solution cells after marker lines
    headers: dict = field(default_factory=dict)  # grade id -> the cell's magic line, or ""
    where: dict = field(default_factory=dict)    # module line (1-based) -> (grade id, cell line, 1-based)
    mutable: set = field(default_factory=set)    # module lines inside SOLUTION regions

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def cells(self, text: str | None = None) -> dict[str, str]:
        """{grade id: cell source} from `text` (the module, perhaps mutated), magic lines restored."""
        return cells_from_module(self.text if text is None else text, self.headers)


def solution_module(name: str, where: Path = SOURCE) -> Solution:
    """The reference solution cells of `name` (in `where`/name) as one module (see the module docstring)."""
    import nbformat

    nb = nbformat.read(notebook_path(name, where), as_version=4)
    cells = cells_by_id(nb)
    sol = Solution(name, "")
    lines: list[str] = []
    for gid in solution_ids(nb):
        source = cells[gid].source.splitlines()
        header = source[0] if source and source[0].startswith("%%") else ""
        body = source[1:] if header else source
        offset = 2 if header else 1          # cell line of body[0]
        try:
            compile("\n".join(body), f"<{gid}>", "exec")
        except SyntaxError as exc:
            raise SystemExit(f"{name}: solution cell {gid} is not plain Python (line {(exc.lineno or 1) + offset - 1}: "
                             f"{exc.msg}); only a cell magic on its first line can be set aside for mutation") from None
        sol.headers[gid] = header
        lines.append(MARK.format(gid))
        inside = False
        for i, line in enumerate(body):
            lines.append(line)
            number = len(lines)
            sol.where[number] = (gid, i + offset)
            marker = SOLUTION_MARKERS.match(line)
            if marker:
                inside = marker.group(1) == "BEGIN"
            elif inside:
                sol.mutable.add(number)
    sol.text = "\n".join(lines) + "\n"
    return sol


def solution_sha256(name: str) -> str:
    return solution_module(name).sha256


def cells_from_module(text: str, headers: dict) -> dict[str, str]:
    cells: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        m = MARK_RE.match(line)
        if m:
            current = m.group(1)
            cells[current] = [headers[current]] if headers.get(current) else []
        elif current is not None:
            cells[current].append(line)
    missing = set(headers) - set(cells)
    if missing:
        raise ValueError(f"the module lost the marker lines of cells {sorted(missing)}")
    return {gid: "\n".join(lines) for gid, lines in cells.items()}


# --- mutants ----------------------------------------------------------------------------

@dataclass
class Mutant:
    job_id: str
    operator: str
    occurrence: int                  # Cosmic Ray's occurrence of the operator in the module
    line: int                        # module line where the mutation starts
    cell: str = ""
    cell_line: int = 0
    key: str = ""
    mutable: bool = True
    excluded: bool = False


def mutants(sol: Solution, db) -> list[Mutant]:
    """The mutants of a session database, with their cells, lines and keys (see the module docstring)."""
    out = []
    for item in db.work_items:
        (m,) = item.mutations
        line = m.start_pos[0]
        cell, cell_line = sol.where.get(line, ("?", 0))
        out.append(Mutant(item.job_id, m.operator_name, m.occurrence, line, cell, cell_line,
                          mutable=line in sol.mutable,
                          excluded=any(re.match(p, m.operator_name) for p in EXCLUDED_OPERATORS)))
    out.sort(key=lambda x: (x.line, x.operator, x.occurrence))
    lines = sol.text.splitlines()
    seen: dict[tuple, int] = {}
    for x in out:
        text = lines[x.line - 1].strip()
        n = seen.get((x.cell, text, x.operator), 0)
        seen[(x.cell, text, x.operator)] = n + 1
        x.key = f"{x.cell}|{text}|{x.operator}|{n}"
    return out


def mutated_text(sol: Solution, mutant: Mutant) -> str | None:
    import cosmic_ray.plugins
    from cosmic_ray.mutating import mutate_code

    operator = cosmic_ray.plugins.get_operator(mutant.operator)()
    return mutate_code(sol.text, operator, mutant.occurrence)


def cell_diff(sol: Solution, mutant: Mutant) -> str:
    text = mutated_text(sol, mutant)
    if text is None:
        return "(no mutation)"
    before, after = sol.cells(), sol.cells(text)
    out = []
    for gid in before:
        if before[gid] != after[gid]:
            out += difflib.unified_diff(before[gid].splitlines(), after[gid].splitlines(),
                                        f"a/{gid}", f"b/{gid}", n=2, lineterm="")
    return "\n".join(out)


# --- running one mutant: the test command -------------------------------------------------

def _tagged(tag: str) -> list:
    import psutil

    found = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        with contextlib.suppress(psutil.Error):
            if proc.environ().get(TAG_VAR) == tag:
                found.append(proc)
    return found


def kill_tagged(tag: str) -> int:
    """Kill every process (but this one) whose environment carries TAG_VAR=tag; return how many."""
    import psutil

    procs = _tagged(tag)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(procs, timeout=5)
    return len(procs)


def copy_assignment(name: str, dest: Path, written: set[str], where: Path = SOURCE) -> Path:
    """`where`/<name> without caches and without the files the solution cells write."""
    skip = {"__pycache__", ".ipynb_checkpoints", *written}
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(where / name, dest, ignore=lambda d, names: [n for n in names if n in skip or n.endswith(".pyc")])
    return dest


def run_notebook(name: str, cells: dict[str, str], folder: Path, deadline: float, cell_timeout: float,
                 tag: str, where: Path = SOURCE) -> tuple[str, str, dict]:
    """Run the source notebook of `name` with solution `cells` in `folder`, stopping at the first
    graded test cell that loses points.  Returns (outcome, cell, {test cell: seconds}); outcome is
    "survived", "killed" (cell = the test cell) or "timeout"."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbgrader.utils import determine_grade

    nb = nbformat.read(notebook_path(name, where), as_version=4)
    by_id = cells_by_id(nb)
    for gid, source in cells.items():
        by_id[gid].source = source
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    graded = points_of(nb)
    tagged_before = os.environ.get(TAG_VAR)
    os.environ[TAG_VAR] = tag  # the kernel and all it starts inherit it: kill_tagged finds them
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True, startup_timeout=60,
                            resources={"metadata": {"path": str(folder)}})
    expired = threading.Event()

    def watchdog():
        if not done.wait(max(0.0, deadline - time.monotonic())):
            expired.set()
            kill_tagged(tag)  # the kernel and everything it started

    done = threading.Event()
    threading.Thread(target=watchdog, daemon=True).start()
    times: dict[str, float] = {}
    outcome, where = "survived", ""
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                gid = nbgrader_meta(cell).get("grade_id", "")
                started = time.monotonic()
                try:
                    client.execute_cell(cell, index)
                except (CellTimeoutError, DeadKernelError, RuntimeError) as exc:
                    if expired.is_set():
                        return "timeout", gid, times
                    if gid in graded:
                        return "killed", f"{gid} ({type(exc).__name__})", times
                    raise
                if gid in graded:
                    times[gid] = time.monotonic() - started
                    score, points = determine_grade(cell)
                    if score is None or score < points:
                        # a cell interrupted at its time limit hung: that is a time-out
                        return ("timeout" if times[gid] >= cell_timeout - 1 else "killed"), gid, times
                if expired.is_set():
                    return "timeout", gid, times
    except Exception:
        if expired.is_set():
            return "timeout", where, times
        raise
    finally:
        done.set()
        kill_tagged(tag)
        if tagged_before is None:
            os.environ.pop(TAG_VAR, None)
        else:
            os.environ[TAG_VAR] = tagged_before
    return outcome, where, times


def first_error(cell) -> str:
    for out in cell.get("outputs", []):
        if out.output_type == "error":
            return f"{out.ename}: {out.evalue}"[:200]
        if out.output_type == "stream" and out.name == "stderr":
            return "stderr: " + out.text.strip().splitlines()[0][:200] if out.text.strip() else "stderr"
    return ""


# Cosmic Ray's ExceptionReplacer turns `except OSError` into `except CosmicRayTestingException`, an
# exception nothing raises; Cosmic Ray makes it a builtin in its own process, but a mutant runs in
# a kernel (and in worker processes) that never import Cosmic Ray, where the name would be
# undefined: the handler would then raise NameError as soon as any exception reached it, even one
# that another type of the same `except (A, B)` still catches.  So the cell that uses it defines it,
# at its end (its lines keep their numbers), for wherever its code runs.
TESTING_EXCEPTION = "CosmicRayTestingException"


def with_testing_exception(cells: dict[str, str]) -> dict[str, str]:
    return {gid: text.rstrip("\n") + f"\n\n\nclass {TESTING_EXCEPTION}(Exception):\n"
                 f"    \"\"\"Raised by nothing: what a mutant's handler catches instead.\"\"\"\n"
            if TESTING_EXCEPTION in text else text for gid, text in cells.items()}


def cmd_test(args) -> int:
    """The test command of one mutant: exit 0 if it survives, 1 if it is killed."""
    where = Path(args.source)
    sol = solution_module(args.name, where)
    cells = with_testing_exception(sol.cells(Path(args.module).read_text(encoding="utf-8")))
    folder = copy_assignment(args.name, Path(args.module).parent / "assignment", written_files(sol), where)
    started = time.monotonic()
    outcome, cell, times = run_notebook(args.name, cells, folder, started + args.deadline, args.cell_timeout,
                                        args.tag, where)
    took = time.monotonic() - started
    print(json.dumps({"outcome": outcome, "cell": cell, "seconds": round(took, 1), "times": times}), flush=True)
    return 0 if outcome == "survived" else 1


# --- a session --------------------------------------------------------------------------

def parse_only(spec: str | None):
    if not spec:
        return None
    cell, _, lines = spec.partition(":")
    if lines:
        first, _, last = lines.partition("-")
        return cell, int(first), int(last or first)
    return cell, 1, 10 ** 9


def selected(x: Mutant, only) -> bool:
    if only is None:
        return True
    cell, first, last = only
    return x.cell == cell and first <= x.cell_line <= last


def run_lane(where: Path, module: Path, name: str, tag: str, job, timeout: float, cell_timeout: float,
             deadline: float):
    from cosmic_ray.mutating import mutate_and_test
    from cosmic_ray.work_item import MutationSpec

    (m,) = job.mutations
    spec = MutationSpec(module_path=module, operator_name=m.operator_name, occurrence=m.occurrence,
                        start_pos=m.start_pos, end_pos=m.end_pos, operator_args=m.operator_args)
    command = (f"{sys.executable} -m tools.mutation test {name} {module} --source {where} --tag {tag} "
               f"--deadline {deadline:.0f} --cell-timeout {cell_timeout:.0f}")
    try:
        return mutate_and_test([spec], command, timeout)
    finally:
        kill_tagged(tag)


def session_key(sol: Solution) -> dict:
    """What a session's results depend on besides the tests: the solution and the operators left out."""
    return {"solution_sha256": sol.sha256, "excluded": list(EXCLUDED_OPERATORS)}


def session_meta(work: Path, sol: Solution) -> dict:
    """The kept session's session.json (its key and its finished runs) if it was made for `sol`, else {}."""
    path, key = work / "session.json", session_key(sol)
    if not (work / "session.sqlite").exists() or not path.exists():
        return {}
    meta = json.loads(path.read_text())
    return meta if {k: meta.get(k) for k in key} == key else {}


def run_label(args, resume: bool) -> str:
    """How a finished run is listed in the report."""
    if not args.survivors:
        return "the rest of the run before (--resume)" if resume else "every mutant"
    label = "survivors of the runs before"
    if args.also_operator:
        label += f" and every {args.also_operator} mutant"
    return label + (f", in {args.only}" if args.only else "")


def survived_jobs(db) -> set:
    """The job ids of the session's mutants that survived (what --survivors runs again)."""
    return {job_id for job_id, result in db.results if outcome_of(result)["outcome"] == "survived"}


def outcome_of(result) -> dict:
    """{"outcome": survived|killed|timeout|incompetent, "cell": ...} from a Cosmic Ray WorkResult."""
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    if result.worker_outcome == WorkerOutcome.SKIPPED:
        return {"outcome": "skipped", "cell": ""}
    if result.worker_outcome != WorkerOutcome.NORMAL:
        return {"outcome": "incompetent", "cell": (result.output or "")[-300:]}
    if result.output == "timeout":  # Cosmic Ray's own limit
        return {"outcome": "timeout", "cell": ""}
    for line in reversed((result.output or "").splitlines()):
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                return {"outcome": data["outcome"], "cell": data.get("cell", ""), "seconds": data.get("seconds")}
    if result.test_outcome == TestOutcome.SURVIVED:
        return {"outcome": "survived", "cell": ""}
    return {"outcome": "killed", "cell": "(no report: the test command failed)"}


def cmd_run(args) -> int:
    import cosmic_ray
    from cosmic_ray.commands import init
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkResult, WorkerOutcome

    name = args.name
    if args.also_operator and not args.survivors:
        print("--also-operator goes with --survivors", file=sys.stderr)
        return 2
    if args.survivors and args.sample:
        print("--survivors runs the survivors: it does not take --sample", file=sys.stderr)
        return 2
    os.chdir(ROOT)  # the test command runs `python -m tools.mutation` from here
    work = CACHE / name
    work.mkdir(parents=True, exist_ok=True)
    # A snapshot of the assignment: the run uses it throughout, whatever happens to source/ meanwhile.
    where = work / "snapshot"
    if where.exists():
        shutil.rmtree(where)
    copy_assignment(name, where / name, written_files(solution_module(name)))
    sol = solution_module(name, where)
    only = parse_only(args.only)
    full = (only is None or args.survivors) and not args.sample
    session = work / "session.sqlite"
    meta_path = work / "session.json"
    meta = session_key(sol)
    old = session_meta(work, sol)
    if args.survivors and not old.get("runs"):
        print(f"--survivors: no finished full run of this solution in {work.relative_to(ROOT)}: "
              f"run `make mutation A={name}` first", file=sys.stderr)
        return 2
    resume = (args.resume or args.survivors) and bool(old)
    if args.resume and not resume:
        print("no session to resume for this solution: starting a new one", flush=True)
    runs = list(old.get("runs", [])) if resume else []
    (work / "solution.py").write_text(sol.text, encoding="utf-8")
    lanes = []
    for i in range(args.jobs):
        lane = work / f"lane-{i}"
        lane.mkdir(exist_ok=True)
        (lane / "solution.py").write_text(sol.text, encoding="utf-8")
        lanes.append(lane)

    with use_db(str(session), WorkDB.Mode.create) as db:
        if not resume:
            init([work / "solution.py"], db, {})
            meta_path.write_text(json.dumps(meta))
        every = mutants(sol, db)
        by_job = {x.job_id: x for x in every}
        # Cosmic Ray's way of leaving work out (as its filters do): a SKIPPED result.
        skip = [x.job_id for x in every if (not x.mutable or x.excluded)]
        done_ids = {job_id for job_id, _ in db.results}
        for job_id in skip:
            if job_id not in done_ids:
                db.set_result(job_id, WorkResult(output="outside the solution regions or excluded",
                                                 worker_outcome=WorkerOutcome.SKIPPED))
        if args.survivors:  # (--only: the survivors of those lines; the report stays the whole session's)
            again = survived_jobs(db) | {x.job_id for x in every if args.also_operator
                                         and re.search(args.also_operator, x.operator) and x.mutable and not x.excluded}
            pending = [job for job in db.work_items if job.job_id in again and selected(by_job[job.job_id], only)]
        else:
            pending = [job for job in db.pending_work_items if selected(by_job[job.job_id], only)]
        if args.sample and len(pending) > args.sample:
            pending = random.Random(args.seed).sample(pending, args.sample)
        pending.sort(key=lambda job: (by_job[job.job_id].line, by_job[job.job_id].operator))

        # The reference first: it must keep every point, and its time bounds each mutant's.
        print(f"{name}: {sum(1 for x in every if x.mutable and not x.excluded)} mutants in the solution regions "
              f"({len(pending)} to run); running the reference once...", flush=True)
        started = time.monotonic()
        ref_tag = f"mutation-{os.getpid()}-reference"
        try:
            outcome, cell, times = run_notebook(
                name, sol.cells(), copy_assignment(name, work / "reference", written_files(sol), where),
                time.monotonic() + 1800, 300, ref_tag, where)
        finally:
            kill_tagged(ref_tag)
        reference = time.monotonic() - started
        if outcome != "survived":
            print(f"the reference solution does not keep every point ({outcome} at {cell}): fix it first", file=sys.stderr)
            return 2
        deadline = max(60.0, args.timeout_factor * reference + 30)
        # A mutant that hangs in a cell is interrupted long before the cell's grading limit (120 s):
        # several times the slowest reference test cell.
        cell_timeout = args.cell_timeout or max(30.0, 4 * max(times.values(), default=30.0))
        print(f"reference: every test cell passes in {reference:.0f} s (slowest cell {max(times.values(), default=0):.0f} s); "
              f"each mutant gets {deadline:.0f} s, each of its cells {cell_timeout:.0f} s", flush=True)

        lane_queue: queue.Queue = queue.Queue()
        for i, lane in enumerate(lanes):
            lane_queue.put((i, lane))

        def one(job):
            i, lane = lane_queue.get()
            try:
                tag = f"mutation-{os.getpid()}-lane{i}"
                return job, run_lane(where, lane / "solution.py", name, tag, job, deadline + 60,
                                     cell_timeout, deadline)
            finally:
                lane_queue.put((i, lane))

        run_started = time.monotonic()
        counts: dict[str, int] = {}
        with concurrent.futures.ThreadPoolExecutor(len(lanes)) as pool:
            futures = [pool.submit(one, job) for job in pending]
            for n, future in enumerate(concurrent.futures.as_completed(futures), 1):
                job, result = future.result()
                db.set_result(job.job_id, result)
                x, o = by_job[job.job_id], outcome_of(result)
                counts[o["outcome"]] = counts.get(o["outcome"], 0) + 1
                print(f"[{n:4}/{len(pending)}] {o['outcome']:<11} {x.cell}:{x.cell_line:<4} {x.operator:<50} "
                      f"{o.get('cell') or '':<28} {o.get('seconds') or '':>6}", flush=True)
        elapsed = time.monotonic() - run_started
        results = {job_id: result for job_id, result in db.results}
        if full and not db.pending_work_items:
            runs.append({"date": datetime.date.today().isoformat(), "ran": len(pending), "what": run_label(args, resume),
                         "minutes": round(elapsed / 60, 1), "jobs": len(lanes), "reference": round(reference)})
            meta_path.write_text(json.dumps(dict(meta, runs=runs)))

    scope = "full" if full else f"partial ({'--only ' + args.only if only else ''}{' --sample %d' % args.sample if args.sample else ''})"
    report = render_report(sol, every, results, scope=scope, elapsed=elapsed, reference=reference, jobs=len(lanes),
                           version=cosmic_ray_version(), only=None if full else only, runs=runs if full else None)
    target = GRADING / name / "MUTATION.md" if full else work / "MUTATION-partial.md"
    target.write_text(report, encoding="utf-8")
    print(f"{counts}; {elapsed / 60:.1f} min; report: {target.relative_to(ROOT)}", flush=True)
    return 0


def written_files(sol: Solution) -> set[str]:
    return {h.split()[1] for h in sol.headers.values() if h.startswith("%%writefile") and len(h.split()) > 1}


def cosmic_ray_version() -> str:
    from importlib.metadata import version

    return version("cosmic-ray")


def equivalent_mutants(name: str) -> dict:
    path = GRADING / name / "rules.py"
    if not path.exists():
        return {}
    sys.path.insert(0, str(GRADING.parent))
    try:
        return dict(importlib.import_module(f"grading.{name}.rules").EQUIVALENT_MUTANTS)
    except (ImportError, AttributeError):
        return {}


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def render_report(sol: Solution, every: list[Mutant], results: dict, *, scope: str, elapsed: float,
                  reference: float, jobs: int, version: str, only=None, runs=None) -> str:
    outcomes = {}
    for x in every:
        if not x.mutable or x.excluded or not selected(x, only):
            continue
        if x.job_id in results:
            outcomes[x.job_id] = outcome_of(results[x.job_id])
    considered = [x for x in every if x.job_id in outcomes and outcomes[x.job_id]["outcome"] != "skipped"]
    equivalent = equivalent_mutants(sol.name)

    def count(*kinds):
        return sum(1 for x in considered if outcomes[x.job_id]["outcome"] in kinds)

    survivors = [x for x in considered if outcomes[x.job_id]["outcome"] == "survived"]
    killed = count("killed", "timeout", "incompetent")
    eq = sum(1 for x in survivors if x.key in equivalent)
    score = killed / max(1, len(considered) - eq)
    header = {"scope": scope, "solution_sha256": sol.sha256, "tool": f"cosmic-ray {version}"}
    by_cell: dict[str, int] = {}
    for x in considered:
        o = outcomes[x.job_id]
        if o["outcome"] == "killed":
            by_cell[o["cell"]] = by_cell.get(o["cell"], 0) + 1
    out = [
        f"<!-- mutation-report: {json.dumps(header, sort_keys=True)} -->",
        f"# Mutation testing: {sol.name}",
        "",
        f"Written by `make mutation A={sol.name}` (tools/mutation.py); do not edit by hand.",
        "Each mutant is one small change to the reference solution (inside its SOLUTION regions);",
        "it is *killed* when a test cell (visible or hidden) loses points, or when it runs out of",
        "time; a *survivor* is a change no test notices: kill it with a check, or record in",
        f"`tests/grading/{sol.name}/rules.py` `EQUIVALENT_MUTANTS` why no test can tell it apart.",
        "",
        "| | |",
        "|---|---|",
        f"| tool | Cosmic Ray {version}: its core operators, less {EXCLUDED_TEXT} |",
        f"| date | {datetime.date.today().isoformat()} |",
        f"| scope | {scope} |",
        f"| mutants | {len(considered)} |",
        f"| killed | {killed} (by a test cell {count('killed')}, timed out {count('timeout')}, "
        f"incompetent {count('incompetent')}) |",
        f"| survived | {len(survivors)} (equivalent {eq}, not explained {len(survivors) - eq}) |",
        f"| score | {score:.1%} (killed / (mutants - equivalent)) |",
        f"| time | {minutes(elapsed)} on {jobs} lanes (the reference alone: {reference:.0f} s) |",
    ]
    if runs and len(runs) > 1:  # a session tested again with --survivors
        out[-1] = f"| time | {minutes(sum(r['minutes'] for r in runs) * 60)} in {len(runs)} runs (the reference alone: {reference:.0f} s) |"
        out += [f"| run {i} | {r['date']}: {r['what']}, mutants run: {r['ran']}, {minutes(r['minutes'] * 60)} on {r['jobs']} lanes |"
                for i, r in enumerate(runs, 1)]
    out += [
        "",
        "## Killed, by the first test cell that lost points",
        "",
        "| test cell | mutants |",
        "|---|---|",
    ]
    out += [f"| {cell or '?'} | {n} |" for cell, n in sorted(by_cell.items(), key=lambda kv: -kv[1])]
    out += [f"| (timed out) | {count('timeout')} |", f"| (incompetent: the mutant or its test command did not run) | {count('incompetent')} |", ""]
    out += ["## Survivors", ""]
    if not survivors:
        out += ["None.", ""]
    for i, x in enumerate(survivors, 1):
        why = equivalent.get(x.key)
        out += [
            f"### {i}. `{x.cell}` line {x.cell_line}: {x.operator.split('/')[-1]}",
            "",
            f"key: {json.dumps(x.key)}",
            "",
            f"equivalent: {why}" if why else "**not explained**: kill it with a check, or record it in EQUIVALENT_MUTANTS",
            "",
            "```diff",
            cell_diff(sol, x),
            "```",
            "",
        ]
    return "\n".join(out)


def read_report(path: Path) -> dict:
    """{"scope", "solution_sha256", "tool", "survivors": [key, ...]} of a MUTATION.md."""
    lines = path.read_text(encoding="utf-8").splitlines()
    m = HEADER.match(lines[0]) if lines else None
    data = json.loads(m.group(1)) if m else {}
    data["survivors"] = [json.loads(k.group(1)) for k in map(KEY_LINE.match, lines) if k]
    return data


def cmd_report(args) -> int:
    """Write the report of the last full session again, from its results (after EQUIVALENT_MUTANTS changed)."""
    from cosmic_ray.work_db import WorkDB, use_db

    name = args.name
    work = CACHE / name
    sol = solution_module(name)
    runs = session_meta(work, sol).get("runs")
    if not runs:
        print(f"no finished full run of source/{name}'s solution in {work.relative_to(ROOT)}: "
              f"run `make mutation A={name}`", file=sys.stderr)
        return 2
    with use_db(str(work / "session.sqlite"), WorkDB.Mode.open) as db:
        every = mutants(sol, db)
        results = {job_id: result for job_id, result in db.results}
    last = runs[-1]
    report = render_report(sol, every, results, scope="full", elapsed=last["minutes"] * 60,
                           reference=last.get("reference", 0), jobs=last["jobs"], version=cosmic_ray_version(),
                           runs=runs)
    target = GRADING / name / "MUTATION.md"
    target.write_text(report, encoding="utf-8")
    print(f"report: {target.relative_to(ROOT)}")
    return 0


def cmd_list(args) -> int:
    from cosmic_ray.commands import init
    from cosmic_ray.work_db import WorkDB, use_db

    sol = solution_module(args.name)
    work = CACHE / args.name
    work.mkdir(parents=True, exist_ok=True)
    (work / "list.py").write_text(sol.text, encoding="utf-8")
    with use_db(str(work / "list.sqlite"), WorkDB.Mode.create) as db:
        init([work / "list.py"], db, {})
        every = mutants(sol, db)
    counts: dict[str, int] = {}
    for x in every:
        if x.mutable and not x.excluded and selected(x, parse_only(args.only)):
            print(x.key)
            op = x.operator.split("/")[-1].split("_")[0]
            counts[op] = counts.get(op, 0) + 1
    print(f"# {sum(counts.values())} mutants: {counts}", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutation", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="mutate the reference solution and run the test cells against each mutant")
    run.add_argument("name")
    run.add_argument("--only", help="CELL or CELL:FIRST-LAST (cell line numbers as JupyterLab shows them)")
    run.add_argument("--sample", type=int, default=0, help="run a seeded random sample of N mutants")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--jobs", type=int, default=2, help="mutants run side by side (default 2)")
    run.add_argument("--resume", action="store_true", help="go on with the last session's pending mutants")
    run.add_argument("--survivors", action="store_true",
                     help="run again the last full run's survivors (after checks were added), keeping its kills; "
                          "with --only, those of some lines")
    run.add_argument("--also-operator", default="", metavar="REGEX",
                     help="with --survivors: also run again every mutant of the operators it matches "
                          "(after a change to how such mutants run)")
    run.add_argument("--timeout-factor", type=float, default=2.0,
                     help="a mutant gets this many times the reference's time, plus 30 s (default 2)")
    run.add_argument("--cell-timeout", type=float, default=0,
                     help="seconds per cell of a mutant (default: 4 times the slowest reference test cell, at least 30)")
    rep = sub.add_parser("report", help="write the last full run's report again (after EQUIVALENT_MUTANTS changed)")
    rep.add_argument("name")
    lst = sub.add_parser("list", help="list the mutants' keys without running anything")
    lst.add_argument("name")
    lst.add_argument("--only")
    test = sub.add_parser("test", help=argparse.SUPPRESS)
    test.add_argument("name")
    test.add_argument("module")
    test.add_argument("--source", required=True, help="the folder holding the assignment's snapshot")
    test.add_argument("--tag", required=True)
    test.add_argument("--deadline", type=float, required=True)
    test.add_argument("--cell-timeout", type=float, default=120)
    args = parser.parse_args(argv)
    if not args.name:
        print(f"A=<assignment> is required; have: {', '.join(assignments())}", file=sys.stderr)
        return 2
    if args.name not in assignments():
        print(f"no such assignment in source/: {args.name!r} (have: {', '.join(assignments())})", file=sys.stderr)
        return 2
    return {"run": cmd_run, "report": cmd_report, "list": cmd_list, "test": cmd_test}[args.command](args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
