"""Thread synchronisation: an interleaving stepper, a bounded buffer, a read-write lock.

Used by ``02.03-Thread-Synchronisation.ipynb``.

* :class:`Machine`, :func:`run_schedule`, :func:`trace_table`,
  :func:`all_schedules`, :func:`stepper`: ``counter = counter + 1`` broken into
  LOAD / ADD / STORE per thread, run under a schedule *you* choose (in the
  spirit of the OSTEP homework simulators), so a lost update is repeatable.
* :class:`ConcurrencyMeter`: counts how many threads are inside a block at once;
  :func:`start_threads` / :func:`join_all`: daemon threads with one deadline;
  :func:`wakeup_demo`: why ``Condition.wait`` belongs in a loop.
* :class:`BoundedBuffer`: producer-consumer with one lock and two condition
  variables (what :class:`queue.Queue` does inside).
* :class:`Lightswitch` and :class:`RWLock`: a read-write lock from semaphores
  (Downey, *The Little Book of Semaphores*, sections 4.2.2 and 4.2.5); the
  standard library has none.

Every blocking method takes a ``timeout`` (``None`` means wait forever).
"""
from __future__ import annotations

import collections
import contextlib
import threading
import time

# --------------------------------------------------------------------------- interleavings

PROGRAM = (
    ("LOAD", "reg = counter"),
    ("ADD", "reg = reg + 1"),
    ("STORE", "counter = reg"),
)


class Machine:
    """Threads that each run ``counter = counter + 1`` ``loops`` times, one instruction per step.

    Each thread has a private register and a program counter; ``counter`` is
    shared memory.  :meth:`step` executes the next instruction of one thread.
    Threads are named ``A``, ``B``, ``C`` ...
    """

    def __init__(self, threads: int = 2, loops: int = 1, initial: int = 0):
        if not 1 <= threads <= 26:
            raise ValueError("1 to 26 threads")
        self.names = [chr(65 + i) for i in range(threads)]
        self.loops = loops
        self.counter = initial
        self.initial = initial
        self.reg = {n: None for n in self.names}
        self.pc = {n: 0 for n in self.names}  # instructions executed so far

    @property
    def length(self) -> int:
        """Instructions per thread."""
        return len(PROGRAM) * self.loops

    def done(self, name: str | None = None) -> bool:
        names = [name] if name else self.names
        return all(self.pc[n] == self.length for n in names)

    @property
    def expected(self) -> int:
        """What ``counter`` would be if no update were lost."""
        return self.initial + len(self.names) * self.loops

    def step(self, name: str) -> dict:
        """Run the next instruction of thread ``name``; return a row for the trace."""
        if name not in self.pc:
            raise ValueError(f"no thread {name!r}; threads are {''.join(self.names)}")
        if self.done(name):
            raise ValueError(f"thread {name} has already finished")
        op, text = PROGRAM[self.pc[name] % len(PROGRAM)]
        if op == "LOAD":
            self.reg[name] = self.counter
        elif op == "ADD":
            self.reg[name] += 1
        else:
            self.counter = self.reg[name]
        self.pc[name] += 1
        return {"thread": name, "op": op, "text": text, "counter": self.counter,
                **{f"reg {n}": self.reg[n] for n in self.names}}


def _names(schedule) -> list[str]:
    return [chr(65 + s) if isinstance(s, int) else s for s in schedule if str(s).strip()]


def run_schedule(schedule, threads: int = 2, loops: int = 1, initial: int = 0):
    """Run a schedule like ``"AABBBA"`` (or ``[0, 0, 1, ...]``); return ``(rows, machine)``.

    If the schedule ends before every thread has finished, the machine is
    left part-way (useful for stepping).  Raises ``ValueError`` if the
    schedule asks a finished thread to run.
    """
    m = Machine(threads, loops, initial)
    rows = [m.step(name) for name in _names(schedule)]
    return rows, m


def trace_table(rows, machine: Machine | None = None) -> str:
    """Format the rows of :func:`run_schedule` as a fixed-width text table."""
    names = sorted(k[4:] for k in rows[0] if k.startswith("reg ")) if rows else []
    head = f"{'step':>4}  {'thread':<6}  {'instruction':<22}" + "".join(f"{'reg ' + n:>7}" for n in names) + f"{'counter':>9}"
    lines = [head, "-" * len(head)]
    for i, r in enumerate(rows, 1):
        regs = "".join(f"{'-' if r['reg ' + n] is None else r['reg ' + n]:>7}" for n in names)
        lines.append(f"{i:>4}  {r['thread']:<6}  {r['op'] + ': ' + r['text']:<22}{regs}{r['counter']:>9}")
    if machine is not None and machine.done():
        lost = machine.expected - machine.counter
        lines.append(f"final counter = {machine.counter}, expected {machine.expected}: "
                     + (f"{lost} update(s) LOST" if lost else "no update lost"))
    return "\n".join(lines)


def all_schedules(threads: int = 2, loops: int = 1) -> list[str]:
    """Every interleaving of the threads' instructions, as sorted schedule strings.

    Each thread's own instructions stay in program order; only how they
    interleave varies.  There are (n*k)! / (k!)^n of them for n threads of k
    instructions: 20 for two threads of three, so keep the inputs small.
    """
    return sorted(_interleavings(threads, loops))


def count_schedules(threads: int = 2, loops: int = 1) -> collections.Counter:
    """``Counter`` of final counter values over all interleavings (multinomial, exact)."""
    return collections.Counter(run_schedule(s, threads, loops)[1].counter
                               for s in _interleavings(threads, loops))


def _interleavings(threads: int, loops: int):
    m = Machine(threads, loops)
    left = {n: m.length for n in m.names}

    def rec(prefix):
        if not any(left.values()):
            yield "".join(prefix)
            return
        for n in m.names:
            if left[n]:
                left[n] -= 1
                prefix.append(n)
                yield from rec(prefix)
                prefix.pop()
                left[n] += 1

    yield from rec([])


PRESETS = {
    "serial: A then B": "AAABBB",
    "lost update: both LOAD first": "ABABAB",
    "lost update: B overwrites": "AABBBA",
    "serial: B then A": "BBBAAA",
}


def _html_table(rows, machine: Machine, upto: int) -> str:
    names = machine.names
    cells = ["<tr><th>step</th><th>thread</th><th>instruction</th>"
             + "".join(f"<th>reg {n}</th>" for n in names) + "<th>counter</th></tr>"]
    for i, r in enumerate(rows[:upto], 1):
        style = ' style="background:#ffe9a8"' if i == upto else ""
        regs = "".join(f"<td>{'-' if r['reg ' + n] is None else r['reg ' + n]}</td>" for n in names)
        cells.append(f"<tr{style}><td>{i}</td><td>{r['thread']}</td>"
                     f"<td><code>{r['op']}: {r['text']}</code></td>{regs}<td><b>{r['counter']}</b></td></tr>")
    return "<table>" + "".join(cells) + "</table>"


def stepper(schedule: str = "ABABAB", threads: int = 2, loops: int = 1):
    """An ipywidgets stepper: type or pick a schedule, then step through it.

    Buttons *Step A*, *Step B*, ... append one instruction of that thread;
    the slider moves through the schedule; *Reset* clears it.  Returns the
    widget (display it as the last expression of a cell).
    """
    import ipywidgets as w

    m0 = Machine(threads, loops)
    text = w.Text(value=schedule, description="schedule", continuous_update=False)
    preset = w.Dropdown(options={"(custom)": None, **PRESETS} if threads == 2 and loops == 1 else {"(custom)": None},
                        description="preset")
    slider = w.IntSlider(value=0, min=0, max=0, description="step")
    out = w.HTML()
    buttons = [w.Button(description=f"Step {n}", layout=w.Layout(width="80px")) for n in m0.names]
    reset = w.Button(description="Reset", button_style="warning", layout=w.Layout(width="80px"))

    def render(*_):
        try:
            rows, _m = run_schedule(text.value, threads, loops)
        except ValueError as exc:
            out.value = f"<b style='color:#b00'>{exc}</b>"
            return
        slider.max = len(rows)
        upto = slider.value
        m = Machine(threads, loops)
        for name in _names(text.value)[:upto]:
            m.step(name)
        status = (f"finished: counter = {m.counter}, expected {m.expected}"
                  + (" &mdash; <b style='color:#b00'>update LOST</b>" if m.counter < m.expected else " &mdash; correct")
                  if m.done() else f"running: {upto} of {m.length * len(m.names)} instructions executed")
        out.value = _html_table(rows, m, upto) + f"<p>{status}</p>"

    def on_text(change):
        rows = run_schedule(text.value, threads, loops)[0] if _valid(text.value) else []
        slider.max = len(rows)
        slider.value = len(rows)
        render()

    def _valid(s):
        try:
            run_schedule(s, threads, loops)
            return True
        except ValueError:
            return False

    def on_preset(change):
        if change["new"]:
            text.value = change["new"]

    def on_step(button):
        candidate = text.value + button.description[-1]
        if _valid(candidate):
            text.value = candidate

    def on_reset(_):
        preset.value = None
        text.value = ""

    text.observe(on_text, names="value")
    preset.observe(on_preset, names="value")
    slider.observe(render, names="value")
    for b in buttons:
        b.on_click(on_step)
    reset.on_click(on_reset)
    on_text(None)
    return w.VBox([w.HBox([preset, text]), w.HBox([*buttons, reset]), slider, out])


# --------------------------------------------------------------------------- helpers


def start_threads(targets, name: str = "worker") -> list[threading.Thread]:
    """Start one daemon thread per callable in ``targets``; return the threads."""
    threads = [threading.Thread(target=t, daemon=True, name=f"{name}-{i}") for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    return threads


def join_all(threads, timeout: float = 30.0) -> bool:
    """Join ``threads`` with one overall deadline; return True if every one finished."""
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in threads)


def wakeup_demo(use_while: bool) -> list[str]:
    """Two consumers wait on an empty list; a producer adds ONE item and calls ``notify_all()``.

    With ``use_while=False`` each consumer assumes "woken up" means "an item is
    there" (``if`` + ``wait``), so the second one pops from an empty list.  With
    ``use_while=True`` it re-checks (``wait_for``) and times out politely.
    The producer waits until both consumers are asleep, which makes the
    outcome deterministic.  Returns the consumers' outcomes, sorted.
    """
    items, cond, outcome, asleep = [], threading.Condition(), [], [0]

    def consumer():
        with cond:
            asleep[0] += 1
            if use_while:
                got_one = cond.wait_for(lambda: items, timeout=0.5)  # re-checks after every wake-up
            else:
                cond.wait(timeout=5)  # BUG: assumes "woken" means "item there"
                got_one = True
            try:
                outcome.append(items.pop() if got_one else "nothing for me (timed out)")
            except IndexError as exc:
                outcome.append(f"IndexError: {exc}")

    threads = start_threads([consumer, consumer], name="consumer")
    with cond:
        cond.wait_for(lambda: asleep[0] == 2, timeout=10)  # wait() released the lock: both are asleep
        items.append("the only item")
        cond.notify_all()
    join_all(threads, 20)
    return sorted(outcome)


class ConcurrencyMeter:
    """Context manager that records how many threads are inside it at once (``.max``)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.current = 0
        self.max = 0
        self.entries = 0

    def __enter__(self):
        with self._lock:
            self.current += 1
            self.entries += 1
            self.max = max(self.max, self.current)
        return self

    def __exit__(self, *exc):
        with self._lock:
            self.current -= 1
        return False


def _acquire(lock, deadline: float | None) -> bool:
    """Acquire ``lock`` (Lock, Semaphore, ...) before ``deadline`` (``time.monotonic``), or forever."""
    if deadline is None:
        return lock.acquire()
    return lock.acquire(timeout=max(0.0, deadline - time.monotonic()))


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


# --------------------------------------------------------------------------- bounded buffer


class BoundedBuffer:
    """A FIFO of at most ``capacity`` items for producer and consumer threads.

    One lock, two condition variables on it: producers wait on ``not_full``,
    consumers on ``not_empty``.  ``wait_for`` re-checks the predicate after
    every wake-up, so a stolen or spurious wake-up cannot break the invariant
    ``0 <= len <= capacity``.  ``put``/``get`` raise ``TimeoutError``.
    """

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self._items = collections.deque()
        self._lock = threading.Lock()
        self.not_full = threading.Condition(self._lock)
        self.not_empty = threading.Condition(self._lock)
        self.max_len = 0

    def put(self, item, timeout: float | None = None) -> None:
        with self.not_full:
            if not self.not_full.wait_for(lambda: len(self._items) < self.capacity, timeout):
                raise TimeoutError("buffer stayed full")
            self._items.append(item)
            self.max_len = max(self.max_len, len(self._items))
            self.not_empty.notify()

    def get(self, timeout: float | None = None):
        with self.not_empty:
            if not self.not_empty.wait_for(lambda: self._items, timeout):
                raise TimeoutError("buffer stayed empty")
            item = self._items.popleft()
            self.not_full.notify()
            return item

    def __len__(self):
        with self._lock:
            return len(self._items)


# --------------------------------------------------------------------------- read-write lock


class Lightswitch:
    """Downey's lightswitch: the first thread in locks ``room``, the last one out unlocks it."""

    def __init__(self):
        self.counter = 0
        self.mutex = threading.Lock()

    def lock(self, room, timeout: float | None = None) -> bool:
        deadline = _deadline(timeout)
        if not _acquire(self.mutex, deadline):
            return False
        try:
            self.counter += 1
            if self.counter == 1 and not _acquire(room, deadline):
                self.counter -= 1  # we never got the room: undo, so the count stays right
                return False
            return True
        finally:
            self.mutex.release()

    def unlock(self, room) -> None:
        with self.mutex:
            self.counter -= 1
            if self.counter == 0:
                room.release()


class RWLock:
    """Many readers or one writer.

    ``room_empty`` is a semaphore held by the writer, or by the readers as a
    group (through the :class:`Lightswitch`: the first reader in takes it, the
    last one out gives it back; a *semaphore* because the thread that releases
    it need not be the one that acquired it).  With ``fair=True`` (default) a
    ``turnstile`` lock makes readers that arrive after a waiting writer queue
    behind it, so a stream of readers cannot starve writers (Downey 4.2.5).
    With ``fair=False`` readers take priority (Downey 4.2.2).

    Use ``with rw.reading(timeout=...):`` and ``with rw.writing(timeout=...):``
    (they raise ``TimeoutError``), or the acquire/release methods (they
    return ``False`` on timeout).
    """

    def __init__(self, fair: bool = True):
        self.fair = fair
        self._room_empty = threading.Semaphore(1)
        self._turnstile = threading.Lock()
        self._readers = Lightswitch()

    @property
    def readers(self) -> int:
        """Readers inside now, or queued on the lightswitch (for demonstrations)."""
        return self._readers.counter

    def writer_waiting_or_writing(self) -> bool:
        """True while a writer holds the turnstile (fair mode only; for demonstrations)."""
        return self._turnstile.locked()

    def acquire_read(self, timeout: float | None = None) -> bool:
        deadline = _deadline(timeout)
        if self.fair:
            if not _acquire(self._turnstile, deadline):
                return False
            self._turnstile.release()
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        return self._readers.lock(self._room_empty, remaining)

    def release_read(self) -> None:
        self._readers.unlock(self._room_empty)

    def acquire_write(self, timeout: float | None = None) -> bool:
        deadline = _deadline(timeout)
        if self.fair and not _acquire(self._turnstile, deadline):
            return False
        if not _acquire(self._room_empty, deadline):
            if self.fair:
                self._turnstile.release()
            return False
        return True

    def release_write(self) -> None:
        if self.fair:
            self._turnstile.release()
        self._room_empty.release()

    @contextlib.contextmanager
    def reading(self, timeout: float | None = None):
        if not self.acquire_read(timeout):
            raise TimeoutError("could not get the read lock")
        try:
            yield self
        finally:
            self.release_read()

    @contextlib.contextmanager
    def writing(self, timeout: float | None = None):
        if not self.acquire_write(timeout):
            raise TimeoutError("could not get the write lock")
        try:
            yield self
        finally:
            self.release_write()


def late_reader_demo(fair: bool, timeout: float = 10.0) -> dict:
    """A reader is inside; a writer arrives and waits; then a NEW reader arrives.

    Returns ``{"late_reader_admitted": bool, "writer_got_in": bool}``: whether the
    late reader got in while the writer was still waiting (it tries for 0.2 s),
    and whether the writer got in once the first reader left.  With
    ``fair=True`` the late reader queues behind the writer (no writer
    starvation); with ``fair=False`` it overtakes the writer.
    """
    rw = RWLock(fair=fair)
    if not rw.acquire_read(timeout=timeout):
        raise TimeoutError("first reader")
    writer_in = threading.Event()

    def writer():
        if rw.acquire_write(timeout=timeout):
            writer_in.set()
            rw.release_write()

    t = threading.Thread(target=writer, daemon=True, name="writer")
    t.start()
    deadline = time.monotonic() + timeout
    if fair:  # the writer holds the turnstile while it waits for the room
        while not rw.writer_waiting_or_writing() and time.monotonic() < deadline:
            time.sleep(0.005)
    else:  # nothing to observe: give the writer time to block on the room
        time.sleep(0.1)
    admitted = rw.acquire_read(timeout=0.2)
    if admitted:
        rw.release_read()
    overtook = admitted and not writer_in.is_set()
    rw.release_read()  # the first reader leaves: now the writer can enter
    t.join(timeout)
    return {"late_reader_admitted": overtook, "writer_got_in": writer_in.is_set()}
