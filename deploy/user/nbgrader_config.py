"""nbgrader settings for every user's own server on the hub (students and instructors).

deploy/jupyterhub_config.py points JUPYTER_CONFIG_PATH here.  The course's
nbgrader_config.py gives the course id, the exchange (COURSE_EXCHANGE) and the
timeouts; on top of it, as nbgrader's docs ask for JupyterHub:
"""
import os

from nbgrader.auth import JupyterHubAuthPlugin

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)
load_subconfig("../../nbgrader_config.py")  # noqa: F821  (it puts the course's folder on sys.path)

from tools.settings import WORKSPACE_VAR  # noqa: E402

# Fetched assignments and feedback land in the user's home (COURSE_WORKSPACE
# moves them), under a folder named after the course: ~/pyconc/ps1_process_pool
c.Exchange.assignment_dir = os.path.expanduser(os.environ.get(WORKSPACE_VAR, "~"))
c.Exchange.path_includes_course = True

# The hub says who is enrolled: members of the group nbgrader-pyconc (students)
# and formgrade-pyconc (instructors) see the course, nobody else does.
c.Authenticator.plugin_class = JupyterHubAuthPlugin
