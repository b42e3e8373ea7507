"""Hostile submissions, per assignment, graded the way `make autograde` grades:
each ends within its bound with 0 points, tricks are caught and reported,
nothing outside the submission changes, nothing it started survives, and the
honest student graded alongside keeps full marks."""
import hashlib
import re
import socket
import threading

import nbformat
import psutil
import pytest

from assignment_classes import per_assignment
from grading_course import cell_grades, collected_course, parallel_autograde
from hostile import cases
from tools.assignments import assignments, notebook_path, points_of, reference_solutions

LINE = re.compile(r"^\[\s*\d+/\d+\] (\S+)\s+(\S+)\s+([\d.]+) s(.*)$")
MARKER = "4321.5"


def first_solution(name: str) -> tuple[str, str]:
    """(grade id, prefix): hostile code goes in the first solution cell."""
    ref = reference_solutions(name)
    gid, source = next(iter(ref.items()))
    head = source.splitlines()[0]
    return gid, head + "\n" if head.startswith("%%writefile") else ""


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Hostility:
    name = ""

    @pytest.mark.slow
    def test_hostile_submissions(self, tmp_path):
        name = self.name
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.2)
        knocked = []

        def watch():
            while not stop.is_set():
                try:
                    knocked.append(listener.accept())
                except OSError:
                    pass

        stop = threading.Event()
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()

        root = tmp_path / "course"
        canary = tmp_path / "canary.txt"
        canary.write_text("untouched")
        probe = {
            "canary": str(canary),
            "other_student": str(root / "submitted" / "honest" / name / notebook_path(name).name),
            "gradebook": str(root / "gradebook.db"),
            "source_notebook": str(root / "source" / name / notebook_path(name).name),
            "port": listener.getsockname()[1],
            "marker": MARKER,
        }
        gid, prefix = first_solution(name)
        hostile = [h for h in cases(probe) if name == assignments()[0] or not h.sandbox_only]
        submissions = {"honest": reference_solutions(name)}
        submissions.update({h.name: {gid: prefix + h.code} for h in hostile})
        collected_course(root, name, submissions, **{"Execute.timeout": 20, "SandboxedExecute.notebook_timeout": 120})
        watched = {"canary": sha(canary), "other": sha(root / "submitted" / "honest" / name / notebook_path(name).name),
                   "source": sha(notebook_path(name, root / "source"))}

        try:
            done = parallel_autograde(root, name, 2, timeout=1500)
        finally:
            stop.set()
            watcher.join(5)
            listener.close()
        report = {m.group(1): m for m in map(LINE.match, done.stdout.splitlines()) if m}
        assert set(report) == set(submissions), f"every submission must be graded:\n{done.stdout}\n{done.stderr[-3000:]}"

        total = sum(points_of(nbformat.read(notebook_path(name), as_version=4)).values())
        grades = cell_grades(root, name)
        score = {s: sum(v for (who, _), v in grades.items() if who == s) for s in submissions}
        assert score["honest"] == total, f"the honest student lost points next to hostile ones: {score['honest']}/{total}"
        for case in hostile:
            line = report[case.name]
            assert "FAILED" not in line.group(4), f"{case.name}: grading failed instead of scoring:\n{done.stdout}"
            assert score[case.name] == 0, f"{case.name} earned {score[case.name]} points"
            assert float(line.group(3)) < case.seconds, f"{case.name} took {line.group(3)} s to grade"
            if case.tampering:
                assert "TAMPERING" in line.group(4), f"{case.name}: the trick was not reported"
                assert (root / "autograded" / case.name / name / "tampering.json").exists()

        assert sha(canary) == watched["canary"]
        assert sha(root / "submitted" / "honest" / name / notebook_path(name).name) == watched["other"]
        assert sha(notebook_path(name, root / "source")) == watched["source"]
        assert not knocked, "a submission reached a server on the grading machine's network"
        if "escapes" not in submissions:
            return
        graded = nbformat.read(root / "autograded" / "escapes" / name / notebook_path(name).name, as_version=4)
        printed = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code"
                          for o in c.outputs if o.output_type == "stream")
        assert "PermissionError" in printed, f"the escape attempts did not run: {printed[:500]}"
        assert "BEGIN HIDDEN TESTS" not in printed, "a submission read the source notebook"
        survivors = [p.pid for p in psutil.process_iter(["cmdline"]) if MARKER in " ".join(p.info["cmdline"] or [])]
        assert not survivors, f"processes started by a submission outlived its grading: {survivors}"
        flooded = root / "autograded" / "output_flood" / name / notebook_path(name).name
        assert flooded.stat().st_size < 2_000_000, "the output flood was stored in full"


globals().update(per_assignment(Hostility, "TestHostile"))
