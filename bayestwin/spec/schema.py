"""Allowed sections, keys, values and priors of a model file.

Each section maps a key to a `Key` that gives its type, default and valid
values. The prior names each block needs are listed here too, so that a
model file with a missing or unknown prior fails before any backend runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from bayestwin.data.vocabulary import EVENTS, VARIANT_CLASSES

_NO_DEFAULT = object()


@dataclass(frozen=True)
class Key:
    """One key of a model-file section.

    Attributes
    ----------
    kind
        ``bool``, ``int``, ``float``, ``str``, ``list`` (of strings) or ``table``.
    default
        Value used when the key is absent; keys without one are required.
    choices
        Valid strings (for ``str``) or list items (for ``list``); empty = any.
    minimum
        Smallest valid number (inclusive) for ``int`` and ``float``.

    """

    kind: str
    default: object = _NO_DEFAULT
    choices: tuple[str, ...] = ()
    minimum: float | None = None

    @property
    def required(self) -> bool:
        """Whether the key must appear in the file."""
        return self.default is _NO_DEFAULT


BLOCKS = ("lipids", "treatment", "burden", "imaging", "events", "microbiome", "longitudinal")

LIPID_COVARIATES = ("variant_class", "prs", "sex", "diet", "microbiome")
SUSCEPTIBILITY_COVARIATES = ("lpa", "sbp", "smoking", "diabetes", "hypertension", "prs",
                             "microbiome")
TIME_VARYING_COVARIATES = ("sbp", "smoking", "diabetes")
"""Susceptibility covariates that may change at each measurement (see `TIME_VARYING_MARKERS`)."""
LONGITUDINAL_TERMS = ("time", "sex", "time:sex", "age")
ASSOCIATIONS = ("burden", "ldl", "value")

SECTIONS: MappingProxyType[str, dict[str, Key]] = MappingProxyType({
    "model": {
        "name": Key("str"),
        "description": Key("str", ""),
        "time_scale": Key("str", "age", ("age", "time")),
        "reference_age": Key("float", 40.0, minimum=0.0),
        # "fh": ESC/EAS FH risk categories and LDL-C goals apply; "general": they do not.
        "population": Key("str", "fh", ("fh", "general")),
    },
    "blocks": {block: Key("bool", False) for block in BLOCKS},
    "endpoint": {
        "events": Key("list", choices=tuple(EVENTS)),
        "competing": Key("list", [], choices=tuple(EVENTS)),
    },
    "lipids": {
        "marker": Key("str", "ldl_c"),
        "likelihood": Key("str", "student_t", ("student_t", "normal")),
        "covariates": Key("list", list(LIPID_COVARIATES), LIPID_COVARIATES),
        "random_effects": Key("list", ["centre", "family"], ("centre", "family")),
        "centred_effects": Key("list", [], ("centre", "family")),
        "slope": Key("str", "random", ("none", "random")),
        "reference_class": Key("str", "ldlr_defective", tuple(VARIANT_CLASSES)),
        "parameterisation": Key("str", "centred", ("centred", "non_centred")),
        # "integrated": family effects marginalised (bayestwin.model.families).
        "family_effects": Key("str", "sampled", ("sampled", "integrated")),
        # "family": relatives never genotyped share their family's variant class.
        "untested_class": Key("str", "patient", ("patient", "family")),
        "variant_prior": Key("table", {}),
    },
    "longitudinal": {
        "marker": Key("str"),
        "transform": Key("str", "log", ("log", "identity")),
        "fixed_effects": Key("list", ["time"], LONGITUDINAL_TERMS),
        "random": Key("str", "intercept_slope", ("intercept", "intercept_slope")),
        "likelihood": Key("str", "normal", ("normal", "student_t")),
        "parameterisation": Key("str", "non_centred", ("centred", "non_centred")),
    },
    "treatment": {
        "responsiveness": Key("bool", True),
        "use_adherence": Key("bool", True),
        "parameterisation": Key("str", "centred", ("centred", "non_centred", "by_data")),
    },
    "burden": {
        "threshold": Key("float", 1.8, minimum=0.0),
        "floor": Key("float", 1.0, minimum=1e-6),
        "reference": Key("float", 100.0, minimum=1e-6),
        "susceptibility": Key("list", ["lpa", "sbp", "smoking", "diabetes", "prs"],
                              SUSCEPTIBILITY_COVARIATES),
        "lpa_reference": Key("float", 17.0, minimum=1e-6),
        "lpa_log_scale": Key("float", 1.3, minimum=1e-6),
        "lpa_unit": Key("str", "mg/dL", ("mg/dL", "nmol/L")),
        "sbp_reference": Key("float", 125.0, minimum=0.0),
        "sbp_scale": Key("float", 15.0, minimum=1e-6),
        "time_varying": Key("list", [], TIME_VARYING_COVARIATES),
        "patient_effect": Key("bool", True),
        "parameterisation": Key("str", "non_centred", ("centred", "non_centred", "by_data")),
    },
    "imaging": {
        "cac": Key("bool", True),
        "plaque_volume": Key("bool", False),
        "cimt": Key("bool", False),
    },
    "events": {
        "baseline": Key("str", "bspline", ("bspline", "weibull")),
        "n_knots": Key("int", 4, minimum=1),
        "covariates": Key("list", []),
        "association": Key("list", ["burden", "ldl"], ASSOCIATIONS),
        "quadrature_nodes": Key("int", 15, minimum=3),
        "ldl_reference": Key("float", 3.0, minimum=0.0),
        "max_horizon": Key("float", 30.0, minimum=0.0),
    },
    "microbiome": {
        "n_factors": Key("int", 2, minimum=1),
        "n_taxa": Key("int", 30, minimum=2),
        "pseudocount": Key("float", 0.5, minimum=1e-9),
    },
    "inference": {
        "chains": Key("int", 4, minimum=1),
        "warmup": Key("int", 1000, minimum=1),
        "draws": Key("int", 1000, minimum=1),
        "target_accept": Key("float", 0.85, minimum=0.5),
        "max_tree_depth": Key("int", 10, minimum=1),
        "dtype": Key("str", "float64", ("float32", "float64")),
    },
    "gate": {
        "rhat_max": Key("float", 1.01, minimum=1.0),
        "ess_bulk_min": Key("float", 400.0, minimum=0.0),
        "ess_tail_min": Key("float", 400.0, minimum=0.0),
        "divergences_max": Key("int", 0, minimum=0),
        "bfmi_min": Key("float", 0.3, minimum=0.0),
    },
    "priors": {},
})
"""Section name -> key name -> `Key`. ``priors`` is checked against `PRIORS`."""

PRIORS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType({
    "lipids": ("mu_u", "beta_variant", "beta_prs", "beta_male", "beta_diet", "beta_z",
               "sigma_centre", "sigma_family", "sigma_u", "mu_v", "sigma_v", "sigma_lab", "nu"),
    "treatment": ("statin_emax", "statin_ed50", "effect_ezetimibe", "effect_pcsk9_antibody",
                  "effect_pcsk9_sirna", "effect_bempedoic_acid", "sigma_r"),
    "burden": ("gamma", "sigma_s"),
    "imaging": ("kappa0", "kappa1", "lambda0", "lambda1", "sigma_cac", "plaque0", "plaque1",
                "sigma_plaque", "cimt0", "cimt1", "sigma_cimt"),
    "events": ("baseline_log_hazard", "baseline_smoothness", "weibull_shape", "beta_event",
               "alpha_B", "alpha_L", "alpha_value", "delta0", "delta1", "delta_male"),
    "microbiome": ("loading_scale", "psi", "mu_taxa"),
    "longitudinal": ("beta_long", "sigma_b", "corr_b", "sigma_y", "nu_y"),
})
"""Block -> prior names it may use. A file may leave out priors its options
do not use (for example ``nu`` with a normal likelihood); the model builder
raises when a needed prior is missing."""
