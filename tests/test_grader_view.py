"""grader.view: the sandbox uid reaches what it needs through closed folders and
sees nothing else of the hidden ones, without any permission changing on disk."""
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from grader import view
from tools.assignments import ROOT


def tree(tmp_path):
    """course/ (hidden) with the submission and others' work; private/ (0700) on the way to python."""
    course = tmp_path / "course"
    mine = course / "autograded" / "ann" / "ps"
    mine.mkdir(parents=True)
    (mine / "work.py").write_text("mine")
    (course / "autograded" / "bob" / "ps").mkdir(parents=True)
    (course / "autograded" / "bob" / "ps" / "work.py").write_text("bob's")
    (course / "gradebook.db").write_text("grades")
    (course / "source").mkdir()
    python = tmp_path / "private" / "opt" / "python"
    python.mkdir(parents=True)
    (tmp_path / "private" / "secret.txt").write_text("secret")
    (tmp_path / "private").chmod(0o700)
    return course, mine, python


def test_plan_masks_closed_folders_and_hidden_ones_keeping_only_the_way(tmp_path):
    course, mine, python = tree(tmp_path)
    layout = view.plan([str(mine), str(python)], [str(course)])
    assert layout[str(course)] == ["autograded"]
    assert layout[str(tmp_path / "private")] == ["opt"]
    assert layout[str(course / "autograded")] == ["ann"], "inside a hidden folder only the way shows"
    assert str(tmp_path / "private" / "opt") not in layout, "an open folder below a closed one needs no mask"
    assert all(not m.startswith(str(mine)) for m in layout), "a kept folder stays whole"
    order = list(layout)
    assert order == sorted(order, key=lambda p: p.count("/")), "parents are masked before children"


def test_plan_skips_hidden_folders_inside_hidden_ones(tmp_path):
    course, mine, python = tree(tmp_path)
    (course / "exchange").mkdir()
    layout = view.plan([str(mine)], [str(course), str(course / "exchange"), str(course / "autograded" / "bob")])
    assert str(course / "exchange") not in layout, "gone with the course folder: nothing to mask"
    assert str(course / "autograded" / "bob") not in layout
    assert layout[str(course / "autograded")] == ["ann"]


def test_plan_keeps_a_kept_folder_whole_even_when_asked_to_hide_inside_it(tmp_path):
    course, mine, python = tree(tmp_path)
    layout = view.plan([str(course)], [str(course / "source")])
    assert not [m for m in layout if m.startswith(str(course))]


def test_open_the_way_opens_traversal_only(tmp_path):
    course, mine, python = tree(tmp_path)
    opened = view.open_the_way([str(python)])
    assert str(tmp_path / "private") in opened
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o701


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="a mount namespace needs root")
def test_enter_shows_the_way_and_hides_the_rest_for_this_process_only(tmp_path):
    course, mine, python = tree(tmp_path)
    staging = Path(tempfile.mkdtemp())  # not inside a folder that gets masked
    before = {p: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path, tmp_path / "private", course)}
    probe = textwrap.dedent(f"""
        import os, sys
        from grader import view
        view.enter([{str(mine)!r}, {str(python)!r}], [{str(course)!r}, {str(course / 'source')!r}],
                   staging={str(staging)!r})
        os.setgroups([]); os.setgid(65534); os.setuid(65534)
        print(open({str(mine / 'work.py')!r}).read())
        print(os.path.isdir({str(python)!r}))
        for path in ({str(course / 'autograded' / 'bob' / 'ps' / 'work.py')!r}, {str(course / 'gradebook.db')!r},
                     {str(tmp_path / 'private' / 'secret.txt')!r}):
            print(os.path.exists(path))
        print(sorted(os.listdir({str(course)!r})))
    """)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:6] == ["mine", "True", "False", "False", "False", "['autograded']"]
    assert (course / "autograded" / "bob" / "ps" / "work.py").read_text() == "bob's", "hidden, not removed"
    assert {p: stat.S_IMODE(p.stat().st_mode) for p in before} == before, "no permission changed on disk"
    assert not list(staging.iterdir()), "staging folders are cleaned up"
    staging.rmdir()
