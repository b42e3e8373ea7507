"""Fail early, with a clear message, on a Python older than the course needs."""
import sys

if sys.version_info < (3, 11):
    sys.exit(
        f"This course needs Python 3.11 or newer; {sys.executable} is "
        f"{sys.version.split()[0]}. Run make with PYTHON=/path/to/python3.11 (or newer)."
    )
