"""Pieces of a real class server on loopback, for tests/test_hub.py.

* ``Postgres``: a throwaway PostgreSQL server (initdb into a temporary folder,
  run as the ``postgres`` OS user on a free loopback port) with a database and
  a password-protected role for the gradebook.
* ``OsUsers``: OS accounts with homes of their own, for JupyterHub's
  LocalProcessSpawner; each is tagged with the creating process id, so a run
  that was killed has its accounts removed by the next one.
* ``install_software``: the course's software installed by deploy/install.py
  where every account can use it, as an administrator would; its Python
  environment is cached between runs, keyed by the requirements and the Python.
* ``Hub``: JupyterHub started from that install with its
  deploy/jupyterhub_config.py, only the authenticator (a dummy one), ports and
  state folder overridden.
* ``HubUser``: logs in through the hub's login form, takes an API token, and
  talks to the hub API, its own server and services through the proxy.

Every wait is bounded; every ``stop``/``remove`` is safe to call twice and
after a failed start.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
from pathlib import Path

import psutil
import requests

from support import folders_of_dead_runs, free_port, locked, run_folder, stop_process_tree, wait_until
from tools.testdeps import hub_proxy, postgres

ROOT = Path(__file__).resolve().parent.parent
HTTP_TIMEOUT = 60          # s, any one HTTP request
# The course environment's cache: root's own folder in /var/tmp (kept across reboots,
# reachable by every account), one environment per key of deploy/install.py.
ENV_CACHE = Path("/var/tmp/pyconc-hub-test")
ENV_CACHE_KEEP = 2         # environments kept (e.g. for two branches with other requirements)
BUILD_TIMEOUT = 1500       # s, waiting for another run that is building the same cache
USER_TAG = "pyconc hub test pid="


def kill_uid(uid: int) -> None:
    victims = []
    for proc in psutil.process_iter(["uids"]):
        with contextlib.suppress(psutil.Error):
            if proc.info["uids"] and proc.info["uids"].real == uid:
                victims.append(proc)
    for proc in victims:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(victims, timeout=10)


# --- PostgreSQL -------------------------------------------------------------
class Postgres:
    """PostgreSQL on 127.0.0.1:<free port>, data in `base`, run as the postgres OS user."""

    DB, ROLE = "pyconc", "pyconc_grader"

    def __init__(self, base: Path):
        self.base = base
        self.data, self.sock, self.log = base / "data", base / "sock", base / "server.log"
        self.port = free_port()
        self.password = secrets.token_urlsafe(16)
        self.bindir = postgres.bindir()
        account = pwd.getpwnam(postgres.os_user())
        self.uid, self.gid = account.pw_uid, account.pw_gid
        self.started = False

    @property
    def url(self) -> str:
        return f"postgresql://{self.ROLE}:{self.password}@127.0.0.1:{self.port}/{self.DB}"

    def _run(self, *args: str, timeout: float = 120) -> str:
        kwargs = {}
        if os.geteuid() == 0:
            kwargs = {"user": self.uid, "group": self.gid, "extra_groups": []}
        proc = subprocess.run([str(self.bindir / args[0]), *args[1:]], capture_output=True, text=True,
                              timeout=timeout, cwd=self.base, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                              **kwargs)
        if proc.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
        return proc.stdout

    def start(self) -> None:
        self.base.mkdir(mode=0o700)
        self.sock.mkdir(mode=0o700)
        for path in (self.base, self.sock):
            os.chown(path, self.uid, self.gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8", "--no-sync",
                  "--auth-local=trust", "--auth-host=scram-sha-256")
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.sock} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self.started = True
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start", timeout=90)
        import psycopg2

        # only postgres (and root) can reach the socket folder, so local "trust" is safe here
        conn = psycopg2.connect(host=str(self.sock), port=self.port, user="postgres",
                                dbname="postgres", connect_timeout=30)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"CREATE ROLE {self.ROLE} LOGIN PASSWORD %s", (self.password,))
                cur.execute(f"CREATE DATABASE {self.DB} OWNER {self.ROLE}")
        finally:
            conn.close()

    def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop", timeout=60)
        except Exception:
            pid_file = self.data / "postmaster.pid"
            with contextlib.suppress(OSError, ValueError, ProcessLookupError):
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)


# --- the course's software, installed for everyone -----------------------------
def deploy_install():
    """deploy/install.py as a module."""
    spec = importlib.util.spec_from_file_location("pyconc_install", ROOT / "deploy" / "install.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _own_folder(path: Path) -> Path:
    """`path` exists, is a real folder of ours, and nobody else may write to it.

    /var/tmp is world-writable: another account could have made the folder first
    and planted an environment that root would then run."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o755)
    st = path.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise RuntimeError(f"{path} is not a folder that only this account can write to "
                           f"({stat.filemode(st.st_mode)}, uid {st.st_uid}): remove it and run again")
    if stat.S_IMODE(st.st_mode) != 0o755:  # mkdir under root's umask may have closed it
        os.chmod(path, 0o755)
    return path


def install_software(target: Path, log=print) -> tuple[Path, Path]:
    """What an administrator does (README, "Teaching a class", step 2): deploy/install.py
    puts the course's code into `target` (fresh every run) and its Python environment,
    built from a Python every account can run, into the cache (built when the
    requirements or the Python changed; checked as `nobody` every run).
    Returns (target, venv)."""
    install = deploy_install()
    python = install.find_python()
    cache = _own_folder(ENV_CACHE)
    venv = cache / f"venv-{install.environment_key(python)}"
    with locked(cache / ".lock", BUILD_TIMEOUT, "another run building the environment"):
        install.install(target, venv=venv, python=python, log=log)
        os.utime(venv / install.KEY_FILE)  # last used: the pruning below keeps the newest
        done = sorted((p for p in cache.glob("venv-*") if (p / install.KEY_FILE).is_file()),
                      key=lambda p: (p / install.KEY_FILE).stat().st_mtime, reverse=True)
        unfinished = [p for p in cache.glob("venv-*") if not (p / install.KEY_FILE).is_file()]
        for old in done[ENV_CACHE_KEEP:] + unfinished:
            if old != venv:
                shutil.rmtree(old, ignore_errors=True)
    return target, venv


# --- a run's folder, and what a killed run left behind ------------------------
RUN_PREFIX = "pyconc-hub-"


def make_workdir() -> Path:
    """A fresh folder for one run, named after this process, that every test account may traverse."""
    return run_folder(RUN_PREFIX)


def remove_stale_runs() -> None:
    """Servers and folders of earlier runs whose process is gone (killed before its clean-up)."""
    OsUsers.remove_stale()
    for folder in folders_of_dead_runs(RUN_PREFIX):
        victims = []
        with contextlib.suppress(OSError, ValueError):
            victims.append(psutil.Process(int((folder / "hub" / "proxy.pid").read_text().strip())))
        for proc in psutil.process_iter(["cmdline", "cwd"]):
            with contextlib.suppress(psutil.Error, TypeError):
                if str(folder) in " ".join(proc.info["cmdline"] or []) or \
                        (proc.info["cwd"] or "").startswith(str(folder)):
                    victims.append(proc)
        for proc in victims:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(victims, timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


# --- OS accounts ------------------------------------------------------------
class OsUsers:
    """OS accounts for the hub's users, removed (with their processes) by remove_all()."""

    def __init__(self, homes: Path):
        self.homes = homes
        self.created: list[str] = []

    @staticmethod
    def remove_stale() -> None:
        """Accounts left by a test run that was killed (its pid is gone)."""
        for entry in pwd.getpwall():
            pid = entry.pw_gecos[len(USER_TAG):]
            if not entry.pw_gecos.startswith(USER_TAG) or not pid.isdigit() or psutil.pid_exists(int(pid)):
                continue  # not ours, or its run is still going
            OsUsers._remove(entry.pw_name)

    @staticmethod
    def _remove(name: str) -> None:
        with contextlib.suppress(KeyError):
            kill_uid(pwd.getpwnam(name).pw_uid)
        subprocess.run(["userdel", name], capture_output=True, timeout=60)

    def create(self, name: str) -> pwd.struct_passwd:
        home = self.homes / name
        subprocess.run(["useradd", "--home-dir", str(home), "--create-home", "--shell", "/usr/sbin/nologin",
                        "--comment", f"{USER_TAG}{os.getpid()}", "--user-group", name],
                       check=True, capture_output=True, timeout=60)
        self.created.append(name)
        os.chmod(home, 0o700)
        return pwd.getpwnam(name)

    def remove_all(self) -> None:
        for name in self.created:
            self._remove(name)
        self.created.clear()


def chown_tree(path: Path, uid: int, gid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
            os.lchown(name, uid, gid)


def run_as(account: pwd.struct_passwd, python: Path, code: str, *args: str,
           timeout: float = 60) -> subprocess.CompletedProcess:
    """Python code run as an OS account (no supplementary groups), by the installed `python`."""
    return subprocess.run([str(python), "-I", "-c", code, *args], capture_output=True, text=True, timeout=timeout,
                          user=account.pw_uid, group=account.pw_gid, extra_groups=[], cwd="/",
                          env={"HOME": account.pw_dir, "PATH": "/usr/bin:/bin"})


# --- JupyterHub -------------------------------------------------------------
class Hub:
    """JupyterHub with the installed course's deploy/jupyterhub_config.py, on loopback."""

    def __init__(self, state: Path, env: dict[str, str], software: Path, venv: Path):
        self.state = state
        self.env = env
        self.software, self.bin = software, venv / "bin"
        self.port, self.hub_port, self.api_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log = state / "jupyterhub.log"

    def start(self, timeout: float = 150) -> None:
        self.state.mkdir(mode=0o700, exist_ok=True)
        overlay = self.state / "jupyterhub_config.py"
        overlay.write_text(f"""\
# The course's hub configuration, as shipped; only what a test must change.
c = get_config()
load_subconfig({str(self.software / 'deploy' / 'jupyterhub_config.py')!r})
c.JupyterHub.authenticator_class = "dummy"   # instead of PAM: the test accounts have no passwords
c.JupyterHub.bind_url = {self.url!r}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {self.hub_port}
c.ConfigurableHTTPProxy.command = [{hub_proxy.executable()!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{self.api_port}"
c.ConfigurableHTTPProxy.pid_file = {str(self.state / 'proxy.pid')!r}
c.JupyterHub.db_url = {'sqlite:///' + str(self.state / 'jupyterhub.sqlite')!r}
c.JupyterHub.cookie_secret_file = {str(self.state / 'cookie_secret')!r}
""")
        env = dict(self.env, PATH=f"{self.bin}{os.pathsep}/usr/local/bin:/usr/bin:/bin", LANG="C.UTF-8")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([str(self.bin / "jupyterhub"), "-f", str(overlay)], cwd=self.state,
                                         env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        wait_until(lambda: requests.get(f"{self.url}/hub/api/", timeout=5).ok, timeout, "JupyterHub",
                   alive=lambda: self.proc.poll() is None, retry_on=(Exception,))

    def stop(self) -> None:
        # SIGTERM to the hub alone: it stops the servers, services and proxy it started.  It
        # stops the users' servers together, then each managed service, and each stop may take
        # LocalProcessSpawner's interrupt, term and kill waits (10 + 5 + 5 s): 40 s and more
        # on a loaded machine.  Killed before it is done, it would leave servers running.
        stop_process_tree(self.proc, timeout=120, group=False, descendants=False)
        pid_file = self.state / "proxy.pid"
        with contextlib.suppress(OSError, ValueError, ProcessLookupError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)

    def log_tail(self, lines: int = 60) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


class HubUser:
    """One person using the hub: logs in with the form, then uses an API token."""

    def __init__(self, hub: Hub, name: str):
        self.hub, self.name = hub, name
        self.api = requests.Session()

    def login(self) -> None:
        browser = requests.Session()
        browser.get(f"{self.hub.url}/hub/login", timeout=HTTP_TIMEOUT).raise_for_status()
        xsrf = browser.cookies.get("_xsrf")
        r = browser.post(f"{self.hub.url}/hub/login", timeout=HTTP_TIMEOUT, allow_redirects=False,
                         data={"username": self.name, "password": "any", "_xsrf": xsrf})
        assert r.status_code == 302, f"{self.name} could not log in: {r.status_code} {r.text[:300]}"
        r = browser.post(f"{self.hub.url}/hub/api/users/{self.name}/tokens", timeout=HTTP_TIMEOUT,
                         headers={"X-XSRFToken": browser.cookies.get("_xsrf") or xsrf},
                         json={"note": "tests/test_hub.py", "expires_in": 3600})
        assert r.status_code == 201, f"{self.name} could not get a token: {r.status_code} {r.text[:300]}"
        self.api.headers["Authorization"] = f"token {r.json()['token']}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.api.request(method, f"{self.hub.url}{path}", timeout=kwargs.pop("timeout", HTTP_TIMEOUT),
                                **kwargs)

    def json(self, method: str, path: str, **kwargs):
        r = self.request(method, path, **kwargs)
        assert r.ok, f"{self.name}: {method} {path} -> {r.status_code} {r.text[:500]}"
        return r.json()

    # own server
    def start_server(self) -> None:
        r = self.request("POST", f"/hub/api/users/{self.name}/server")
        assert r.status_code in (201, 202, 400), f"{self.name}: cannot start server: {r.status_code} {r.text}"

    def server_ready(self) -> bool:
        servers = self.json("GET", f"/hub/api/users/{self.name}").get("servers", {})
        return bool(servers.get("", {}).get("ready"))

    def nbgrader(self, action: str, assignment: str, course: str = "pyconc"):
        """POST to the nbgrader Assignment List extension of the user's server."""
        reply = self.json("POST", f"/user/{self.name}/assignments/{action}",
                          data={"course_id": course, "assignment_id": assignment}, timeout=120)
        assert reply.get("success"), f"{self.name}: {action} {assignment} failed:\n{reply.get('value')}"
        return reply["value"]

    def assignments(self, course: str = "pyconc") -> list[dict]:
        reply = self.json("GET", f"/user/{self.name}/assignments", params={"course_id": course})
        assert reply.get("success"), f"{self.name}: assignment list failed:\n{reply.get('value')}"
        return reply["value"]
