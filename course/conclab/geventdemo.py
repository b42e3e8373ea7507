"""When do greenlets switch?  A gevent demo meant for a *separate process*.

    python -m conclab.geventdemo sleep            # stdlib time.sleep, not patched
    python -m conclab.geventdemo sleep --patch    # after gevent.monkey.patch_all()
    python -m conclab.geventdemo cpu --patch      # a CPU loop next to a ticking greenlet

Monkey-patching replaces blocking functions of the standard library
(``time.sleep``, ``socket``, ``select``, ``threading``...) with versions that
switch to gevent's hub instead of blocking the thread.  It must run first, in
a fresh process, before anything else imports those modules - so never in a
notebook kernel (patching a running ipykernel breaks it).

Prints one JSON object: ``patched``, ``order`` (the events in the order they
happened), ``elapsed`` (seconds) and, for ``cpu``, ``max_tick_gap``.
"""
import sys

PATCH = "--patch" in sys.argv
if PATCH:  # must come before the imports below
    from gevent import monkey

    monkey.patch_all()

import json  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402

NAP = 0.2


def sleepers(n: int = 3) -> list[str]:
    """n greenlets that each call the *standard library's* time.sleep."""
    order = []

    def job(i):
        order.append(f"start {i}")
        time.sleep(NAP)  # blocking unless patched
        order.append(f"end {i}")

    gevent.joinall([gevent.spawn(job, i) for i in range(n)], timeout=10)
    return order


def cpu_and_ticks(ticks: int = 3, tick: float = 0.05) -> tuple[list[str], float]:
    """A ticking greenlet next to a greenlet that computes for NAP seconds."""
    order, stamps = [], []

    def ticker():
        for k in range(ticks):
            order.append(f"tick {k}")
            stamps.append(time.perf_counter())
            time.sleep(tick)

    def crunch():
        order.append("cpu start")
        end = time.perf_counter() + NAP
        while time.perf_counter() < end:  # pure computation: never gives up control
            pass
        order.append("cpu end")

    gevent.joinall([gevent.spawn(ticker), gevent.spawn(crunch)], timeout=10)
    gap = max((b - a for a, b in zip(stamps, stamps[1:])), default=0.0)
    return order, gap


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    scenario = next((a for a in argv if not a.startswith("-")), "sleep")
    t = time.perf_counter()
    out = {"patched": PATCH, "scenario": scenario}
    if scenario == "sleep":
        out["order"] = sleepers()
    elif scenario == "cpu":
        out["order"], out["max_tick_gap"] = cpu_and_ticks()
    else:
        print(f"unknown scenario {scenario!r}: use sleep or cpu", file=sys.stderr)
        return 2
    out["elapsed"] = time.perf_counter() - t
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
