"""Residues of a receptor structure: their keys and labels, finding one, and the amino acids.

A residue key is Meeko's ``chain:number[icode]`` (``A:93``, ``A:52B``); a label puts the
residue name in front (``LYS A:93``). Every report, option and error names residues so.
"""

from __future__ import annotations

import gemmi

from dockyard.errors import InputError

AMINO_ACIDS = frozenset(
    [
        "ALA",
        "ARG",
        "ASN",
        "ASP",
        "CYS",
        "GLN",
        "GLU",
        "GLY",
        "HIS",
        "ILE",
        "LEU",
        "LYS",
        "MET",
        "PHE",
        "PRO",
        "SER",
        "THR",
        "TRP",
        "TYR",
        "VAL",
    ]
)

VARIANT_PARENTS = {"HID": "HIS", "HIE": "HIS", "HIP": "HIS", "ASH": "ASP", "GLH": "GLU"}
VARIANT_PARENTS |= {"LYN": "LYS", "CYM": "CYS", "CYX": "CYS"}
"""Protonation variants (as Meeko's templates name them) and the amino acid of each."""


def key(chain: gemmi.Chain, residue: gemmi.Residue) -> str:
    """Meeko's residue key, e.g. "A:93" or "A:52B"."""
    return f"{chain.name}:{residue.seqid.num}{residue.seqid.icode.strip()}"


def label(chain: gemmi.Chain, residue: gemmi.Residue) -> str:
    return f"{residue.name} {key(chain, residue)}"


def is_biopolymer(resname: str) -> bool:
    info = gemmi.find_tabulated_residue(resname)
    return info is not None and (info.is_amino_acid() or info.is_nucleic_acid())


def find_residue(structure: gemmi.Structure, residue_key: str) -> tuple[gemmi.Chain, int]:
    """The chain holding the residue with this key and its index there; KeyError if none."""
    for chain in structure[0]:
        for index, residue in enumerate(chain):
            if key(chain, residue) == residue_key:
                return chain, index
    raise KeyError(residue_key)


def parse_residue(item: str, field: str) -> tuple[str, str]:
    """("A:286", "GLU") from "A:GLU:286", "GLU A:286" or "A:286" (name "" if not given)."""
    words = item.replace(":", " ").split()
    chain = number = name = ""
    for word in words:
        if word.lstrip("-")[:1].isdigit():
            number = word
        elif len(word) >= 3 and word.isalpha():
            name = word.upper()
        else:
            chain = word
    if not (chain and number):
        raise InputError(
            f"{item!r} is not a residue; write it as A:286, A:GLU:286 or GLU A:286.", field=field
        )
    return f"{chain}:{number}", name
