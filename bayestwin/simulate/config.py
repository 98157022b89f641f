"""True population parameters and design settings of the FH cohort simulator.

`PopulationParameters` contains the generative model's parameters under the
NumPyro site names of the model documentation (`mu_u`, `beta_variant`,
`statin_emax`, `alpha_B`, ...). `DesignSettings` contains what shapes the
cohort but is not a model parameter: family structure, genotyping, visit
rhythm, treatment habits, imaging and censoring. Each value names its
published source, or is marked as an assumption where no published figure
was used. `docs/simulator.md` lists the calibration targets, the
sub-population each was measured in and the simulated value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from bayestwin.data.vocabulary import VARIANT_CLASSES

TRUE_VARIANT_CLASSES: tuple[str, ...] = (
    "ldlr_null",
    "ldlr_defective",
    "apob",
    "pcsk9",
    "polygenic",
    "none_found",
)
"""Classes a simulated patient can truly have; `ldlr_unknown` and `not_tested` are only observed."""

SUSCEPTIBILITY_COVARIATES: tuple[str, ...] = (
    "lpa",
    "sbp",
    "smoking",
    "diabetes",
    "prs",
    "z1",
    "z2",
)
"""Columns of the susceptibility design w_i, in the order of `gamma`."""

EVENT_COVARIATES: tuple[str, ...] = ("male", "prior_ascvd")
"""Baseline covariates x_i of the MACE hazard, in the order of `beta_event`."""

FACTORS: tuple[str, ...] = ("z1", "z2")
"""Microbiome latent factors."""

DRUG_GROUPS: tuple[str, ...] = ("statin", "nonstatin")
"""Responsiveness groups: the statins, and every other lipid-lowering class."""

SAMS_EXCESS_PER_1000_PY_FIRST_YEAR = 11.0
"""Excess statin-associated muscle symptoms, per 1000 person-years, in the first year.

CTT Collaboration, Lancet 2022 (muscle symptoms meta-analysis): RR 1.07, an
excess of 11 (95% CI 6 to 16) per 1000 person-years in year 1. The simulator
does not draw symptoms; the dose-choice code reads this constant.
"""

# Microbiome genera with (mean log-abundance, loading on z1, loading on z2,
# residual variance psi). No published loadings exist for this use, so the
# profile is a Zipf-like abundance curve with two gradients: z1 opposes the
# Bacteroides and the Prevotella groups, z2 the butyrate producers and the
# Proteobacteria and streptococci. Means and loadings are centred over taxa
# below, so that they live on the centred log-ratio scale.
_TAXA: tuple[tuple[str, float, float, float, float], ...] = (
    ("Bacteroides", 2.6, 0.9, 0.0, 0.30),
    ("Prevotella", 1.6, -1.2, 0.0, 0.60),
    ("Faecalibacterium", 2.0, 0.0, 0.6, 0.25),
    ("Ruminococcus", 1.6, 0.2, 0.4, 0.30),
    ("Blautia", 1.5, 0.3, 0.3, 0.25),
    ("Roseburia", 1.3, 0.0, 0.6, 0.30),
    ("Eubacterium", 1.3, 0.0, 0.4, 0.30),
    ("Alistipes", 1.2, 0.5, 0.0, 0.30),
    ("Bifidobacterium", 1.1, 0.0, 0.3, 0.50),
    ("Akkermansia", 0.6, 0.2, 0.2, 0.80),
    ("Clostridium", 1.0, 0.0, 0.0, 0.30),
    ("Coprococcus", 0.9, 0.0, 0.5, 0.30),
    ("Dorea", 0.8, 0.2, 0.0, 0.25),
    ("Parabacteroides", 0.8, 0.6, 0.0, 0.30),
    ("Oscillibacter", 0.7, 0.0, 0.2, 0.30),
    ("Subdoligranulum", 0.7, 0.0, 0.4, 0.35),
    ("Lachnospira", 0.6, -0.4, 0.3, 0.35),
    ("Dialister", 0.4, -0.6, 0.0, 0.50),
    ("Veillonella", 0.2, 0.0, -0.6, 0.50),
    ("Streptococcus", 0.3, 0.0, -0.7, 0.45),
    ("Escherichia", 0.2, 0.0, -0.8, 0.60),
    ("Collinsella", 0.3, 0.0, 0.0, 0.40),
    ("Methanobrevibacter", 0.0, -0.3, 0.3, 0.80),
    ("Anaerostipes", 0.2, 0.0, 0.3, 0.30),
    ("Butyricicoccus", 0.1, 0.0, 0.4, 0.30),
    ("Sutterella", 0.0, 0.4, -0.3, 0.40),
    ("Lactobacillus", -0.2, 0.0, -0.4, 0.70),
    ("Enterococcus", -0.4, 0.0, -0.6, 0.70),
    ("Desulfovibrio", -0.2, 0.3, -0.2, 0.50),
    ("Christensenella", -0.3, -0.2, 0.4, 0.60),
)

TAXA: tuple[str, ...] = tuple(row[0] for row in _TAXA)
"""Genera of the simulated microbiome table, in column order."""


def _centred(values: list[float]) -> tuple[float, ...]:
    array = np.asarray(values, dtype=float)
    return tuple(float(x) for x in np.round(array - array.mean(), 6))


def _mapping(**values: float) -> MappingProxyType:
    return MappingProxyType(dict(values))


@dataclass(frozen=True)
class PopulationParameters:
    """True values of the generative model's population parameters.

    Names follow the NumPyro sites of the model documentation; per-label
    values (by variant class, drug group, covariate, taxon) are read-only
    mappings. Units are those of the model documentation: log mmol/L for
    untreated LDL-C, mmol/L-years for the burden, years of age for hazards.
    """

    # Untreated LDL-C. Paquette (EJPC 2022): untreated LDL-C 7.90 mmol/L with an
    # LDLR null and 6.73 with a defective variant. mu_u puts the mean untreated
    # LDL-C at entry of defective carriers at 6.7 mmol/L, once the age slope
    # (mean entry age about 46) and the variance of the other terms are added.
    ldl_reference_age: float = 40.0
    mu_u: float = 1.85
    # Against ldlr_defective. Null: log(7.9 / 6.73). APOB: heterozygotes are
    # milder than LDLR (scite FDB report), set to 5.8 mmol/L. PCSK9: gain of
    # function raises LDL-C at least as much as LDLR defects (D374Y families,
    # pretreatment TC 13.6 mmol/L), set to 7.3. Polygenic 5.8 and none found 5.6
    # sit between the suggested 5 to 6 mmol/L and the 6.2 mmol/L of
    # "unexplained" FH in Ahmad 2012.
    beta_variant: Mapping[str, float] = field(
        default_factory=lambda: _mapping(
            ldlr_null=0.160,
            ldlr_defective=0.0,
            apob=-0.149,
            pcsk9=0.081,
            polygenic=-0.149,
            none_found=-0.184,
        )
    )
    # Trinder 2020: +0.13 mmol/L per 20-percentile PRS rise in monogenic FH. Near
    # the median, 20 percentiles span about 0.5 SD, so about 0.26 mmol/L per SD
    # on 7.3 mmol/L: 0.035 on the log scale.
    beta_prs: float = 0.035
    beta_male: float = 0.02  # assumption: a small sex difference
    # Assumption: the WHO saturated-fat slope was not extracted; one SD of a
    # healthier diet lowers LDL-C by about 3%.
    beta_diet: float = -0.03
    # Fu, Circ Res 2015: the microbiota explain about 4.5% of lipid variance,
    # mostly TG and HDL; the LDL-C link is weak, so these explain about 2% of
    # the variance of log LDL-C.
    beta_z: Mapping[str, float] = field(default_factory=lambda: _mapping(z1=0.02, z2=-0.015))
    # Spread: with PRS, diet, microbiome and age these give an SD of about 0.16
    # on the log scale, 1.2 mmol/L within an LDLR class (Ahmad 2012: 7.6 +/- 1.2
    # mmol/L for LDLR carriers). The split between centre, family and patient
    # is an assumption.
    sigma_centre: float = 0.04
    sigma_family: float = 0.08
    sigma_u: float = 0.11
    # Assumption: untreated LDL-C rises about 5% per decade of age.
    mu_v: float = 0.05
    sigma_v: float = 0.03

    # Treatment response. The Emax curve passes through the NICE CG181 figure
    # for atorvastatin 10 mg (37%) and through 52% at atorvastatin 40 mg. So
    # every ACC/AHA high-intensity dose (atorvastatin 40-80, rosuvastatin
    # 20-40) removes at least 50%, and partial adherence brings rosuvastatin
    # 20 mg to the JUPITER median of about 50% (Ridker EHJ 2016). The cost: doses
    # worth 5 mg of atorvastatin (simvastatin 20, pravastatin 40) give 26.7%,
    # under the 30% moderate-intensity bound (NICE gives 31-32%).
    statin_emax: float = 0.60
    statin_ed50: float = 6.25
    effect_ezetimibe: float = 0.21  # ODYSSEY COMBO II: -20.7% on top of maximal statin
    effect_pcsk9_antibody: float = 0.60  # alirocumab -61% vs placebo; GLAGOV evolocumab about -61%
    effect_pcsk9_sirna: float = 0.50  # assumption: no inclisiran trial figure used
    effect_bempedoic_acid: float = 0.18  # assumption: no bempedoic acid trial figure used
    # log r ~ N(0, sigma_r). Statins: about 15 percentage points of spread in
    # the reduction at 50% (the pharmacological SD of 15-20 points suggested
    # for JUPITER, an assumption there too). Non-statins: assumption.
    sigma_r: Mapping[str, float] = field(
        default_factory=lambda: _mapping(statin=0.45, nonstatin=0.30)
    )
    # Assumption: within-person biological plus analytical variation of about
    # 7% on the log scale, with Student-t tails.
    sigma_lab: float = 0.07
    nu: float = 5.0

    # Burden. The 1.8 mmol/L threshold is the model's default. The floor is the
    # scale of the softplus that keeps B positive before its logarithm.
    ldl_threshold: float = 1.8
    burden_floor: float = 1.0
    # Susceptibility (no intercept). Standardisation of w: log Lp(a) centred at
    # log 17 mg/dL (Varvel 2016 median) and scaled by 1.3; SBP centred at
    # 125 mmHg and scaled by 15; smoking (current) and diabetes are 0/1; PRS and
    # z are already standard normal. The gammas are assumptions; sigma_s was
    # tuned with alpha_B and kappa1 to the CAC-stratified event rates.
    susceptibility_centre: Mapping[str, float] = field(
        default_factory=lambda: _mapping(
            lpa=float(np.log(17.0)),
            sbp=125.0,
            smoking=0.0,
            diabetes=0.0,
            prs=0.0,
            z1=0.0,
            z2=0.0,
        )
    )
    susceptibility_scale: Mapping[str, float] = field(
        default_factory=lambda: _mapping(
            lpa=1.3,
            sbp=15.0,
            smoking=1.0,
            diabetes=1.0,
            prs=1.0,
            z1=1.0,
            z2=1.0,
        )
    )
    gamma: Mapping[str, float] = field(
        default_factory=lambda: _mapping(
            lpa=0.20,
            sbp=0.15,
            smoking=0.35,
            diabetes=0.35,
            prs=0.05,
            z1=0.10,
            z2=-0.05,
        )
    )
    sigma_s: float = 0.50

    # CAC hurdle, tuned to CAC = 0 in 46% at age 46 (Mszar) and 45.5 / 41.8 /
    # 12.7% for 0 / 1-100 / >100 AU at age 54 (Kanazawa). The steep kappa1
    # sorts patients by burden sharply enough for the event-rate gradient.
    kappa0: float = -31.2
    kappa1: float = 6.0
    lambda0: float = -8.2
    lambda1: float = 2.0
    sigma_cac: float = 1.2
    # Plaque volume: assumption (no FH CCTA volumes were used), with a median
    # near 100 mm3 at age 50, proportional to the burden.
    plaque_intercept: float = -0.7
    plaque_slope: float = 1.0
    sigma_plaque: float = 0.25

    # MACE hazard: h(t) = exp(weibull_log_rate) (age / 60)^(weibull_shape - 1)
    # x exp(x beta + alpha_B log B + alpha_L (L - ldl_ref)). weibull_log_rate
    # gives about 10 MACE per 1000 person-years in the whole cohort
    # (SAFEHEART). alpha_B, with sigma_s and kappa1, gives MACE rates of about
    # 1.8 / 16 / 55 per 1000 person-years by CAC group at age 44-64, so a
    # CAC > 100 vs 0 ratio of about 30 (SAFEHEART + REFERCHOL: HR 32, 10-102).
    # Kanazawa's 1.2 / 17 / 79 needs a steeper gradient, which would give
    # many patients a 10-year risk near 1.
    weibull_shape: float = 2.0
    weibull_log_rate: float = -19.5
    alpha_B: float = 2.5
    # CTT 2010: RR 0.78 per mmol/L over about 5 years; the burden path adds
    # about 0.02 on the log scale, so alpha_L is under -log(0.78) = 0.248.
    alpha_L: float = 0.225
    ldl_ref: float = 2.6
    # Assumptions (the SAFEHEART-RE coefficients are an unverified transcription).
    beta_event: Mapping[str, float] = field(
        default_factory=lambda: _mapping(male=0.5, prior_ascvd=1.0)
    )
    # Non-cardiovascular death, Gompertz in age: about 3 per 1000 per year for a
    # woman of 60, doubling every 8 years (assumption).
    delta0: float = -5.8
    delta1: float = 0.87
    delta_male: float = 0.5

    # Microbiome: centred log-ratio means and loadings (see _TAXA).
    taxa: tuple[str, ...] = TAXA
    microbiome_mean: tuple[float, ...] = _centred([row[1] for row in _TAXA])
    microbiome_loadings: tuple[tuple[float, ...], ...] = tuple(
        zip(_centred([row[2] for row in _TAXA]), _centred([row[3] for row in _TAXA]), strict=True)
    )
    psi: tuple[float, ...] = tuple(row[4] for row in _TAXA)


@dataclass(frozen=True)
class DesignSettings:
    """Recruitment, treatment, measurement and follow-up settings of a simulated cohort.

    Fractions are per patient unless named otherwise; times are in years.
    """

    # Centres and families. Index cases come from clinics; relatives of a
    # monogenic index case come from cascade screening and share its variant.
    centres: tuple[str, ...] = (
        "paris",
        "lyon",
        "lille",
        "marseille",
        "toulouse",
        "nantes",
        "strasbourg",
        "bordeaux",
    )
    centre_weights: tuple[float, ...] = (0.22, 0.18, 0.14, 0.12, 0.10, 0.09, 0.08, 0.07)
    relatives_mean: float = 1.5  # assumption: Poisson mean of relatives per monogenic index case
    # Futema: a variant is found in about 40% of clinical FH; at least 80% of
    # the variant-negative have a high LDL SNP score.
    index_monogenic: float = 0.40
    variant_negative_polygenic: float = 0.80
    # Carriers: about 93% LDLR, 5% APOB, 2% PCSK9 (UK FH). The LDLR null share
    # is an assumption.
    carrier_gene: Mapping[str, float] = field(
        default_factory=lambda: _mapping(
            ldlr=0.93,
            apob=0.05,
            pcsk9=0.02,
        )
    )
    ldlr_null_share: float = 0.35
    # Genotyping: share of patients never tested (not_tested) and of LDLR
    # carriers whose variant is reported without a null/defective class.
    not_tested: float = 0.25
    not_tested_unit: str = "patient"  # "patient" or "family"
    ldlr_unknown: float = 0.05
    # Polygenic score shift of the polygenic class; 0 keeps PRS independent
    # of the class, as the model's standard-normal prior for a missing PRS
    # assumes.
    prs_shift_polygenic: float = 0.0

    # Baseline characteristics (assumptions unless a source is named).
    male: float = 0.46
    index_age_mean: float = 46.0
    index_age_sd: float = 11.0
    age_min: float = 20.0
    age_max: float = 70.0
    current_smoking: float = 0.20
    former_smoking: float = 0.25
    diabetes: float = 0.05
    prior_ascvd: float = 0.12
    # Lp(a) quantile function in mg/dL, interpolated on the log scale. Varvel
    # (ATVB 2016, 531,144 US samples): median 17, IQR 7-47, 35% above 30, 24%
    # above 50, 90th percentile 90, 95th 116, 99th 180. The ends (1 and
    # 300 mg/dL) and the 5th percentile (3) are assumptions.
    lpa_quantiles: tuple[tuple[float, float], ...] = (
        (0.0, 1.0),
        (0.05, 3.0),
        (0.25, 7.0),
        (0.5, 17.0),
        (0.65, 30.0),
        (0.75, 47.0),
        (0.76, 50.0),
        (0.9, 90.0),
        (0.95, 116.0),
        (0.99, 180.0),
        (1.0, 300.0),
    )
    diet_recorded: float = 0.70
    microbiome_sampled: float = 0.40
    library_size_median: float = 1.0e4
    library_size_log_sd: float = 0.3

    # Treatment habits (assumptions): shares on a statin at entry, mean years
    # on a statin before entry, and escalation at a visit above the LDL-C goal.
    # Adherence: about 10% of patients take almost nothing (0 to 0.1) and the
    # rest 0.75 to 1 (mean 0.95). JUPITER counted 10.8% of patients without
    # LDL-C reduction, non-adherence included.
    treated_at_entry_index: float = 0.80
    treated_at_entry_relative: float = 0.50
    years_treated_before_entry: float = 7.0
    start_at_entry_visit: float = 0.85
    escalate_at_visit: float = 0.40
    pcsk9_when_eligible: float = 0.40
    pcsk9_threshold: float = 2.6
    switch_molecule: float = 0.02
    goal_primary: float = 2.6
    goal_secondary: float = 1.8
    non_adherent: float = 0.105
    adherent_min: float = 0.75
    adherent_beta: tuple[float, float] = (5.0, 1.2)
    pretreatment_ldl_recorded: float = 0.60

    # Visits, imaging and follow-up.
    visit_gap_min: float = 0.5
    visit_gap_max: float = 1.5
    cac_at_entry: float = 0.35
    cac_repeat: float = 0.40
    plaque_at_entry: float = 0.15
    plaque_repeat: float = 0.50
    recruitment_years: float = 6.0
    study_years: float = 15.0
    loss_to_follow_up_rate: float = 0.03  # per year
    # Shares of the MACE codes written for the first endpoint event (assumption).
    mace_codes: Mapping[str, float] = field(
        default_factory=lambda: _mapping(
            mi=0.30,
            revascularisation=0.30,
            stroke=0.15,
            unstable_angina=0.10,
            cv_death=0.15,
        )
    )
    hazard_grid_step: float = 1.0 / 12.0


@dataclass(frozen=True)
class SimulatorConfig:
    """Population parameters and design settings of one simulated cohort.

    Change a value with `dataclasses.replace`, for example
    ``replace(config, population=replace(config.population, alpha_B=1.5))``.
    """

    population: PopulationParameters = field(default_factory=PopulationParameters)
    design: DesignSettings = field(default_factory=DesignSettings)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.population.beta_variant) - set(VARIANT_CLASSES))
        if unknown:
            raise ValueError(
                f"beta_variant has unknown variant classes {unknown}; "
                f"valid classes are {sorted(VARIANT_CLASSES)}"
            )
        if self.design.not_tested_unit not in ("patient", "family"):
            raise ValueError(
                "not_tested_unit must be 'patient' or 'family', "
                f"got {self.design.not_tested_unit!r}"
            )
        if len(self.design.centres) != len(self.design.centre_weights):
            raise ValueError(
                f"{len(self.design.centres)} centres but {len(self.design.centre_weights)} "
                "centre weights; give one weight per centre"
            )
