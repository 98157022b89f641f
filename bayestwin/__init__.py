"""bayestwin: hierarchical Bayesian digital twins for cardiovascular prevention.

The package fits one hierarchical model to a cohort with JAX-compiled NUTS
(NumPyro) and gives each patient a twin: posterior trajectories of LDL-C,
atherosclerotic burden and event risk under alternative treatment plans.

Research software, not a certified medical device.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bayestwin")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
