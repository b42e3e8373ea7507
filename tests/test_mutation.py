"""tools/mutation.py without running a notebook: the solution module goes back into the same
cells, mutant keys are unique and stable, and a report reads back what was written."""
from __future__ import annotations

import pytest

from tools import mutation
from tools.assignments import assignments, cells_by_id, notebook_path, solution_ids

ASSIGNMENTS = assignments()


def keyed(name, tmp_path):
    from cosmic_ray.commands import init
    from cosmic_ray.work_db import WorkDB, use_db

    sol = mutation.solution_module(name)
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "solution.py"
    path.write_text(sol.text, encoding="utf-8")
    with use_db(str(tmp_path / "session.sqlite"), WorkDB.Mode.create) as db:
        init([path], db, {})
        return sol, mutation.mutants(sol, db)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_solution_module_goes_back_into_the_same_cells(name):
    import nbformat

    nb = nbformat.read(notebook_path(name), as_version=4)
    cells = cells_by_id(nb)
    sol = mutation.solution_module(name)
    assert sol.cells() == {gid: cells[gid].source.rstrip("\n") for gid in solution_ids(nb)}
    assert sol.mutable, f"{name}: no line inside a SOLUTION region"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_mutant_keys_are_unique_stable_and_name_their_line(name, tmp_path):
    sol, first = keyed(name, tmp_path / "a")
    _, second = keyed(name, tmp_path / "b")
    keys = [m.key for m in first if m.mutable]
    assert keys, f"{name}: no mutant"
    assert len(keys) == len(set(keys)), "two mutants share a key"
    assert sorted(keys) == sorted(m.key for m in second if m.mutable), "keys changed between two sessions"
    cells = sol.cells()
    for m in first:
        if m.mutable:
            line = cells[m.cell].splitlines()[m.cell_line - 1].strip()
            assert m.key.startswith(f"{m.cell}|{line}|{m.operator}|"), m.key


def test_a_report_reads_back_its_survivors(tmp_path):
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    name = "ps2_deadlock"
    sol, every = keyed(name, tmp_path)
    chosen = [m for m in every if m.mutable and not m.excluded][:3]
    results = {
        chosen[0].job_id: WorkResult(worker_outcome=WorkerOutcome.NORMAL, test_outcome=TestOutcome.SURVIVED,
                                     output='{"outcome": "survived", "cell": ""}'),
        chosen[1].job_id: WorkResult(worker_outcome=WorkerOutcome.NORMAL, test_outcome=TestOutcome.KILLED,
                                     output='{"outcome": "killed", "cell": "test_part_b"}'),
        chosen[2].job_id: WorkResult(worker_outcome=WorkerOutcome.NORMAL, test_outcome=TestOutcome.KILLED,
                                     output="timeout"),
    }
    text = mutation.render_report(sol, every, results, scope="full", elapsed=61, reference=10, jobs=2,
                                  version="x", only=None)
    path = tmp_path / "MUTATION.md"
    path.write_text(text)
    report = mutation.read_report(path)
    assert report["scope"] == "full" and report["solution_sha256"] == mutation.solution_sha256(name)
    assert report["survivors"] == [chosen[0].key]
    assert "| killed | 2 (by a test cell 1, timed out 1, incompetent 0) |" in text
    assert "| test_part_b | 1 |" in text and "```diff" in text


def test_a_survivors_run_picks_the_survivors_and_the_report_lists_each_run(tmp_path):
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    sol, every = keyed("ps2_deadlock", tmp_path)
    with use_db(str(tmp_path / "session.sqlite"), WorkDB.Mode.open) as db:
        chosen = [m for m in every if m.mutable and not m.excluded][:2]
        survived = WorkResult(worker_outcome=WorkerOutcome.NORMAL, test_outcome=TestOutcome.SURVIVED,
                              output='{"outcome": "survived", "cell": ""}')
        killed = WorkResult(worker_outcome=WorkerOutcome.NORMAL, test_outcome=TestOutcome.KILLED,
                            output='{"outcome": "killed", "cell": "test_part_b"}')
        db.set_result(chosen[0].job_id, survived)
        db.set_result(chosen[1].job_id, killed)
        assert mutation.survived_jobs(db) == {chosen[0].job_id}
        db.set_result(chosen[0].job_id, killed)  # killed by a new check: the run overwrites its result
        assert mutation.survived_jobs(db) == set()
        results = dict(db.results)
    runs = [{"date": "2026-12-06", "ran": 692, "what": "every mutant", "minutes": 47.0, "jobs": 2},
            {"date": "2026-12-07", "ran": 1, "what": "survivors of the runs before", "minutes": 0.5, "jobs": 2}]
    text = mutation.render_report(sol, every, results, scope="full", elapsed=30, reference=10, jobs=2,
                                  version="x", only=None, runs=runs)
    assert "| run 1 | 2026-12-06: every mutant, mutants run: 692" in text
    assert "| run 2 | 2026-12-07: survivors of the runs before, mutants run: 1" in text
    assert "in 2 runs" in text


def test_a_mutant_that_catches_cosmic_rays_exception_has_it_defined():
    cells = {"pool_solution": "%%writefile pool.py\ndef g(f):\n    try:\n        f()\n"
                              "    except (EOFError, CosmicRayTestingException):\n        return 'caught'\n",
             "other": "x = 1\n"}
    done = mutation.with_testing_exception(cells)
    assert done["other"] == cells["other"]
    assert done["pool_solution"].startswith(cells["pool_solution"])  # every line keeps its number
    namespace = {}
    exec(done["pool_solution"].split("\n", 1)[1], namespace)

    def fails():
        raise EOFError

    assert namespace["g"](fails) == "caught"  # EOFError is still caught, no NameError
