"""Pocket detection (fpocket-rs) on real receptors: the known ligand sites come out on top."""

from __future__ import annotations

import pytest

from dockyard.chem import box_around_ligand, find_pockets
from dockyard.chem.pockets import MAX_ATOMS, MAX_POCKETS, MIN_POCKET_SIDE
from dockyard.errors import InputError


@pytest.fixture(scope="module")
def pockets_1iep(receptor_1iep):
    return find_pockets(receptor_1iep.pdb)


def test_the_imatinib_site_is_the_most_druggable_pocket_of_1iep(pockets_1iep, example):
    assert [pocket.rank for pocket in pockets_1iep] == list(range(1, MAX_POCKETS + 1))
    scores = [pocket.score for pocket in pockets_1iep]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    best = pockets_1iep[0]
    site = box_around_ligand(example["ligand"].read_text(), "sdf")
    assert best.box.distance_to([site.center]) == 0
    assert best.score > 0.5 > pockets_1iep[1].score  # druggable; the next one is not
    # Imatinib's contacts: the hinge (Met318), the gatekeeper, Glu286 of helix C, the DFG Asp381.
    assert {"A:MET:318", "A:THR:315", "A:GLU:286", "A:ASP:381"} <= set(best.residues)
    assert best.volume > 500 and best.depth > 5  # a large cleft, buried under the hull
    assert all(side >= MIN_POCKET_SIDE for pocket in pockets_1iep for side in pocket.size)


def test_the_ranking_is_the_same_run_to_run(receptor_1iep, pockets_1iep):
    """fpocket's volumes are Monte-Carlo estimates; the ranks and boxes a submission picks
    by number must not move between the pre-flight check and the job."""
    again = find_pockets(receptor_1iep.pdb + "\n")  # the same receptor, not the cached answer
    assert [(p.center, p.size, p.residues) for p in again] == [
        (p.center, p.size, p.residues) for p in pockets_1iep
    ]
    assert [p.score for p in again] == pytest.approx([p.score for p in pockets_1iep])


def test_a_receptor_without_atoms_has_no_pockets():
    water = "HETATM    1  O   HOH A   1      10.000  10.000  10.000  1.00  0.00           O"
    assert find_pockets("") == []
    assert find_pockets(water) == []


def test_a_receptor_too_large_for_pocket_detection_is_refused(receptor_1iep):
    lines = receptor_1iep.pdb.splitlines()
    atoms = [line for line in lines if line.startswith("ATOM") and line[76:78] != " H"]
    copies = MAX_ATOMS // len(atoms) + 1
    shifted = [
        f"{line[:30]}{float(line[30:38]) + 100 * copy:8.3f}{line[38:]}"
        for copy in range(copies)
        for line in atoms
    ]
    with pytest.raises(InputError, match="heavy atoms") as caught:
        find_pockets("\n".join(shifted))
    assert caught.value.field == "pockets"
