"""Tests for conclab.geventdemo, always run in a subprocess (it may monkey-patch)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

COURSE = Path(__file__).resolve().parent.parent / "course"


def demo(*args):
    proc = subprocess.run([sys.executable, "-m", "conclab.geventdemo", *args], cwd=COURSE,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr  # no warnings
    return json.loads(proc.stdout)


pytestmark = pytest.mark.timeout(120)


def test_unpatched_time_sleep_runs_greenlets_one_after_another():
    out = demo("sleep")
    assert out["patched"] is False
    assert out["order"] == ["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]


def test_patched_time_sleep_overlaps():
    out = demo("sleep", "--patch")
    assert out["patched"] is True
    assert out["order"] == ["start 0", "start 1", "start 2", "end 0", "end 1", "end 2"]


def test_cpu_loop_never_switches_even_when_patched():
    out = demo("cpu", "--patch")
    assert out["order"] == ["tick 0", "cpu start", "cpu end", "tick 1", "tick 2"]
    # the ticker could not run while the CPU loop (0.2 s of wall time) held control
    assert out["max_tick_gap"] >= 0.19


def test_unknown_scenario_is_an_error():
    proc = subprocess.run([sys.executable, "-m", "conclab.geventdemo", "nope"], cwd=COURSE,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
