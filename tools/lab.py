"""Open the course in JupyterLab (what `make lab` runs).

    python -m tools.lab [extra jupyter-lab arguments, e.g. --no-browser --port 8899]
    python -m tools.lab --lang zh [...]   # the Chinese edition (make lab LANG=zh)

Before it starts JupyterLab it makes the embedded, single-machine set-up
ready, idempotently: the repo-local exchange and workspace folders exist, and
every assignment in release/ is released into the exchange (again, if
release/ changed), so the Assignment List offers it at once; and this
computer's user, the student here, has a name in the gradebook.  Set
COURSE_EXCHANGE to use a shared exchange instead (see README).

``--lang zh`` first builds the Chinese edition (tools/translate.py) into
build/zh-CN/, releases the assignments from build/zh-CN/release/ (the same
assignments, tests and points, with Chinese instructions), opens the Chinese
welcome notebook, and shows JupyterLab's interface in Chinese (the language
pack in requirements.txt, chosen as the default locale through a settings
overrides file in build/zh-CN/lab-settings/; a language picked in the
Settings > Language menu still wins).
"""
from __future__ import annotations

import filecmp
import os
import sys
from pathlib import Path

from tools.settings import COURSE_ID, exchange_root, gradebook_url

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def release(names: list[str], releases: Path = ROOT / "release") -> None:
    """nbgrader's release_assignment --force for each name, in this process (one start-up for all)."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeReleaseAssignment

    sys.path.insert(0, str(ROOT))
    from grader.parallel import load_config

    for name in names:
        cfg = load_config(ROOT)
        cfg.CourseDirectory.assignment_id = name
        cfg.CourseDirectory.release_directory = os.path.relpath(releases, cfg.CourseDirectory.root or ROOT)
        app = ExchangeReleaseAssignment(coursedir=CourseDirectory(config=cfg),
                                        authenticator=Authenticator(config=cfg), config=cfg)
        app.force = True
        try:
            app.start()
        except Exception as exc:
            raise SystemExit(f"could not release {name} into {exchange_root()}: {exc}") from None


def released_copy_is_current(name: str, releases: Path = ROOT / "release") -> bool:
    outbound = exchange_root() / COURSE_ID / "outbound" / name
    if not outbound.is_dir():
        return False
    cmp = filecmp.dircmp(releases / name, outbound, ignore=[".ipynb_checkpoints", "__pycache__"])
    return not (cmp.left_only or cmp.right_only or cmp.diff_files)


def prepare(releases: Path = ROOT / "release") -> list[str]:
    """Create the exchange and workspace; release what is new or changed (from `releases`:
    release/, or the Chinese edition's). Returns what was released."""
    root = exchange_root()
    root.mkdir(parents=True, exist_ok=True)
    (ROOT / "workspace").mkdir(exist_ok=True)
    released = [f.name for f in sorted(releases.iterdir())
                if f.is_dir() and not released_copy_is_current(f.name, releases)]
    release(released, releases)
    from tools.instructor import name_local_student

    name_local_student()  # the Formgrader shows this student by name, not "None, None"
    return released


def chinese_edition() -> tuple[Path, str]:
    """Build the Chinese edition; return (its releases, the JupyterLab settings folder that
    makes Chinese the default interface language)."""
    import json

    from tools import translate

    translate.build()
    settings = translate.BUILD / "lab-settings"
    settings.mkdir(parents=True, exist_ok=True)
    default = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings"
    for f in default.glob("*.json"):  # keep what the environment's own settings folder says
        if f.name != "overrides.json":
            (settings / f.name).write_bytes(f.read_bytes())
    overrides = json.loads((default / "overrides.json").read_text()) if (default / "overrides.json").exists() else {}
    overrides.setdefault("@jupyterlab/translation-extension:plugin", {})["locale"] = "zh_CN"
    (settings / "overrides.json").write_text(json.dumps(overrides, indent=2) + "\n")
    return translate.BUILD / "release", str(settings)


def main(argv: list[str]) -> int:
    argv = list(argv)
    lang = "en"
    if "--lang" in argv:
        at = argv.index("--lang")
        lang = argv[at + 1] if at + 1 < len(argv) else ""
        del argv[at:at + 2]
    if lang not in ("en", "zh"):
        raise SystemExit(f"--lang {lang!r}: the course has the editions en and zh")
    releases, welcome = ROOT / "release", "course/00-Welcome.ipynb"
    if lang == "zh":
        releases, settings = chinese_edition()
        welcome = f"{(releases.parent / 'course').relative_to(ROOT).as_posix()}/00-Welcome.ipynb"
        argv.append(f"--LabApp.app_settings_dir={settings}")
        if os.environ.get("LANG", "").lower() in ("zh", "zh_cn", "zh-cn"):
            os.environ["LANG"] = "C.UTF-8"  # `make lab LANG=zh` sets LANG, which is not a locale
    released = prepare(releases)
    if released:
        print("Released to the local exchange:", ", ".join(released))
    print(f"Exchange: {exchange_root()}   Gradebook: {gradebook_url()}")
    cmd = [str(BIN / "jupyter"), "lab", f"--ServerApp.root_dir={ROOT}", *argv]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in argv:
        cmd.append("--allow-root")  # containers and CI machines often run as root
    if not any(a.startswith("--LabApp.default_url") or a.startswith("--ServerApp.default_url") for a in argv):
        cmd.append(f"--LabApp.default_url=/lab/tree/{welcome}")
    os.chdir(ROOT)
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    os.execv(cmd[0], cmd)  # JupyterLab takes over this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
