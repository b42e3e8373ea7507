"""The course on JupyterHub, for real, on loopback (README: "Teaching a class").

PostgreSQL and JupyterHub (deploy/jupyterhub_config.py, with a dummy
authenticator instead of PAM) start in a temporary folder; two students and
an instructor log in through the hub's login form and do everything through
the hub's APIs and the proxy:

  instructor  generate + release ps1_process_pool  (formgrader service /services/pyconc)
  students    fetch, work, submit                  (Assignment List endpoints of
                                                    /user/<name>/assignments)
  instructor  collect (formgrader), then `python -m grader autograde` (parallel,
              sandboxed, as root, as README says) into the PostgreSQL gradebook,
              generate + release feedback (formgrader)
  students    fetch feedback

and the exported grades are 14 (the reference solution) and 0 (the blank
release).  The hub, its users' servers and the grading run from the course's
software as deploy/install.py installs it for everyone (README, "Teaching a
class", step 2), never from this checkout's .venv: that one may be
unreachable for other accounts (its interpreter under a 0700 /root, say).  Each student is an OS account with a home of its own
(LocalProcessSpawner), so the test also checks what they must not see: each
other's servers, homes and feedback, the exchange's inbound folder, the
formgrader.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from harness import copy_assignment, fill_solutions
from support import free_port, wait_until
from tools.assignments import ROOT, notebook_path, reference_solutions
from tools.settings import COURSE_ID, EXCHANGE_VAR, GRADEBOOK_VAR
from tools.testdeps import hub_proxy, hub_python, postgres, skip_reason as dependency_missing

NAME = "ps1_process_pool"
COURSE = COURSE_ID
FULL_MARKS = 14.0


def skip_reason() -> str | None:
    for dependency in ("postgres", "hub_proxy", "hub_python"):  # tools/testdeps, as tools/test.py found them
        if dependency_missing(dependency):
            return dependency_missing(dependency)
    if not sys.platform.startswith("linux"):
        return "the JupyterHub test runs on Linux only"
    if os.geteuid() != 0:
        return ("the JupyterHub test needs root: it creates OS accounts for its users "
                "(LocalProcessSpawner) and runs PostgreSQL as the postgres user")
    if not shutil.which("useradd") or not shutil.which("userdel"):
        return "useradd/userdel not found: cannot create the test's OS accounts"
    # when run without tools/test.py:
    return postgres.missing() or hub_proxy.missing() or hub_python.missing()


SKIP = skip_reason()
pytestmark = pytest.mark.skipif(bool(SKIP), reason=SKIP or "")


@pytest.fixture
def workdir():
    # not pytest's tmp_path: its parents are 0700, and every test account must reach its home
    import hubkit  # POSIX only (pwd): imported here so that collection elsewhere just skips

    hubkit.remove_stale_runs()
    path = hubkit.make_workdir()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def checkout_files() -> list[str]:
    """The checkout's files as a clone of it holds them: tracked ones, and new ones not
    yet committed (outputs, caches and environments are git-ignored)."""
    done = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                          cwd=ROOT, capture_output=True, timeout=60)
    if done.returncode == 0:
        return [name for name in done.stdout.decode().split("\0") if name]
    skipped = {".git", ".venv", ".cache", "autograded", "submitted", "feedback", "exchange", "workspace"}
    return [str(path.relative_to(ROOT)) for path in ROOT.rglob("*") if path.is_file()  # not a git checkout
            and not skipped & set(path.relative_to(ROOT).parts) and "__pycache__" not in path.parts]


def course_folder(root: Path) -> None:
    """The grader account's clone of the course repository, with only ps1 in source/."""
    for name in checkout_files():
        src = ROOT / name
        if name.startswith("source/") or not src.is_file():  # source/: below; or deleted, not yet committed
            continue
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, root / name)
    (root / "source").mkdir()
    copy_assignment(ROOT / "source" / NAME, root / "source" / NAME)


def steps():
    """Print each step with its time (shown with -s, and in the report of a failure)."""
    start = time.monotonic()

    def step(text: str) -> None:
        print(f"[{time.monotonic() - start:6.1f} s] {text}", flush=True)

    return step


@pytest.mark.slow
@pytest.mark.timeout(900)  # a first run also builds the course environment (about 15 s from uv's cache)
def test_a_class_on_jupyterhub(workdir):
    import psutil

    import hubkit  # POSIX only (pwd): imported here so that collection elsewhere just skips

    step = steps()
    software, venv = hubkit.install_software(workdir / "software", log=step)
    step(f"course software installed for everyone: {software}, environment {venv}")
    tag = secrets.token_hex(2)
    ada, bob, eve, grader = (f"pyct{tag}-{n}" for n in ("ada", "bob", "eve", "grader"))
    homes = workdir / "home"
    homes.mkdir(mode=0o711)
    exchange = workdir / "exchange"
    users = hubkit.OsUsers(homes)
    db = hubkit.Postgres(workdir / "pg")
    accounts, left_running = {}, []

    def processes_left() -> None:  # after the hub's own shutdown, before the accounts go
        uids = {a.pw_uid for a in accounts.values()}
        left_running.extend(f"{p.pid} {p.info['name']}" for p in psutil.process_iter(["uids", "name"])
                            if p.info["uids"] and p.info["uids"].real in uids)

    def then(what: str, action):
        def run():
            action()
            step(what)
        return run

    with contextlib.ExitStack() as cleanup:  # runs these in reverse order, whatever happens
        cleanup.callback(then("OS accounts removed", users.remove_all))
        cleanup.callback(then("PostgreSQL stopped", db.stop))
        cleanup.callback(processes_left)
        accounts.update({name: users.create(name) for name in (ada, bob, eve, grader)})
        course_root = Path(accounts[grader].pw_dir) / COURSE
        course_folder(course_root)
        hubkit.chown_tree(course_root, accounts[grader].pw_uid, accounts[grader].pw_gid)
        roster = workdir / "roster.txt"
        roster.write_text(f"# role name\nstudent {ada}\nstudent {bob}\ninstructor {eve}\n")
        step("accounts and course folder ready; starting PostgreSQL")
        db.start()
        step(f"PostgreSQL on 127.0.0.1:{db.port}; starting JupyterHub")

        hub = hubkit.Hub(workdir / "hub", software=software, venv=venv, env={
            GRADEBOOK_VAR: db.url,
            EXCHANGE_VAR: str(exchange),
            "PYCONC_ROSTER": str(roster),
            "PYCONC_GRADER_USER": grader,
            "PYCONC_COURSE_ROOT": str(course_root),
            "PYCONC_FORMGRADER_PORT": str(free_port()),
        })
        cleanup.callback(then("JupyterHub stopped, and with it the users' servers and the service", hub.stop))
        try:
            hub.start()
            rows = flow(hub, hubkit, step, accounts, ada, bob, eve, grader, course_root, exchange, db, venv)
        except BaseException:
            print("--- end of jupyterhub.log ---\n" + hub.log_tail(), flush=True)
            raise

    assert hub.proc.poll() is not None, "JupyterHub still running"
    assert not left_running, f"stopping the hub left its users' servers or the service running: {left_running}"

    scores = {r["student_id"]: float(r["raw_score"]) for r in rows if r["assignment"] == NAME}
    assert scores == {ada: FULL_MARKS, bob: 0.0}, f"exported grades: {rows}"
    assert {float(r["max_score"]) for r in rows if r["assignment"] == NAME} == {FULL_MARKS}, rows
    step(f"grades exported from PostgreSQL as expected: {scores}")


PROBE = """
import json, os, sys
seen = {}
for key, (how, path) in json.loads(sys.argv[1]).items():
    try:
        if how == "list":
            seen[key] = sorted(os.listdir(path))
        else:
            with open(path, "rb") as fh:
                seen[key] = len(fh.read(1)) >= 0
    except OSError as exc:
        seen[key] = type(exc).__name__
print(json.dumps(seen))
"""


def probe(hubkit, account, python: Path, checks: dict[str, tuple[str, Path]]) -> dict:
    """As an OS account: {key: its sorted listing, True (could read it), or the error's name}."""
    done = hubkit.run_as(account, python, PROBE, json.dumps({k: (how, str(p)) for k, (how, p) in checks.items()}))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def flow(hub, hubkit, step, accounts, ada, bob, eve, grader, course_root, exchange, db, venv) -> list[dict]:
    """Everything users do, through the hub; returns the grades CSV rows exported from PostgreSQL."""
    python = venv / "bin" / "python"
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin
    from traitlets.config import Config

    people = {name: hubkit.HubUser(hub, name) for name in (ada, bob, eve)}
    for person in people.values():
        person.login()
    students = [people[ada], people[bob]]
    instructor = people[eve]
    step("logged in through the hub's login form: 2 students, 1 instructor")

    # the exchange was prepared by the hub config with the modes nbgrader needs
    modes = {p.name: oct(p.stat().st_mode & 0o7777) for p in (exchange / COURSE).iterdir()}
    assert oct(exchange.stat().st_mode & 0o7777) == "0o1777", "exchange root"
    assert modes == {"outbound": "0o755", "inbound": "0o2733", "feedback": "0o711"}, modes

    for s in students:  # their servers spawn while the instructor releases the assignment
        s.start_server()
    formgrader = f"/services/{COURSE}/formgrader/api"
    wait_until(lambda: instructor.request("GET", f"{formgrader}/status").ok, 90, "the formgrader service",
               retry_on=(Exception,))
    step("the formgrader service is up")

    # instructor: generate (records the assignment in PostgreSQL) and release
    for action in ("assign", "release"):
        reply = instructor.json("POST", f"{formgrader}/assignment/{NAME}/{action}", timeout=180)
        assert reply.get("success"), f"formgrader {action} failed:\n{reply.get('error')}\n{reply.get('log')}"
    step("instructor generated and released the assignment through the formgrader service")
    for s in students:
        wait_until(s.server_ready, 120, f"{s.name}'s server", retry_on=(Exception,))
    step("students' servers (as their own OS accounts) are up")

    # who may reach what, through the proxy
    assert people[ada].request("GET", f"{formgrader}/status").status_code == 403, "a student reached the formgrader"
    assert people[ada].request("GET", f"/user/{bob}/api/contents").status_code == 403, "ada reached bob's server"
    assert instructor.request("GET", f"/user/{ada}/api/contents").status_code == 403, \
        "instructors are not hub admins: they grade in the formgrader, not in students' servers"

    # students: fetch, work (ada: the reference solution; bob: nothing), submit
    nb_name = notebook_path(NAME, ROOT / "release").name
    for s in students:
        listed = s.assignments()
        assert [(a["assignment_id"], a["status"]) for a in listed] == [(NAME, "released")], listed
        fetched = s.nbgrader("fetch", NAME)
        assert any(a["status"] == "fetched" for a in fetched), fetched
        if s.name == ada:
            path = f"/user/{ada}/api/contents/{COURSE}/{NAME}/{nb_name}"
            model = s.json("GET", path, params={"content": "1"})
            nb = fill_solutions(nbformat.from_dict(model["content"]), reference_solutions(NAME))
            s.json("PUT", path, json={"type": "notebook", "format": "json", "content": nb})
        submitted = s.nbgrader("submit", NAME)
        mine = [sub for a in submitted if a["status"] == "submitted" for sub in a.get("submissions", [])]
        assert mine and {sub["student_id"] for sub in mine} == {s.name}, submitted
    step("both students fetched and submitted through their Assignment List endpoints")

    # what a student's account can and cannot see on the machine
    seen = probe(hubkit, accounts[ada], python, {
        "own fetched assignment": ("list", Path(accounts[ada].pw_dir) / COURSE / NAME),
        "released assignments": ("list", exchange / COURSE / "outbound"),
        "another student's home": ("list", Path(accounts[bob].pw_dir)),
        "the exchange's inbound": ("list", exchange / COURSE / "inbound"),
        "the exchange's feedback": ("list", exchange / COURSE / "feedback"),
        "the course's source/": ("list", course_root / "source"),
        "the course's submitted/": ("list", course_root / "submitted"),
        "the course's feedback/": ("list", course_root / "feedback"),
    })
    assert nb_name in seen.pop("own fetched assignment"), seen
    assert seen.pop("released assignments") == [NAME], seen
    assert all(v == "PermissionError" for v in seen.values()), f"a student could list: {seen}"

    # instructor: collect (formgrader), then the course's parallel, sandboxed autograde
    reply = instructor.json("POST", f"{formgrader}/assignment/{NAME}/collect", timeout=180)
    assert reply.get("success"), f"collect failed:\n{reply.get('error')}\n{reply.get('log')}"
    assert sorted(p.name for p in (course_root / "submitted").iterdir()) == sorted([ada, bob])
    assert "claims to be submitted by" not in (reply.get("log") or ""), reply.get("log")
    step("instructor collected; autograding (python -m grader autograde, 2 jobs, into PostgreSQL)")
    env = {"PATH": f"{python.parent}{os.pathsep}/usr/bin:/bin", "LANG": "C.UTF-8",
           "HOME": "/root", GRADEBOOK_VAR: db.url, EXCHANGE_VAR: str(exchange)}
    done = subprocess.run([str(python), "-m", "grader", "autograde", NAME, "--jobs", "2"], cwd=course_root,
                          env=env, capture_output=True, text=True, timeout=300)
    logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}"
                     for p in sorted((course_root / "autograded" / ".logs" / NAME).glob("*.log")))
    assert done.returncode == 0 and "2 graded, 0 failed" in done.stdout, \
        f"autograde:\n{done.stdout}\n{done.stderr[-3000:]}\n{logs}"
    assert not (course_root / "gradebook.db").exists(), "a SQLite gradebook was made: the URL was not used"
    step("autograded:\n" + done.stdout.strip())
    # as README says: autograde ran as root (a sandbox uid per submission); hand its output
    # back to the grader account and close the course folder again
    fixed = subprocess.run([str(python), str(hub.software / "deploy" / "permissions.py"), str(exchange),
                            str(course_root), grader], capture_output=True, text=True, timeout=60)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr

    for action in ("generate_feedback", "release_feedback"):
        reply = instructor.json("POST", f"{formgrader}/assignment/{NAME}/{action}", timeout=180)
        assert reply.get("success"), f"formgrader {action} failed:\n{reply.get('error')}\n{reply.get('log')}"
    step("instructor generated and released feedback")

    # root's autograde left its output behind; after permissions.py bob's work is closed to ada
    bobs = {
        "bob's collected notebook": course_root / "submitted" / bob / NAME / nb_name,
        "bob's autograded notebook": course_root / "autograded" / bob / NAME / nb_name,
        "bob's feedback page": course_root / "feedback" / bob / NAME / nb_name.replace(".ipynb", ".html"),
        "the solutions": course_root / "source" / NAME / nb_name,
    }
    assert all(path.is_file() for path in bobs.values()), "the course folder should hold these"
    seen = probe(hubkit, accounts[ada], python, {key: ("read", path) for key, path in bobs.items()})
    assert all(v == "PermissionError" for v in seen.values()), f"a student could read: {seen}"

    for s, expected in ((people[ada], FULL_MARKS), (people[bob], 0.0)):
        listed = s.nbgrader("fetch_feedback", NAME)
        subs = [sub for a in listed if a["status"] == "submitted" for sub in a.get("submissions", [])]
        assert subs and all(sub["student_id"] == s.name for sub in subs), listed
        assert any(sub.get("has_local_feedback") for sub in subs), listed
        home = Path(accounts[s.name].pw_dir) / COURSE / NAME / "feedback"
        pages = list(home.glob("*/*.html"))
        assert len(pages) == 1, f"{s.name} should have exactly their own feedback page: {pages}"
        text = pages[0].read_text()
        total = re.search(rf"{re.escape(nb_name[:-len('.ipynb')])} \(Score: ([\d.]+) / ([\d.]+)\)", text)
        assert total and (float(total[1]), float(total[2])) == (expected, FULL_MARKS), \
            f"{s.name}'s feedback should show {expected:g} / {FULL_MARKS:g}: {total and total[0]}"
        others = [n for n in (ada, bob) if n != s.name]
        assert not any(o in text for o in others), f"{s.name}'s feedback names another student"
    step("each student fetched their own feedback, and only theirs")

    cfg = Config()
    cfg.CourseDirectory.course_id = COURSE
    out = Path(tempfile.mkdtemp(prefix="pyconc-grades-")) / "grades.csv"
    try:
        with Gradebook(db.url, COURSE) as gb:
            CsvExportPlugin(config=cfg, to=str(out)).export(gb)
        with open(out, newline="") as fh:
            rows = list(csv.DictReader(fh))
        step("grades exported from PostgreSQL")
        return rows
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
