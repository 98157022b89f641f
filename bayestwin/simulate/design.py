"""Recruitment design: families, centres, genotype, baseline covariates, visits and censoring.

Nothing here depends on a latent value of the model, so the design is
ignorable for the likelihood: covariates, testing, sampling and visit times
are drawn from observed characteristics only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit
from scipy.stats import truncnorm

from bayestwin.simulate.config import DesignSettings

DAYS_PER_YEAR = 365.25
TIME_DECIMALS = 4


def days_to_years(days: np.ndarray) -> np.ndarray:
    """Convert whole days since entry to years, rounded as the cohort stores times."""
    return np.round(np.asarray(days, dtype=float) / DAYS_PER_YEAR, TIME_DECIMALS)


@dataclass(frozen=True)
class Design:
    """Per-patient design arrays, in patient order (`patient_id` P00001, P00002, ...).

    Times are years since entry, rounded to 4 decimals (under an hour).
    ``visits`` is (patient, visit) with NaN after the last visit before
    ``censor_time``; visit 0 is at entry.
    """

    patient_id: np.ndarray
    family: np.ndarray
    family_id: np.ndarray
    is_index: np.ndarray
    centre: np.ndarray
    male: np.ndarray
    age_at_entry: np.ndarray
    variant_class: np.ndarray
    observed_class: np.ndarray
    prs: np.ndarray
    smoking: np.ndarray
    diabetes: np.ndarray
    sbp: np.ndarray
    hypertension: np.ndarray
    prior_ascvd: np.ndarray
    lpa: np.ndarray
    diet_score: np.ndarray
    diet_recorded: np.ndarray
    z: np.ndarray
    microbiome_sampled: np.ndarray
    cac_at_entry: np.ndarray
    cac_repeat: np.ndarray
    plaque_at_entry: np.ndarray
    plaque_repeat: np.ndarray
    admin_censor: np.ndarray
    censor_time: np.ndarray
    visits: np.ndarray
    centre_names: tuple[str, ...]

    @property
    def n_patients(self) -> int:
        """Number of patients."""
        return len(self.patient_id)


def _families(n: int, design: DesignSettings, rng: np.random.Generator):
    """Draw family sizes and classes until n patients; return per-patient family and class."""
    index_monogenic = rng.random(n) < design.index_monogenic
    relatives = np.where(index_monogenic, rng.poisson(design.relatives_mean, n), 0)
    sizes = 1 + relatives
    n_families = int(np.searchsorted(np.cumsum(sizes), n) + 1)
    sizes = sizes[:n_families]
    sizes[-1] -= sizes.sum() - n

    genes = list(design.carrier_gene)
    gene = rng.choice(genes, size=n_families, p=[design.carrier_gene[g] for g in genes])
    null = rng.random(n_families) < design.ldlr_null_share
    polygenic = rng.random(n_families) < design.variant_negative_polygenic
    family_class = np.where(
        index_monogenic[:n_families],
        np.where(gene == "ldlr", np.where(null, "ldlr_null", "ldlr_defective"), gene),
        np.where(polygenic, "polygenic", "none_found"),
    ).astype(object)
    family = np.repeat(np.arange(n_families), sizes)
    first = np.cumsum(sizes) - sizes
    is_index = np.zeros(n, dtype=bool)
    is_index[first] = True
    return family, is_index, family_class[family]


def _ages(family: np.ndarray, is_index: np.ndarray, design: DesignSettings, rng) -> np.ndarray:
    """Draw entry ages: index cases truncated normal, relatives a generation apart or siblings."""
    low = (design.age_min - design.index_age_mean) / design.index_age_sd
    high = (design.age_max - design.index_age_mean) / design.index_age_sd
    index_age = truncnorm.rvs(
        low,
        high,
        loc=design.index_age_mean,
        scale=design.index_age_sd,
        size=family.max() + 1,
        random_state=rng,
    )
    offset = rng.choice([-26.0, 0.0, 26.0], size=len(family)) + rng.normal(0.0, 4.0, len(family))
    age = index_age[family] + np.where(is_index, 0.0, offset)
    outside = (age < design.age_min) | (age > design.age_max)
    sibling = index_age[family] + rng.normal(0.0, 4.0, len(family))
    age = np.where(outside, sibling, age)
    return np.round(np.clip(age, design.age_min, design.age_max), 2)


def _lpa(n: int, design: DesignSettings, rng) -> np.ndarray:
    """Draw Lp(a) (mg/dL) by interpolating the published quantiles on the log scale."""
    probability, value = (np.array(column) for column in zip(*design.lpa_quantiles, strict=True))
    draws = np.exp(np.interp(rng.random(n), probability, np.log(value)))
    return np.round(draws, 1)


def _visits(censor_time: np.ndarray, design: DesignSettings, rng) -> np.ndarray:
    """Draw visit times before censoring: entry, then gaps of visit_gap_min to visit_gap_max."""
    n = len(censor_time)
    max_visits = int(np.ceil(design.study_years / design.visit_gap_min)) + 2
    low = int(round(design.visit_gap_min * DAYS_PER_YEAR))
    high = int(round(design.visit_gap_max * DAYS_PER_YEAR))
    gaps = rng.integers(low, high + 1, size=(n, max_visits - 1))
    days = np.concatenate([np.zeros((n, 1), dtype=int), np.cumsum(gaps, axis=1)], axis=1)
    times = days_to_years(days)
    return np.where(times < censor_time[:, None], times, np.nan)


def draw_design(n: int, design: DesignSettings, rngs: dict[str, np.random.Generator]) -> Design:
    """Draw the recruitment design of `n` patients.

    Parameters
    ----------
    n
        Number of patients.
    design
        Design settings.
    rngs
        Generators by component: ``families``, ``baseline``, ``genotyping``,
        ``sampling`` and ``follow_up``.

    """
    family, is_index, variant_class = _families(n, design, rngs["families"])
    n_families = int(family.max()) + 1
    rng = rngs["families"]
    centre_of_family = rng.choice(len(design.centres), size=n_families, p=design.centre_weights)
    centre = np.asarray(design.centres, dtype=object)[centre_of_family[family]]

    # Baseline characteristics.
    rng = rngs["baseline"]
    age = _ages(family, is_index, design, rng)
    male = (rng.random(n) < design.male).astype(float)
    smoking_draw = rng.random(n)
    smoking = np.where(
        smoking_draw < design.current_smoking,
        "current",
        np.where(smoking_draw < design.current_smoking + design.former_smoking, "former", "never"),
    ).astype(object)
    diabetes = rng.random(n) < design.diabetes
    sbp = np.round(rng.normal(122.0 + 0.45 * (age - 46.0) + 4.0 * male, 13.0))
    hypertension = (sbp >= 140.0) | (rng.random(n) < 0.05)
    prior_logit = (
        logit(design.prior_ascvd) - 0.25 + 0.07 * (age - 46.0) + 0.6 * (male - design.male)
    )
    prior_ascvd = rng.random(n) < expit(prior_logit)
    lpa = _lpa(n, design, rng)
    diet_score = rng.normal(size=n)
    z = rng.normal(size=(n, 2))
    prs = rng.normal(size=n) + design.prs_shift_polygenic * (variant_class == "polygenic")

    # Genotyping: not tested per patient or per family; some LDLR variants
    # are reported without their null/defective class.
    rng = rngs["genotyping"]
    if design.not_tested_unit == "family":
        untested = (rng.random(n_families) < design.not_tested)[family]
    else:
        untested = rng.random(n) < design.not_tested
    is_ldlr = np.isin(variant_class, ["ldlr_null", "ldlr_defective"])
    unknown = is_ldlr & (rng.random(n) < design.ldlr_unknown)
    observed_class = np.where(
        untested, "not_tested", np.where(unknown, "ldlr_unknown", variant_class)
    )

    # Which patients have diet records, microbiome samples and imaging.
    rng = rngs["sampling"]
    diet_recorded = rng.random(n) < design.diet_recorded
    microbiome_sampled = rng.random(n) < design.microbiome_sampled
    cac_at_entry = rng.random(n) < design.cac_at_entry
    cac_repeat = cac_at_entry & (rng.random(n) < design.cac_repeat)
    plaque_at_entry = rng.random(n) < design.plaque_at_entry
    plaque_repeat = plaque_at_entry & (rng.random(n) < design.plaque_repeat)

    # Administrative censoring at the study's end, loss to follow-up, visits.
    rng = rngs["follow_up"]
    entry_offset = rng.uniform(0.0, design.recruitment_years, n)
    admin_censor = np.round(design.study_years - entry_offset, TIME_DECIMALS)
    lost = rng.exponential(1.0 / design.loss_to_follow_up_rate, n)
    censor_time = np.round(np.minimum(admin_censor, lost), TIME_DECIMALS)
    censor_time = np.maximum(censor_time, 1.0 / DAYS_PER_YEAR)
    visits = _visits(censor_time, design, rng)

    width = max(5, len(str(n)))
    return Design(
        patient_id=np.array([f"P{i + 1:0{width}d}" for i in range(n)], dtype=object),
        family=family,
        family_id=np.array([f"F{f + 1:0{width}d}" for f in family], dtype=object),
        is_index=is_index,
        centre=centre,
        male=male,
        age_at_entry=age,
        variant_class=variant_class.astype(object),
        observed_class=observed_class.astype(object),
        prs=np.round(prs, 3),
        smoking=smoking,
        diabetes=diabetes,
        sbp=sbp,
        hypertension=hypertension,
        prior_ascvd=prior_ascvd,
        lpa=lpa,
        diet_score=np.round(diet_score, 3),
        diet_recorded=diet_recorded,
        z=z,
        microbiome_sampled=microbiome_sampled,
        cac_at_entry=cac_at_entry,
        cac_repeat=cac_repeat,
        plaque_at_entry=plaque_at_entry,
        plaque_repeat=plaque_repeat,
        admin_censor=admin_censor,
        censor_time=censor_time,
        visits=visits,
        centre_names=tuple(design.centres),
    )
