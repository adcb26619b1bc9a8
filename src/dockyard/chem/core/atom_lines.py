"""Writing PDB and PDBQT atom records: the one writer, so every file lines up the same way."""

from __future__ import annotations


def atom_line(
    record: str,
    serial: int,
    name: str,
    resname: str,
    chain: str,
    resnum: int,
    icode: str,
    xyz: tuple[float, float, float],
    *,
    element: str = "",
    charge: float = 0.0,
    ad_type: str = "",
) -> str:
    """One ``ATOM``/``HETATM`` line: PDB with ``element`` (written as given), or PDBQT when
    ``ad_type`` is given (with ``charge``). Names shorter than four characters start in
    column 14, as the PDB format has it."""
    atom_name = name if len(name) == 4 else f" {name.strip():<3}"
    x, y, z = xyz
    head = (
        f"{record:<6}{serial % 100000:5d} {atom_name} {resname:>3} {chain[:1]}{resnum:4d}"
        f"{icode or ' '}   {x:8.3f}{y:8.3f}{z:8.3f}  1.00  0.00"
    )
    if ad_type:
        return f"{head}    {charge:+6.3f} {ad_type:<2}"
    return f"{head}          {element:>2}"
