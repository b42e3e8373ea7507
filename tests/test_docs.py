"""Where a document must state a fact by hand, it states the code's: README's tables of
the sandbox's limits and of the assignments, the course id, .gitignore's list of files
that solution cells write, CONTRIBUTING's list of environment variables.  Fast: no
kernel, no nbgrader command."""
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from grader.execute import SandboxedExecute
from grader.parallel import load_config
from tools.assignments import assignments, notebook_path, points_of, written_files
from tools.settings import COURSE_ID

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
READMES = (README, ROOT / "README.zh-CN.md")
CONTRIBUTING = ROOT / "CONTRIBUTING.md"


def setting(section: str, name: str):
    """What the course runs with: nbgrader_config.py's value, else the trait's default."""
    cfg = load_config(ROOT)
    if name in cfg[section]:
        return cfg[section][name]
    assert section == "SandboxedExecute", f"{section}.{name} is not set in nbgrader_config.py"
    return SandboxedExecute.class_traits()[name].default()


def limit_rows() -> dict[str, list[str]]:
    """{setting: [limit, stops, default, setting]} of README's table of the sandbox's limits."""
    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and (found := re.match(r"`((?:Sandboxed)?Execute\.\w+)", cells[3])):
            assert found[1] not in rows, f"README's table of limits has two rows for {found[1]}"
            rows[found[1]] = cells
    return rows


def _cores(n: float) -> str:
    return f"{n:g} core" + ("" if n == 1 else "s")


# How README's "default" column writes each limit the sandbox enforces.
DEFAULT_COLUMN = {
    "Execute.timeout": lambda v: f"{v} s",
    "SandboxedExecute.notebook_timeout": lambda v: f"{v} s",
    "SandboxedExecute.interrupt_grace": lambda v: f"{v:g} s",
    "SandboxedExecute.memory_mb": lambda v: f"{v} MiB",
    "SandboxedExecute.processes": str,
    "SandboxedExecute.cpus": _cores,
    "SandboxedExecute.file_mb": lambda v: f"{v} MiB",
    "SandboxedExecute.open_files": lambda v: f"{v} per process",
    "SandboxedExecute.network": lambda v: "on" if v else "off",
}


@pytest.mark.parametrize("name", sorted(DEFAULT_COLUMN))
def test_readme_states_each_limit_as_the_grader_sets_it(name):
    rows = limit_rows()
    assert name in rows, f"README's table of the sandbox's limits has no row for `{name}`"
    expected = DEFAULT_COLUMN[name](setting(*name.split(".")))
    assert rows[name][2].startswith(expected), \
        f"README says {name} defaults to {rows[name][2]!r}; the grader runs with {expected!r}"


def test_every_limit_of_the_sandbox_is_in_the_readme():
    """A new limit (an Integer or Float trait of SandboxedExecute) needs a row, and a default above."""
    numeric = {f"SandboxedExecute.{n}" for n, t in SandboxedExecute.class_own_traits(config=True).items()
               if type(t).__name__ in ("Integer", "Float")}
    missing = numeric - set(DEFAULT_COLUMN) - {"SandboxedExecute.uid_base"}
    assert not missing, f"add these to README's table of limits and to DEFAULT_COLUMN: {sorted(missing)}"


def test_readme_and_contributing_name_the_first_sandbox_uid():
    base = setting("SandboxedExecute", "uid_base")
    user = limit_rows()["SandboxedExecute.uid_base"]
    assert f"from {base}" in user[1], f"README's 'user' row should say the uids start at {base}: {user[1]!r}"
    assert f"uids from {base} up" in CONTRIBUTING.read_text(encoding="utf-8")


def test_readme_names_the_folders_hidden_from_the_sandbox():
    row = limit_rows()["SandboxedExecute.hidden"]
    for folder in setting("SandboxedExecute", "hidden"):
        assert f"`{folder}`" in row[1], f"README's file-system view row should name `{folder}`"


def test_readme_configuration_line_states_course_id_and_cell_timeout():
    line = next(l for l in README.read_text(encoding="utf-8").splitlines() if l.startswith("**Configuration**"))
    assert f"course id `{COURSE_ID}`" in line and f"cell timeout {setting('Execute', 'timeout')} s" in line, line


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.name)
def test_readme_lists_every_assignment_with_its_points(readme):
    listed = {m[1]: float(m[2]) for m in re.finditer(r"^\| `(\w+)` \| (\d+(?:\.\d+)?) \|",
                                                     readme.read_text(encoding="utf-8"), re.M)}
    actual = {a: sum(points_of(nbformat.read(notebook_path(a), as_version=4)).values()) for a in assignments()}
    assert listed == actual, f"{readme.name}'s table of assignments (name, points) should be {actual}"


# ------------------------------------------------------------- files solution cells write
def test_files_solution_cells_write_are_never_shipped_nor_protected():
    cfg = load_config(ROOT)
    written = written_files()
    assert "pool.py" in written, "ps1's %%writefile pool.py cell is not found"
    assert set(written) <= set(cfg.CourseDirectory.ignore), "nbgrader would ship them to students"
    assert list(cfg.SandboxedExecute.ignore) == list(cfg.CourseDirectory.ignore)


def test_a_written_file_left_in_source_is_not_a_shipped_helper(tmp_path):
    """Validating source/ leaves pool.py there; the student's own pool.py must stay theirs
    to write while grading, not be protected as a helper the course ships."""
    source, work = tmp_path / "source" / "ps1_process_pool", tmp_path / "work" / "ps1_process_pool"
    for folder in (source, work):
        folder.mkdir(parents=True)
        for name in ("pool.py", "tasks.py", "x.pyc"):
            (folder / name).write_text("")
    cfg = load_config(ROOT)
    cfg.SandboxedExecute.source_dir = str(tmp_path / "source")
    assert SandboxedExecute(config=cfg)._shipped_files(str(work)) == ["tasks.py"]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_gitignore_keeps_every_file_solution_cells_write_out_of_git():
    paths = [f"source/{a}/{f}" for a in assignments() for f in written_files()]
    done = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], input="\n".join(paths),
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    if done.returncode > 1:
        pytest.skip(f"git check-ignore failed: {done.stderr.strip()}")
    missing = sorted(set(paths) - set(done.stdout.split()))
    assert not missing, f".gitignore must ignore what validating source/ writes: {missing}"


# ------------------------------------------------------------- environment variables
# a string "NAME" (in a notebook's JSON: \"NAME\"), or a keyword NAME=... (dict(os.environ, NAME=...))
ENV_NAME = re.compile(r"""\\?["']((?:COURSE|PYCONC)_[A-Z][A-Z_]*)\\?["']|(?<![\w.])((?:COURSE|PYCONC)_[A-Z][A-Z_]*)=(?!=)""")


def environment_names() -> dict[str, set[str]]:
    """{name: files} of every COURSE_* or PYCONC_* string in the course's code and notebooks."""
    files = [p for p in ROOT.glob("*.py")]
    for folder in ("grader", "tools", "tests", "deploy", "course", "benchmarks", "source", "site"):
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".ipynb")
                  and ".ipynb_checkpoints" not in p.parts]
    found: dict[str, set[str]] = {}
    for path in files:
        for match in ENV_NAME.finditer(path.read_text(encoding="utf-8", errors="replace")):
            found.setdefault(match[1] or match[2], set()).add(str(path.relative_to(ROOT)))
    return found


def test_contributing_lists_every_environment_variable():
    text = CONTRIBUTING.read_text(encoding="utf-8")
    section = text.split("## Environment variables", 1)[-1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`((?:COURSE|PYCONC)_[A-Z_]*[A-Z])`", section))
    prefixes = set(re.findall(r"`((?:COURSE|PYCONC)_[A-Z_]*_)<", section))
    found = environment_names()
    assert "COURSE_EXCHANGE" in found and documented, "nothing found: the scan is broken"
    missing = {n: sorted(f) for n, f in found.items()
               if n not in documented and not any(n.startswith(p) for p in prefixes)}
    assert not missing, f"CONTRIBUTING.md, 'Environment variables', should list {missing}"
    stale = {n for n in documented if n not in found}
    assert not stale, f"CONTRIBUTING.md lists variables nothing reads any more: {sorted(stale)}"
