# Students' fetched assignments live in this folder.  JupyterLab's Assignment
# List and Validate button read nbgrader's configuration from here, so point
# them at the course's one configuration file.
load_subconfig("../nbgrader_config.py")  # noqa: F821
