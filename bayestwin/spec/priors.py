"""Prior specifications: a distribution name and its parameters, checked.

The spec layer names distributions with plain strings so that any backend
(NumPyro now, PyMC later) can build them; it imports no PPL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

from bayestwin.exceptions import SpecError

# Parameter names per distribution, and which of them must be positive.
DISTRIBUTIONS: MappingProxyType[str, tuple[tuple[str, ...], tuple[str, ...]]] = MappingProxyType({
    "normal": (("loc", "scale"), ("scale",)),
    "half_normal": (("scale",), ("scale",)),
    "lognormal": (("loc", "scale"), ("scale",)),
    "student_t": (("df", "loc", "scale"), ("df", "scale")),
    "half_student_t": (("df", "scale"), ("df", "scale")),
    "beta": (("alpha", "beta"), ("alpha", "beta")),
    "gamma": (("concentration", "rate"), ("concentration", "rate")),
    "exponential": (("rate",), ("rate",)),
    "lkj": (("concentration",), ("concentration",)),
    "dirichlet": (("concentration",), ("concentration",)),
    "fixed": (("value",), ()),
})
"""Distribution name -> (parameter names, parameters that must be > 0)."""


@dataclass(frozen=True)
class PriorSpec:
    """A prior: distribution name and parameters.

    ``fixed`` is a point mass: the parameter is not sampled.
    """

    name: str
    dist: str
    params: MappingProxyType

    def __getitem__(self, key: str):
        return self.params[key]

    @property
    def is_fixed(self) -> bool:
        """Whether the parameter is held at a value instead of sampled."""
        return self.dist == "fixed"


def _check_positive(name: str, key: str, value, where: str) -> None:
    values = value if isinstance(value, list) else [value]
    for item in values:
        if not isinstance(item, (int, float)) or isinstance(item, bool):
            raise SpecError(
                f"{where}: prior '{name}' parameter '{key}' must be a number, got {item!r}."
            )
        if not math.isfinite(item) or item <= 0:
            raise SpecError(
                f"{where}: prior '{name}' parameter '{key}' must be positive, got {item!r}. "
                f"Scales, rates and concentrations are strictly positive."
            )


def parse_prior(name: str, table: object, *, where: str) -> PriorSpec:
    """Parse one prior table such as ``{dist = "normal", loc = 0, scale = 1}``.

    Raises
    ------
    SpecError
        Unknown distribution, unknown or missing parameter, or a scale that is
        not positive. The message names the prior and the valid options.

    """
    if not isinstance(table, dict):
        raise SpecError(
            f"{where}: prior '{name}' must be a table like "
            f'{{dist = "normal", loc = 0.0, scale = 1.0}}, got {table!r}.'
        )
    if "dist" not in table:
        raise SpecError(f"{where}: prior '{name}' has no 'dist'. "
                        f"Valid: {', '.join(DISTRIBUTIONS)}.")
    dist = table["dist"]
    if dist not in DISTRIBUTIONS:
        raise SpecError(
            f"{where}: prior '{name}' has unknown dist {dist!r}. "
            f"Valid: {', '.join(sorted(DISTRIBUTIONS))}."
        )
    expected, positive = DISTRIBUTIONS[dist]
    given = {key: value for key, value in table.items() if key != "dist"}
    unknown = sorted(set(given) - set(expected))
    if unknown:
        raise SpecError(
            f"{where}: prior '{name}' ({dist}) has unknown parameter(s) {', '.join(unknown)}. "
            f"Valid for {dist}: {', '.join(expected)}."
        )
    missing = [key for key in expected if key not in given]
    if missing:
        raise SpecError(
            f"{where}: prior '{name}' ({dist}) is missing parameter(s) {', '.join(missing)}."
        )
    for key in positive:
        _check_positive(name, key, given[key], where)
    return PriorSpec(name=name, dist=dist, params=MappingProxyType(dict(given)))
