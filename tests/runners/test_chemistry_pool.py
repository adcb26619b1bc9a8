"""The chemistry pool with real worker processes: limits kill for real, and the pool recovers."""

from __future__ import annotations

import math
import os
import pickle
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.chem.depict import depict
from dockyard.errors import BusyError, DockingError, InputError, TooComplexError
from dockyard.processes import working_on
from dockyard.runners.chemistry import ChemistryPool, Kind, resident_mb

QUICK = Kind("quick", 3.0, "This input", "test", "smiles", "DOCKYARD_CHEM_DEPICT_SECONDS")
SLOW = Kind("slow", 60.0, "This input", "test", "receptor", "DOCKYARD_CHEM_PREPARE_SECONDS")
MEMORY_MB = 800.0


def hog(megabytes: int) -> int:
    """Take memory a few MB at a time (every page touched), as a runaway preparation does."""
    kept = []
    for _ in range(megabytes // 20):
        kept.append(bytearray(os.urandom(1024)) * (20 * 1024))
        time.sleep(0.01)
    return len(kept)


def prepare_slowly(field: str) -> None:
    """Say which input is being worked on, then take too long over it."""
    working_on("receptor")
    working_on(field)
    time.sleep(60)


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


def gone(pid: int) -> bool:
    """The process has exited (reaped, or a zombie waiting for its parent)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


@pytest.fixture(scope="module")
def pool() -> Iterator[ChemistryPool]:
    chemistry = ChemistryPool(
        workers=1, queue=1, memory_mb=MEMORY_MB, kinds={"quick": QUICK, "slow": SLOW}
    )
    chemistry.start()
    yield chemistry
    chemistry.stop()


def test_a_task_runs_in_another_process_at_a_lower_priority(pool):
    pid = pool.run("slow", os.getpid)
    assert pid != os.getpid()
    assert pool.run("slow", os.nice, 0) > os.nice(0)
    assert pool.run("quick", math.sqrt, 16) == 4.0


def test_a_task_over_its_time_is_killed_and_the_worker_replaced(pool):
    first = pool.run("quick", os.getpid)
    started = time.monotonic()
    with pytest.raises(TooComplexError) as raised:
        pool.run("quick", time.sleep, 60)
    assert time.monotonic() - started < 10
    assert raised.value.field == "smiles" and raised.value.code == "too_complex"
    assert "in 3 s" in raised.value.message
    wait_for(lambda: gone(first))
    second = pool.run("quick", os.getpid)
    assert second != first
    assert pool.run("quick", math.sqrt, 9) == 3.0


def test_an_overrun_names_the_input_the_task_was_working_on(pool):
    with pytest.raises(TooComplexError) as raised:
        pool.run("quick", prepare_slowly, "ligand")
    assert raised.value.field == "ligand"
    assert raised.value.message.startswith("This ligand is too complex to test in 3 s")
    with pytest.raises(TooComplexError) as raised:
        pool.run("quick", time.sleep, 60)
    assert raised.value.field == "smiles", "a task that says nothing gets the kind's field"


def test_a_task_over_the_memory_limit_is_killed(pool):
    first = pool.run("slow", os.getpid)
    assert resident_mb(first) < MEMORY_MB / 2
    with pytest.raises(TooComplexError) as raised:
        pool.run("slow", hog, 4000)
    assert f"{MEMORY_MB:g} MB of memory" in raised.value.message
    assert raised.value.field == "receptor"
    wait_for(lambda: gone(first))
    assert pool.run("slow", hog, 40) == 2


def test_a_full_queue_refuses_at_once(pool):
    pool.run("slow", os.getpid)  # a worker is up
    results: dict[str, object] = {}

    def run(name: str, seconds: float) -> None:
        results[name] = pool.run("slow", time.sleep, seconds)

    running = threading.Thread(target=run, args=("running", 2.0))
    running.start()
    wait_for(lambda: pool.describe()["busy"] == 1)
    waiting = threading.Thread(target=run, args=("waiting", 0.0))
    waiting.start()
    wait_for(lambda: pool.describe()["waiting"] == 1)
    started = time.monotonic()
    with pytest.raises(BusyError) as raised:
        pool.run("slow", time.sleep, 0)
    assert time.monotonic() - started < 1.0
    assert raised.value.status_code == 503 and 1 <= raised.value.retry_after <= 60
    running.join(10)
    waiting.join(10)
    assert results == {"running": None, "waiting": None}


def test_an_input_error_crosses_with_its_field(pool):
    with pytest.raises(InputError) as raised:
        pool.run("quick", depict, "C1CC(", 100, 100)
    assert type(raised.value) is InputError
    assert raised.value.field == "smiles" and raised.value.code == "invalid_input"
    assert "C1CC(" in raised.value.message
    assert pool.run("quick", depict, "CCO", 100, 100).startswith("<?xml")


def test_errors_survive_pickling_with_their_attributes():
    error = pickle.loads(pickle.dumps(BusyError("busy", retry_after=7)))
    assert type(error) is BusyError and str(error) == "busy"
    assert (error.retry_after, error.code, error.status_code) == (7, "busy", 503)
    error = pickle.loads(pickle.dumps(InputError("bad", field="ph", code="x")))
    assert (error.field, error.code, error.message) == ("ph", "x", "bad")


def test_an_unexpected_exception_is_a_docking_error(pool):
    with pytest.raises(DockingError) as raised:
        pool.run("quick", int, "not a number")
    assert raised.value.status_code == 500 and raised.value.code == "chemistry_failed"
    assert "ValueError" in raised.value.message


def test_a_worker_that_crashes_is_replaced(pool):
    first = pool.run("quick", os.getpid)
    with pytest.raises(DockingError) as raised:
        pool.run("quick", os.abort)
    assert raised.value.code == "chemistry_crashed" and "SIGABRT" in raised.value.message
    assert pool.run("quick", os.getpid) != first
