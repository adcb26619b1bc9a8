"""EasyDock as a peer for ``bench/screen.py``: its own virtualenv, one run, its scores.

EasyDock (PyPI ``easydock``, BSD-3) declares no dependencies of its own; its Vina path imports
``vina``, ``meeko`` (which imports ``gemmi`` without declaring it), ``rdkit``, ``numpy``,
``scikit-learn`` and ``yaml`` (``dask`` only for a
multi-node ``--hostfile`` run, not used here). All of them are wheels on PyPI, so no conda and
no binary from elsewhere is needed. The virtualenv gets the same versions of Vina, Meeko, RDKit
and NumPy as Dockyard's environment, so both tools dock with the same engine. It is a
benchmark-only peer: nothing here touches Dockyard's environment or its dependencies.
"""

from __future__ import annotations

import importlib.metadata
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from dockyard.chem import Box

EASYDOCK = "easydock==1.3.1"
SAME_AS_DOCKYARD = ("vina", "meeko", "gemmi", "rdkit", "numpy", "scipy", "pyyaml")
DEFAULT_VENV = Path.home() / ".cache" / "dockyard-bench" / "easydock-venv"


def requirements() -> list[str]:
    """EasyDock pinned, its imports pinned to what Dockyard's environment runs."""
    pins = [f"{name}=={importlib.metadata.version(name)}" for name in SAME_AS_DOCKYARD]
    return [EASYDOCK, *pins, "scikit-learn"]


def ensure_venv(venv: Path) -> Path:
    """The ``easydock`` command of a virtualenv at ``venv``, created and filled once.

    A marker file names what was installed; a venv whose marker differs is filled again.
    """
    wanted = "\n".join(requirements())
    marker = venv / "dockyard-bench-requirements.txt"
    command = venv / "bin" / "easydock"
    if command.exists() and marker.exists() and marker.read_text() == wanted:
        return command
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    subprocess.run([*pip, *requirements()], check=True)
    marker.write_text(wanted)
    return command


class PeakMemory:
    """Samples the memory of a process and all its descendants; keeps the peaks (MB).

    Two sums: RSS, which counts a page shared by forked processes once per process (so it
    overstates a tree that forks from a preloaded parent), and PSS, which splits each shared
    page between its sharers (what the tree costs the machine). Uses psutil when the
    environment has it, else reads ``/proc`` directly.
    """

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid = pid
        self.interval = interval
        self.rss_mb = 0.0
        self.pss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            rss, pss = tree_memory_mb(self.pid)
            self.rss_mb, self.pss_mb = max(self.rss_mb, rss), max(self.pss_mb, pss)
            self._stop.wait(self.interval)


def tree_memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) summed over ``pid`` and its descendants, in MB."""
    try:
        import psutil
    except ImportError:
        return _proc_tree_memory_mb(pid)
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0, 0.0
    rss = pss = 0
    for process in processes:
        try:
            info = process.memory_full_info()
        except psutil.Error:
            continue
        rss, pss = rss + info.rss, pss + info.pss
    return rss / 2**20, pss / 2**20


def _proc_tree_memory_mb(pid: int) -> tuple[float, float]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        try:
            parents[int(entry.name)] = int(
                (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
            )
        except (OSError, ValueError, IndexError):
            continue
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier += children
    totals = {"Rss:": 0, "Pss:": 0}
    for member in tree:
        try:
            lines = Path(f"/proc/{member}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            key, *value = line.split()
            if key in totals:
                totals[key] += int(value[0])
    return totals["Rss:"] / 1024, totals["Pss:"] / 1024


def write_config(folder: Path, receptor_pdbqt: Path, box: Box, settings: dict) -> Path:
    """EasyDock's Vina config and box file (``protein_setup``), as its documentation gives."""
    grid = folder / "grid.txt"
    grid.write_text("".join(f"{key} = {value}\n" for key, value in box.to_dict().items()))
    config = folder / "config.yml"
    lines = {"protein": receptor_pdbqt, "protein_setup": grid, **settings}
    config.write_text("".join(f"{key}: {value}\n" for key, value in lines.items()))
    return config


def run(
    command: Path, folder: Path, smiles: list[str], config: Path, processes: int
) -> tuple[float, PeakMemory, dict[str, float]]:
    """One EasyDock run (``easydock -i lib.smi -o out.db --program vina``) in a fresh folder.

    Returns (wall seconds from launch to exit, the peak memory of its process tree, best score
    per molecule id). Wall time includes its interpreter start, as a user would see it.
    """
    folder.mkdir(parents=True)
    library = folder / "library.smi"
    library.write_text("".join(f"{line}\n" for line in smiles))  # SMILES<TAB>name, as NCI's file
    database = folder / "out.db"
    argv = [str(command), "-i", str(library), "-o", str(database), "--program", "vina"]
    argv += ["--config", str(config), "-c", str(processes), "--log", str(folder / "log.txt")]
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=folder, stdout=subprocess.DEVNULL)
    with PeakMemory(process.pid) as memory:
        code = process.wait()
    elapsed = time.perf_counter() - start
    if code:
        raise SystemExit(f"easydock exited {code}; see {folder / 'log.txt'}")
    return elapsed, memory, best_scores(database)


def best_scores(database: Path) -> dict[str, float]:
    """The best docking score of each molecule id (over its stereoisomers) in EasyDock's store."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT id, MIN(docking_score) FROM mols WHERE docking_score IS NOT NULL GROUP BY id"
        ).fetchall()
    return {str(name): float(score) for name, score in rows}
