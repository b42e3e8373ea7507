"""nbgrader configuration for *Python concurrency, hands-on*.

Every path is anchored at this file, so the same settings hold whether nbgrader
runs from the command line, from JupyterLab's Assignment List or Formgrader, or
from the test suite.  The defaults need no root and no /srv: a repo-local
exchange and a SQLite gradebook.  Two environment variables move them for a
shared, multi-user server (see README, "Teaching a class"):

    COURSE_EXCHANGE       folder used as nbgrader's exchange  (default: ./exchange)
    COURSE_GRADEBOOK_URL  SQLAlchemy URL of the gradebook     (default: sqlite:///./gradebook.db)
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # for the course's grader package (sandboxed execution)
    sys.path.insert(0, HERE)

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

COURSE_ID = "pyconc"

c.CourseDirectory.course_id = COURSE_ID
c.CourseDirectory.root = HERE
c.CourseDirectory.db_url = os.environ.get(
    "COURSE_GRADEBOOK_URL", "sqlite:///" + os.path.join(HERE, "gradebook.db")
)

# Files a solution cell writes while the instructor validates source/ (the
# `%%writefile` modules), and the caches that importing them leaves behind.
# They must never travel to students, so generate_assignment skips them.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "pool.py",        # ps1_process_pool: written by the student's %%writefile cell
    "webserver.py",   # ps4_web_server: written by the student's %%writefile cell
]

# The exchange: where released assignments wait to be fetched and where
# submissions wait to be collected.
c.Exchange.root = os.environ.get("COURSE_EXCHANGE", os.path.join(HERE, "exchange"))
# Collecting never follows a link a student put in their submission (grader/exchange.py).
c.ExchangeFactory.collect = "grader.exchange.SafeCollect"
# Students' fetched copies land in workspace/ (git-ignored), not in the repo root.
c.Exchange.assignment_dir = os.environ.get(
    "COURSE_WORKSPACE", os.path.join(HERE, "workspace")
)

# Grading: every cell gets a bounded wall time; a timed-out cell is interrupted
# and the rest of the notebook is still graded.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 60

# Autograding runs student code in the course's sandbox (grader/, README:
# "Grading that cannot be hung or fooled").  Each limit can be changed here or
# per run, e.g. `nbgrader autograde ps1_process_pool --SandboxedExecute.memory_mb=8192`.
# nbgrader's own autograde pipeline, with SandboxedExecute in the place of Execute.
from grader.upstream import autograde_preprocessors  # noqa: E402

c.Autograde.autograde_preprocessors = autograde_preprocessors()
c.SandboxedExecute.source_dir = os.path.join(HERE, "source")
c.SandboxedExecute.notebook_timeout = 900   # s, whole notebook
c.SandboxedExecute.memory_mb = 4096         # per process (address space)
c.SandboxedExecute.processes = 256          # processes + threads of the sandbox user
c.SandboxedExecute.file_mb = 64             # largest file written
c.SandboxedExecute.network = False          # only a private loopback

# Keep feedback and autograded notebooks readable when a submission floods
# its output.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 100

# --- What students and instructors read -------------------------------------
from tools import feedback, quiet  # noqa: E402

# A student may submit again: collecting takes each student's latest submission
# (before the deadline, when the assignment has one), from the command line as
# from the Formgrader's Collect.
c.ExchangeCollect.update = True
c.ExchangeCollect.before_duedate = True

# Feedback: a summary first (each part and test cell by name, each failure's
# message), and no hidden-test code.  To show the hidden tests' code as well,
# set this to True (or, for one run: make feedback A=... ARGS=--CourseFeedback.show_hidden_tests=True).
c.CourseFeedback.show_hidden_tests = False
c.GenerateFeedback.preprocessors = feedback.feedback_preprocessors()
c.GenerateFeedback.HTMLExporter.template_name = feedback.TEMPLATE
c.GenerateFeedback.HTMLExporter.extra_template_basedirs = feedback.feedback_template_dirs()
c.GenerateFeedback.HTMLExporter.extra_template_paths = feedback.feedback_template_paths()

# Validate (JupyterLab's button, the Assignment List, nbgrader validate): the
# summary first, then each failing test's error, not every failing cell's source.
feedback.install_validate_summary()
c.Validator.width = feedback.WIDTH + 8
c.Validator.failed_warning = (
    "VALIDATION FAILED: some tests fail (summary first, then their errors). If you submit "
    "your assignment as it is, you will not receive full credit.\n")

# A quiet log: no checksum warning for hidden tests put back at autograde, no
# warning about .ipynb_checkpoints at submit, no DEBUG flood in the Formgrader.
c.Autograde.sanitize_preprocessors = quiet.sanitize_preprocessors()
c.ExchangeFactory.submit = quiet.CourseSubmit
quiet.quiet_api_log()
