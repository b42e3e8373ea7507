"""JupyterHub for a class taking *Python concurrency, hands-on* (course id ``pyconc``).

Run as root from the course's software checkout (see deploy/README.md):

    jupyterhub -f /opt/pyconc/deploy/jupyterhub_config.py

Set-up, as nbgrader's docs recommend for several graders ("Using nbgrader with
JupyterHub"):

* every user logs in through the authenticator (PAM here: the machine's
  accounts; swap in your site's) and gets a server of their own, spawned as
  their own OS account, in their own home folder;
* the roster file names the students (hub group ``nbgrader-pyconc``) and the
  instructors (group ``formgrade-pyconc``);
* the formgrader is a hub service named after the course, ``pyconc``, run as
  the grader account from the course folder; only ``formgrade-pyconc`` may
  open it (https://HUB/services/pyconc/formgrader);
* the exchange is one shared folder with the modes nbgrader needs, and the
  course folder is closed to students (both set at every start by
  deploy/permissions.py);
* the gradebook is PostgreSQL: its URL comes from COURSE_GRADEBOOK_URL and
  reaches only the formgrader service, never a student's server.

Environment (put it in a root-only file, e.g. /etc/jupyterhub/pyconc.env):

    COURSE_GRADEBOOK_URL     postgresql://USER:PASSWORD@HOST:PORT/DB   (required)
    COURSE_EXCHANGE          shared exchange root        (/srv/nbgrader/exchange)
    PYCONC_ROSTER            roster file                 (/etc/jupyterhub/pyconc-roster.txt)
    PYCONC_GRADER_USER       OS account of the formgrader (grader-pyconc)
    PYCONC_COURSE_ROOT       its course folder, a clone of the course repository
                                                         (/home/grader-pyconc/pyconc)
    PYCONC_FORMGRADER_PORT   loopback port of the service (9999)

Roster: one user per line, ``student NAME`` or ``instructor NAME``; ``#``
starts a comment.  Each name must be an OS account (LocalProcessSpawner).
"""
import os
import sys

c = get_config()  # noqa: F821  (provided by traitlets when JupyterHub loads this file)

HERE = os.path.dirname(os.path.abspath(__file__))
SOFTWARE = os.path.dirname(HERE)             # this checkout: Python environment, lectures
BIN = os.path.dirname(sys.executable)        # the course's virtual environment runs the hub
if SOFTWARE not in sys.path:
    sys.path.insert(0, SOFTWARE)
from tools.settings import COURSE_ID, EXCHANGE_VAR, GRADEBOOK_VAR  # noqa: E402

GRADEBOOK_URL = os.environ.get(GRADEBOOK_VAR, "")
EXCHANGE = os.environ.get(EXCHANGE_VAR, "/srv/nbgrader/exchange")
ROSTER = os.environ.get("PYCONC_ROSTER", "/etc/jupyterhub/pyconc-roster.txt")
GRADER = os.environ.get("PYCONC_GRADER_USER", f"grader-{COURSE_ID}")
COURSE_ROOT = os.environ.get("PYCONC_COURSE_ROOT", f"/home/{GRADER}/{COURSE_ID}")
FORMGRADER_PORT = int(os.environ.get("PYCONC_FORMGRADER_PORT", "9999"))

if not GRADEBOOK_URL.startswith("postgresql"):
    raise SystemExit(f"{GRADEBOOK_VAR} must name the PostgreSQL gradebook "
                     "(postgresql://USER:PASSWORD@HOST:PORT/DB): several graders share it, "
                     "and SQLite is not safe for that")


def read_roster(path: str) -> dict[str, list[str]]:
    roster = {"student": [], "instructor": []}
    with open(path) as fh:
        for number, line in enumerate(fh, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            if len(words) != 2 or words[0] not in roster:
                raise SystemExit(f"{path}:{number}: expected 'student NAME' or 'instructor NAME'")
            roster[words[0]].append(words[1])
    return roster


ROSTER_USERS = read_roster(ROSTER)
STUDENTS, INSTRUCTORS = ROSTER_USERS["student"], ROSTER_USERS["instructor"]
PATH = f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/local/bin:/usr/bin:/bin')}"

# --- who may log in --------------------------------------------------------
# PAM checks the machine's own accounts.  A real deployment swaps in its own
# (e.g. an OAuthenticator or LTI), keeping allowed_users or its equivalent.
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(STUDENTS) | set(INSTRUCTORS)

# --- one server per user, as that user, in their home ----------------------
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [os.path.join(BIN, "jupyterhub-singleuser")]
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120      # s; a class logging in at once loads the machine
c.Spawner.http_timeout = 60
c.Spawner.environment = {
    "PATH": PATH,
    EXCHANGE_VAR: EXCHANGE,
    # deploy/user: nbgrader settings for users (course id, exchange, fetched
    # assignments in ~/pyconc/), and the instructor-only extensions switched off
    "JUPYTER_CONFIG_PATH": os.path.join(HERE, "user"),
}

# --- nbgrader's groups, and what they may do ------------------------------
c.JupyterHub.load_groups = {
    f"nbgrader-{COURSE_ID}": {"users": STUDENTS},      # enrolled: sees the course's assignments
    f"formgrade-{COURSE_ID}": {"users": INSTRUCTORS},  # grades: may open the formgrader
}
c.JupyterHub.load_roles = [
    {
        "name": f"formgrade-{COURSE_ID}",
        "description": f"Open the {COURSE_ID} formgrader service",
        "groups": [f"formgrade-{COURSE_ID}"],
        "scopes": [f"access:services!service={COURSE_ID}"],
    },
    {
        # A user's server may read its own user's groups: nbgrader's
        # JupyterHubAuthPlugin (deploy/user/nbgrader_config.py) asks the hub
        # which courses the user is in.
        "name": "server",
        "description": "Post activity, reach its own server, read its user's name and groups",
        "scopes": ["users:activity!user", "access:servers!server",
                   "read:users:name!user", "read:users:groups!user"],
    },
]

# --- the formgrader: a service named after the course ---------------------
c.JupyterHub.services = [
    {
        "name": COURSE_ID,
        "url": f"http://127.0.0.1:{FORMGRADER_PORT}",
        "command": [os.path.join(BIN, "jupyterhub-singleuser"),
                    f"--ServerApp.root_dir={COURSE_ROOT}", "--ServerApp.default_url=/formgrader"],
        "user": GRADER,
        "cwd": COURSE_ROOT,   # nbgrader reads the course's nbgrader_config.py from here
        "environment": {
            "PATH": PATH,
            EXCHANGE_VAR: EXCHANGE,
            GRADEBOOK_VAR: GRADEBOOK_URL,
        },
        "oauth_no_confirm": True,
        "timeout": 120,       # s to come up (JupyterHub 6+); a busy machine starts it slowly
    },
]

# --- the shared exchange and the course folder, with the modes they need ---
if os.geteuid() == 0:
    import importlib.util

    spec = importlib.util.spec_from_file_location("pyconc_permissions", os.path.join(HERE, "permissions.py"))
    permissions = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(permissions)
    for change in (permissions.prepare_exchange(EXCHANGE, COURSE_ID, GRADER)
                   + permissions.lock_course_folder(COURSE_ROOT, GRADER)):
        print(f"[pyconc] {change}", file=sys.stderr)
else:
    print("[pyconc] not root: exchange and course folder permissions left as they are", file=sys.stderr)
