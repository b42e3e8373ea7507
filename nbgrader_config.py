"""nbgrader configuration for *Python concurrency, hands-on*.

Every path is anchored at this file, so the same settings hold whether nbgrader
runs from the command line, from JupyterLab's Assignment List or Formgrader, or
from the test suite.  The defaults need no root and no /srv: a repo-local
exchange and a SQLite gradebook.  Three environment variables move them for a
shared, multi-user server (see README, "Teaching a class"; tools/settings.py):

    COURSE_EXCHANGE       folder used as nbgrader's exchange  (default: ./exchange)
    COURSE_GRADEBOOK_URL  SQLAlchemy URL of the gradebook     (default: sqlite:///./gradebook.db)
    COURSE_WORKSPACE      where fetched assignments land      (default: ./workspace)

A throwaway copy of the course for the tests loads this file and moves its
paths (tests/harness.py: course_config, write_config).
"""
import os
import sys
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # for the course's grader package (sandboxed execution) and tools/
    sys.path.insert(0, HERE)

from tools import settings  # noqa: E402
from tools.assignments import written_files  # noqa: E402

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = settings.COURSE_ID
c.CourseDirectory.root = HERE
c.CourseDirectory.db_url = settings.gradebook_url(Path(HERE))

# Never shipped to students: caches, feedback, and the files that solution cells
# write while the instructor validates source/ (each `%%writefile NAME` cell of
# a source notebook, found by tools.assignments.written_files).  Nor are those
# files a shipped helper that the sandbox protects (SandboxedExecute.ignore).
IGNORED = [".ipynb_checkpoints", "*.pyc", "__pycache__", ".hypothesis", "feedback", *written_files()]
c.CourseDirectory.ignore = IGNORED
c.SandboxedExecute.ignore = IGNORED

# The exchange: where released assignments wait to be fetched and where
# submissions wait to be collected.
c.Exchange.root = str(settings.exchange_root(Path(HERE)))
# Collecting never follows a link a student put in their submission (grader/exchange.py).
c.ExchangeFactory.collect = "grader.exchange.SafeCollect"
# Students' fetched copies land in workspace/ (git-ignored), not in the repo root.
c.Exchange.assignment_dir = str(settings.workspace(Path(HERE)))

# Grading: every cell gets a bounded wall time; a timed-out cell is interrupted
# and the rest of the notebook is still graded.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 60

# Autograding runs student code in the course's sandbox (grader/, README:
# "Grading that cannot be hung or fooled"), with nbgrader's own autograde
# pipeline, SandboxedExecute in the place of Execute.  Its limits (time per
# notebook, memory, processes, CPU, file size, network, uids) are the defaults
# of SandboxedExecute's traits in grader/execute.py, listed in README's table;
# change one here (c.SandboxedExecute.memory_mb = 8192) or per run
# (`nbgrader autograde ps1_process_pool --SandboxedExecute.memory_mb=8192`).
from grader.upstream import autograde_preprocessors  # noqa: E402

c.Autograde.autograde_preprocessors = autograde_preprocessors()
c.SandboxedExecute.source_dir = os.path.join(HERE, "source")

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
