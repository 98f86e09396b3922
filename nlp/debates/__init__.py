"""The debates cxkb ships: one TOML file per debate and its annotated examples.

This package holds data only; ``nlp.debate`` reads it.
"""
