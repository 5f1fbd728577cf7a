"""The notebook's experiments, each runnable as ``python -m experiments.<name>``."""
