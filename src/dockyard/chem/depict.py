"""2D depictions of molecules: RDKit SVG drawings for the pages.

CoordGen lays out large rings slowly while holding the GIL (a 37-membered ring takes tens of
seconds), so this runs where chemistry runs, never in the web process.
"""

from __future__ import annotations

from dockyard.errors import InputError


def depict(smiles: str, width: int, height: int) -> str:
    """An RDKit SVG drawing of a molecule, hydrogens hidden, on a transparent background."""
    from rdkit import Chem
    from rdkit.Chem import rdDepictor
    from rdkit.Chem.Draw import rdMolDraw2D
    from rdkit.rdBase import BlockLogs

    with BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise InputError(f"RDKit cannot read the SMILES {smiles!r}.", field="smiles")
    mol = Chem.RemoveHs(mol)
    rdDepictor.SetPreferCoordGen(True)
    rdDepictor.Compute2DCoords(mol)
    drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
    options = drawer.drawOptions()
    options.clearBackground = False
    options.padding = 0.08
    options.bondLineWidth = 1.5
    drawer.DrawMolecule(mol)
    drawer.FinishDrawing()
    return drawer.GetDrawingText()
