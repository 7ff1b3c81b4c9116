"""Tuanju (团聚): the youth league's working platform for emerging youth groups."""

__version__ = "0.1.0"
