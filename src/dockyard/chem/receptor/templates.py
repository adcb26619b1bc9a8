"""Chemistry that ships with Dockyard: Meeko's residue templates and common cofactors.

Nothing here is ever downloaded. Meeko's own templates cover amino acids (every protonation
variant), nucleotides and many modified residues; Dockyard adds the histidine variants as
residue names (so a chosen HID/HIE/HIP survives) and bond-order templates for the common
cofactors kept by ``keep_hetero=cofactors`` and ``auto``. Template SMILES are the charge
states at pH 7.
"""

from __future__ import annotations

import functools

from meeko import ResidueChemTemplates

_VARIANT_NAMES = {
    "HID": ["HID", "NHID", "CHID"],
    "HIE": ["HIE", "NHIE", "CHIE"],
    "HIP": ["HIP", "NHIP", "CHIP"],
}

COFACTOR_SMILES = {
    # NAD+ / NADH / NADP+ / NADPH (PDB NAD, NAI, NAP, NDP)
    "NAD": "NC(=O)c1ccc[n+](c1)C1OC(COP(=O)([O-])OP(=O)([O-])OCC2OC(n3cnc4c(N)ncnc43)"
    "C(O)C2O)C(O)C1O",
    "NAI": "NC(=O)C1=CN(C=CC1)C1OC(COP(=O)([O-])OP(=O)([O-])OCC2OC(n3cnc4c(N)ncnc43)"
    "C(O)C2O)C(O)C1O",
    "NAP": "NC(=O)c1ccc[n+](c1)C1OC(COP(=O)([O-])OP(=O)([O-])OCC2OC(n3cnc4c(N)ncnc43)"
    "C(OP(=O)([O-])[O-])C2O)C(O)C1O",
    "NDP": "NC(=O)C1=CN(C=CC1)C1OC(COP(=O)([O-])OP(=O)([O-])OCC2OC(n3cnc4c(N)ncnc43)"
    "C(OP(=O)([O-])[O-])C2O)C(O)C1O",
    "FAD": "Cc1cc2nc3c(=O)[nH]c(=O)nc-3n(CC(O)C(O)C(O)COP(=O)([O-])OP(=O)([O-])OCC3OC("
    "n4cnc5c(N)ncnc54)C(O)C3O)c2cc1C",
    "FMN": "Cc1cc2nc3c(=O)[nH]c(=O)nc-3n(CC(O)C(O)C(O)COP(=O)([O-])[O-])c2cc1C",
    "ATP": "Nc1ncnc2c1ncn2C1OC(COP(=O)([O-])OP(=O)([O-])OP(=O)([O-])[O-])C(O)C1O",
    "ADP": "Nc1ncnc2c1ncn2C1OC(COP(=O)([O-])OP(=O)([O-])[O-])C(O)C1O",
    "SAM": "C[S+](CCC([NH3+])C(=O)[O-])CC1OC(n2cnc3c(N)ncnc32)C(O)C1O",
    "SAH": "[NH3+]C(CCSCC1OC(n2cnc3c(N)ncnc32)C(O)C1O)C(=O)[O-]",
    "PLP": "Cc1ncc(COP(=O)([O-])[O-])c(C=O)c1O",
    # Heme without its iron (the iron is typed on its own): protoporphyrin IX dianion.
    "HEM": "C=CC1=C(C)C2=CC3=NC(=CC4=C(C)C(CCC(=O)[O-])=C([N-]4)C=C4N=C(C=C1[N-]2)"
    "C(C)=C4CCC(=O)[O-])C(C)=C3C=C",
}
"""Bond-order templates (heavy atoms as in the PDB's chemical component) by residue name."""


@functools.cache
def chem_templates() -> ResidueChemTemplates:
    """Meeko's default templates plus HID/HIE/HIP as input residue names."""
    templates = ResidueChemTemplates.create_from_defaults()
    for name, variants in _VARIANT_NAMES.items():
        templates.ambiguous[name] = [v for v in variants if v in templates.residue_templates]
    return templates


@functools.cache
def template_names() -> frozenset[str]:
    templates = chem_templates()
    return frozenset(templates.residue_templates) | frozenset(templates.ambiguous)
