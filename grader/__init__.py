"""Hardened, parallel autograding for the course, with nbgrader as the engine.

* ``grader.execute.SandboxedExecute`` replaces nbgrader's Execute preprocessor
  (configured in nbgrader_config.py), so every autograde path (the CLI, the
  Formgrader, ``python -m grader``) runs student code in the sandbox.
* ``grader.kernel`` is the sandboxed kernel: it applies the limits, drops
  privileges, cuts the network, installs an audit hook, then runs a guarded
  IPython kernel.
* ``grader.guard`` is that guard: before every cell it restores what student
  code may not change and reports what it found.
* ``grader.view`` hides the course from the sandbox uid in a private mount
  namespace, and gives it the way to Python and its own folder.
* ``grader.parallel`` (``python -m grader autograde A``) grades every
  submission of an assignment in parallel worker processes, into the one
  gradebook.

README ("Grading that cannot be hung or fooled") documents each limit.
"""
