"""The archive of a big screen: memory and time of its export and import, in one run.

A screen of N ligands (default 100,000), each with three poses of 15 atoms at random
coordinates (about 3.6 kB of SDF, compressing as real poses do), is written straight into a
fresh SQLite store; then, against baselines measured in the same run:

- the export's peak traced memory (tracemalloc) against that of a screen a tenth the size:
  bounded means the ratio stays near 1, not near 10 (target: at most 1.5);
- the export's time against streaming the same screen's ``results.csv`` (the export also
  compresses every pose and hashes every entry);
- the import's time against the export's.

Run: ``.venv/bin/python -m bench.archive [--ligands 100000] [--database-url URL]``
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import update

from dockyard.chem.ligand.library import LibraryEntry
from dockyard.jobs.archive import ArchiveExport
from dockyard.jobs.archive_import import ArchiveLimits, import_archive
from dockyard.jobs.models import Job, JobStatus, LigandStatus, ScreenLigand, utcnow
from dockyard.jobs.screen_results import results_csv
from dockyard.jobs.store import Store

BATCH = 5000


def poses(rng: random.Random) -> str:
    blocks = []
    for _ in range(3):
        atoms = "".join(
            f"{rng.uniform(0, 40):10.4f}{rng.uniform(0, 40):10.4f}{rng.uniform(0, 40):10.4f}"
            " C   0  0  0  0  0  0  0  0  0  0  0  0\n"
            for _ in range(15)
        )
        blocks.append(f"ligand\n     RDKit          3D\n\n 15  0  0  0  0  0  0  0  0  0999 V2000\n"
                      f"{atoms}M  END\n$$$$\n")  # fmt: skip
    return "".join(blocks)


def make_screen(store: Store, ligands: int, seed: int) -> int:
    """A completed screen of ``ligands`` docked ligands, written in batches."""
    rng = random.Random(seed)
    screen = store.screens.create(
        name=f"bench {ligands}", params={}, files=[],
        entries=(LibraryEntry(i, f"ligand {i}", "c1ccccc1O", "smi") for i in range(ligands)),
        chunk_size=lambda total: 200, max_attempts=1, time_limit=60,
    )  # fmt: skip
    now = utcnow()
    with store.session() as session, session.begin():
        done = {"status": JobStatus.COMPLETED, "finished_at": now}
        session.execute(update(Job).where(Job.id == screen.id).values(**done))
        session.execute(update(Job).where(Job.parent_id == screen.id).values(**done))
    for start in range(0, ligands, BATCH):
        rows = [
            {"screen_id": screen.id, "index": index, "status": LigandStatus.COMPLETED,
             "score": -rng.uniform(3, 11), "poses_sdf": poses(rng), "num_poses": 3,
             "finished_at": now}
            for index in range(start, min(start + BATCH, ligands))
        ]  # fmt: skip
        with store.session() as session, session.begin():
            session.execute(update(ScreenLigand), rows)
    return screen.id


def drain(pieces: Iterable[bytes | str]) -> int:
    return sum(len(piece) for piece in pieces)


def timed(work: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def traced_peak(work: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ligands", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        store = Store.open(url)
        try:
            small = make_screen(store, args.ligands // 10, seed=1)
            big = make_screen(store, args.ligands, seed=2)

            def export(screen_id: int) -> Callable[[], int]:
                return lambda: drain(ArchiveExport.open(store, screen_id).chunks())

            small_peak = traced_peak(export(small))
            big_peak = traced_peak(export(big))
            csv_seconds, _ = timed(lambda: drain(results_csv(store, big)))
            export_seconds, size = timed(export(big))
            archive = Path(folder) / "big.zip"
            with archive.open("wb") as out:
                for chunk in ArchiveExport.open(store, big).chunks():
                    out.write(chunk)
            limits = ArchiveLimits(2**40, 2**40)
            with archive.open("rb") as stream:
                import_seconds, job = timed(
                    lambda: import_archive(store, stream, limits=limits, owner_id=None)
                )
            imported = store.screens.kth_best_score(job.id, 1) is not None
        finally:
            store.close()
    print(f"screen of {args.ligands:,} ligands: archive {size / 1e6:.1f} MB")
    print(
        f"export peak memory: {big_peak / 1e6:.1f} MB vs {small_peak / 1e6:.1f} MB for "
        f"{args.ligands // 10:,} ligands: ratio {big_peak / small_peak:.2f} (target <= 1.5)"
    )
    print(
        f"export: {export_seconds:.1f} s ({args.ligands / export_seconds:,.0f} ligands/s, "
        f"{size / 1e6 / export_seconds:.1f} MB/s); results.csv of the same screen "
        f"{csv_seconds:.1f} s: ratio {export_seconds / csv_seconds:.2f}"
    )
    print(
        f"import: {import_seconds:.1f} s ({args.ligands / import_seconds:,.0f} ligands/s): "
        f"ratio to the export {import_seconds / export_seconds:.2f}; restored: {imported}"
    )


if __name__ == "__main__":
    main()
