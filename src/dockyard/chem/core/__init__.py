"""The light layer of the science package: values, validation and tables, no science stack.

Nothing here imports RDKit, Meeko, Vina, gemmi, OpenMM, PDBFixer or SciPy (numpy is allowed),
so the web process can validate boxes and options and list accepted formats cheaply. Every
other part of :mod:`dockyard.chem` builds on this one and this one on none of them.
"""
