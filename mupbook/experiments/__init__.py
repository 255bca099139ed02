"""Experiments that reproduce the papers' figures at quick (CPU) or full (GPU) size.

Each module is one experiment: a function that runs it and returns a dataclass of
results, a plotting function, and a command line (``python -m
mupbook.experiments.<name> --help``) that writes the full-size results to JSON.
"""
