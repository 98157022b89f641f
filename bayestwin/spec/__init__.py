"""Model specifications: read `models/*.toml` into typed, validated objects.

This layer imports no probabilistic programming library, so a PyMC backend
can be built from the same files.
"""

from bayestwin.spec.loader import ModelSpec, Section, load_spec, parse_spec, resolve_model_path
from bayestwin.spec.priors import DISTRIBUTIONS, PriorSpec
from bayestwin.spec.schema import BLOCKS, PRIORS, SECTIONS

__all__ = [
    "BLOCKS", "DISTRIBUTIONS", "PRIORS", "SECTIONS", "ModelSpec", "PriorSpec", "Section",
    "load_spec", "parse_spec", "resolve_model_path",
]
