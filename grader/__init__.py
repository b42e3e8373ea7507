"""Hardened, parallel autograding for the course, with nbgrader as the engine.

The process chain of one graded notebook, and where privileges change::

  python -m grader autograde A            (root on a class server; or any user)
   │  grader.parallel: N worker processes, one student after another each
   ▼
  worker: nbgrader's autograde ──> grader.execute.SandboxedExecute
   │  copies the submission into a scratch folder the sandbox owns, claims a
   │  sandbox uid (root only), writes the launcher's settings into a 0700
   │  folder of its own, creates the guard's channel (a pipe) and its key;
   │  jupyter_client starts the "kernel":
   ▼
  grader/launcher.py  ── same user as the worker ─────────────────────────────
   │  reads and deletes its settings; log to a file only the worker reads;
   │  cgroups (CPU, memory, processes); rlimits; new network namespace
   │  (loopback only) and PID namespace (without root, inside a user namespace)
   ▼
  init (PID 1 of that namespace) ── still the same user ─────────────────────
   │  dies with the launcher; private mount namespace: a /proc of its own, the
   │  course, the exchange, /home and /root hidden (grader.view)
   ▼  exec
  grader/sandbox_kernel.py ── as root: drops to the sandbox uid at once ────
      (a changed uid makes the process non-dumpable: no process of that uid can
      read or trace its memory); installs grader.guard (the audit hook and its
      worker thread, in a namespace no object refers to); runs IPython.
      Student code runs here, and in the processes it starts, which cannot
      leave the PID namespace: when the kernel ends, they all end.

The rule for root's writes: **root never writes where student code could have
planted something.**  The sandbox uid owns only the scratch folder (a copy of
the submission: regular files, no links) and its home and temporary folder,
all inside a folder of the grader's; nbgrader writes the autograded notebook,
and the grader its tampering report (without following links), into the real
submission folder, which the sandbox never owned or saw.  Folders root keeps in
shared places (the uid locks in /run) are checked to be root's and closed to
others before use.  What the sandbox uid owned in /tmp and /dev/shm is removed
after grading without following links.

Modules:

* ``grader.execute``: SandboxedExecute, nbgrader's Execute preprocessor run in
  the sandbox (nbgrader_config.py puts it in the autograde pipeline, so the
  CLI, the Formgrader and ``python -m grader`` all use it); it gives a test
  cell its points only when the guard vouched for it.
* ``grader.launcher`` and ``grader.sandbox_kernel``: the chain above.
* ``grader.guard``: the audit hook and the worker that vouch for each test
  cell (its docstring explains what keeps them out of the submission's reach).
* ``grader.channel``: the guard's authenticated records, as the grader reads them.
* ``grader.view``: the private view of the file system.
* ``grader.cgroups``: CPU, memory and process caps for a whole submission.
* ``grader.parallel``: ``python -m grader autograde A``.

README ("Grading that cannot be hung or fooled") documents each limit, and
what is and is not prevented with and without root.
"""
