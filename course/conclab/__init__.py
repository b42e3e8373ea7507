"""conclab: the small helper package behind the course notebooks.

Code that a notebook would otherwise repeat, or that must be importable by a
child process (so that it works under the spawn and forkserver start methods),
lives here, one module per topic, each with unit tests in ``tests/``.
Notebooks in ``course/`` import it directly (``import conclab``) because
Jupyter starts their kernels in ``course/``.
"""
