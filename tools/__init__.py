"""Course maintenance commands, run as ``python -m tools.<name>`` (see Makefile)."""
