"""What root reads and writes around a grading (grader.execute): never through a
link or into a folder someone else could have prepared."""
import os
import stat

import pytest

from grader.execute import copy_regular, root_only_folder, write_nofollow

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the uid lock folder is root's: run as root")


def test_a_report_replaces_a_planted_link_instead_of_writing_through_it(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("untouched")
    folder = tmp_path / "graded"
    folder.mkdir()
    (folder / "tampering.json").symlink_to(outside)
    write_nofollow(str(folder / "tampering.json"), "the report")
    assert outside.read_text() == "untouched"
    assert not (folder / "tampering.json").is_symlink()
    assert (folder / "tampering.json").read_text() == "the report"


def test_the_sandbox_gets_a_copy_without_links_or_special_files(tmp_path):
    src = tmp_path / "submission"
    (src / "sub").mkdir(parents=True)
    (src / "work.ipynb").write_text("{}")
    (src / "sub" / "helper.py").write_text("x = 1")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the submission")
    (src / "link.txt").symlink_to(secret)
    (src / "linkdir").symlink_to(tmp_path)
    os.mkfifo(src / "pipe")
    skipped = copy_regular(str(src), str(tmp_path / "copy"), None)
    copied = sorted(str(p.relative_to(tmp_path / "copy")) for p in (tmp_path / "copy").rglob("*"))
    assert copied == ["sub", "sub/helper.py", "work.ipynb"]
    assert sorted(skipped) == ["./link.txt", "./linkdir", "./pipe"]


@as_root
def test_a_root_folder_someone_else_prepared_is_refused(tmp_path):
    base = tmp_path / "run"
    base.mkdir(mode=0o755)
    good = root_only_folder(str(base / "uids"))
    assert stat.S_IMODE(os.lstat(good).st_mode) == 0o700
    assert root_only_folder(good) == good, "a folder root made is used again"

    planted = tmp_path / "planted"
    planted.mkdir()
    (base / "link").symlink_to(planted)
    with pytest.raises(PermissionError):
        root_only_folder(str(base / "link"))

    theirs = base / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    with pytest.raises(PermissionError):
        root_only_folder(str(theirs))

    open_to_all = base / "open"
    open_to_all.mkdir()
    open_to_all.chmod(0o777)
    with pytest.raises(PermissionError):
        root_only_folder(str(open_to_all))


def test_collect_copies_no_file_through_a_link_in_a_submission(tmp_path):
    from grading_course import collected_course
    from harness import Course
    from tools.assignments import notebook_path

    secret = tmp_path / "secret.txt"
    secret.write_text("root's secret")
    name = "ps2_deadlock"
    course = Course(tmp_path / "course")
    course.add_source(name)
    course.generate(name)
    course.release(name)
    course.fetch("mallory", name)
    course.submit("mallory", name)
    inbound = next((tmp_path / "course" / "exchange").rglob(f"mallory+{name}+*"))
    (inbound / "notes.txt").symlink_to(secret)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "key.txt").write_text("root's secret")
    (inbound / "loot").symlink_to(elsewhere)
    course.collect(name)
    submitted = tmp_path / "course" / "submitted" / "mallory" / name
    assert notebook_path(name, submitted.parent).exists(), "the submission itself is collected"
    assert not (submitted / "notes.txt").exists() and not (submitted / "loot").exists()
    assert not any("root's secret" in p.read_text(errors="replace") for p in submitted.rglob("*") if p.is_file())


def test_the_kernels_environment_is_built_from_an_allow_list(monkeypatch):
    from grader import launcher

    from tools.settings import GRADEBOOK_VAR

    for name, value in {GRADEBOOK_VAR: "postgresql://u:pw@db/course", "JUPYTERHUB_API_TOKEN": "t",
                        "AWS_SECRET_ACCESS_KEY": "s", "SOMETHING_NEW": "x", "LANG": "C.UTF-8"}.items():
        monkeypatch.setenv(name, value)
    env = launcher.kernel_environment({"home": "/box", "tmp": "/box/tmp"}, {"network": "isolated"}, parent=1)
    assert set(env) <= set(launcher.ENV_ALLOWED) | {"HOME", "TMPDIR", "MPLCONFIGDIR", "PYTHONNOUSERSITE",
                                                     "JPY_PARENT_PID", launcher.NETWORK_VAR, launcher.VIEW_VAR}
    assert env["LANG"] == "C.UTF-8" and env["HOME"] == "/box"
    assert not {GRADEBOOK_VAR, "JUPYTERHUB_API_TOKEN", "AWS_SECRET_ACCESS_KEY", "SOMETHING_NEW"} & set(env)
