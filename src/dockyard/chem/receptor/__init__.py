"""Receptors: reading, clean-up, repair, protonation states, hetero groups and preparation.

:mod:`.prepare` runs the steps in order; each of the other modules is one step.
"""
