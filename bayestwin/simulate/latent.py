r"""True LDL-C trajectories and atherosclerotic burden, with exact piecewise integrals.

Between two treatment changes a patient's LDL-C is an exponential in age,

.. math:: L_i(\tau) = \exp(c + b_i \tau), \qquad b_i = v_i / 10,

where the intercept :math:`c` holds u_i, the reference age and the summed
treatment shifts :math:`\sum_j h_{ij} r_{i,g(j)} \log(1 - E_j)`. The burden
:math:`B_i = s_i \int_0^{a_i + t} (L_i - L_\text{thr})\,d\tau` is therefore a
sum of closed-form pieces, each
:math:`e^{c + b\tau_0} \Delta\,\operatorname{expm1}(b\Delta)/(b\Delta)
- L_\text{thr}\Delta`.
`Trajectories` cuts each patient's life, from birth, into these segments and
evaluates LDL-C and the burden at any time without numerical integration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayestwin.data.vocabulary import DRUGS
from bayestwin.simulate.config import (
    DRUG_GROUPS,
    FACTORS,
    SUSCEPTIBILITY_COVARIATES,
    PopulationParameters,
)

# Patient i's times are stored as i * _KEY_STRIDE + (t + _KEY_OFFSET), so one
# sorted array serves every patient. Times must lie in (-200, 800) years.
_KEY_STRIDE = 1000.0
_KEY_OFFSET = 200.0


def _keys(patient: np.ndarray, time: np.ndarray) -> np.ndarray:
    return patient * _KEY_STRIDE + (time + _KEY_OFFSET)


def expm1_ratio(x: np.ndarray) -> np.ndarray:
    """Return expm1(x) / x, equal to 1 + x/2 near zero."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-8
    ratio = np.divide(np.expm1(x), x, out=np.ones_like(x), where=~small)
    ratio[small] = 1.0 + 0.5 * x[small]
    return ratio


def lowering_fraction(drug: str, dose_mg: float, params: PopulationParameters) -> float:
    """Return the fraction E of LDL-C that `drug` at `dose_mg` removes at full response.

    Statins follow the Emax curve in atorvastatin-equivalent mg; the other
    classes have one fraction each, whatever the dose.

    Raises
    ------
    ValueError
        When the drug is not in the catalogue or has no lipid-lowering effect,
        or a statin has no positive dose.

    """
    info = DRUGS.get(drug)
    if info is None:
        raise ValueError(f"unknown drug {drug!r}; valid drugs are {sorted(DRUGS)}")
    if info.drug_class == "statin":
        if not np.isfinite(dose_mg) or dose_mg <= 0:
            raise ValueError(f"statin {drug!r} needs a positive dose_mg, got {dose_mg!r}")
        equivalent = dose_mg * info.atorvastatin_equivalence
        return params.statin_emax * equivalent / (params.statin_ed50 + equivalent)
    effects = {
        "ezetimibe": params.effect_ezetimibe,
        "pcsk9_antibody": params.effect_pcsk9_antibody,
        "pcsk9_sirna": params.effect_pcsk9_sirna,
        "bempedoic_acid": params.effect_bempedoic_acid,
    }
    if info.drug_class not in effects:
        raise ValueError(
            f"drug {drug!r} of class {info.drug_class!r} has no LDL-C effect in the model"
        )
    return effects[info.drug_class]


def treatment_log_shift(
    rows: pd.DataFrame, responsiveness: np.ndarray, params: PopulationParameters
) -> np.ndarray:
    """Return h r log(1 - E) for each treatment row.

    Parameters
    ----------
    rows
        Columns ``patient`` (row position of the patient), ``drug``,
        ``dose_mg`` and ``adherence``.
    responsiveness
        Array (patient, 2): r for the statin and the non-statin group.
    params
        Population parameters with the drug effects.

    """
    log_remaining = np.array(
        [
            np.log1p(-lowering_fraction(drug, dose, params))
            for drug, dose in zip(rows["drug"], rows["dose_mg"].to_numpy(float), strict=True)
        ]
    )
    is_statin = np.array([DRUGS[drug].drug_class == "statin" for drug in rows["drug"]], dtype=bool)
    patient = rows["patient"].to_numpy(int)
    r = np.where(is_statin, responsiveness[patient, 0], responsiveness[patient, 1])
    return rows["adherence"].to_numpy(float) * r * log_remaining


@dataclass(frozen=True)
class PatientLatents:
    """Per-patient latent values that fix the untreated trajectory and the burden scale.

    Attributes
    ----------
    age_at_entry
        Age at entry, years.
    u
        Log untreated LDL-C at the reference age, log mmol/L.
    v
        Age slope of log untreated LDL-C, per decade.
    log_s
        Log susceptibility (burden scale).
    responsiveness
        Array (patient, 2): r for statins and for the non-statin drugs.

    """

    age_at_entry: np.ndarray
    u: np.ndarray
    v: np.ndarray
    log_s: np.ndarray
    responsiveness: np.ndarray

    @property
    def n_patients(self) -> int:
        """Number of patients."""
        return len(self.u)


class Trajectories:
    """Exact LDL-C and burden paths of a set of patients under given treatment rows.

    Parameters
    ----------
    latents
        Per-patient latent values.
    rows
        Treatment periods with columns ``patient`` (row position), ``drug``,
        ``dose_mg``, ``start``, ``stop`` (years since entry; NaN or inf while
        ongoing) and ``adherence``. A period is active on [start, stop).
    params
        Population parameters.

    """

    def __init__(self, latents: PatientLatents, rows: pd.DataFrame, params: PopulationParameters):
        self.latents = latents
        self.params = params
        n = latents.n_patients
        age = latents.age_at_entry
        birth = -age

        # Breakpoints: birth plus every finite start and stop after birth.
        patient_rows = rows["patient"].to_numpy(int)
        start = rows["start"].to_numpy(float)
        stop = rows["stop"].to_numpy(float)
        stop = np.where(np.isnan(stop), np.inf, stop)
        if np.any(stop < start):
            raise ValueError("a treatment row stops before it starts")
        if np.any(start < birth[patient_rows] - 1e-9):
            raise ValueError("a treatment row starts before the patient's birth")
        point_patient = np.concatenate(
            [np.arange(n), patient_rows, patient_rows[np.isfinite(stop)]]
        )
        point_time = np.concatenate([birth, start, stop[np.isfinite(stop)]])
        keys = np.unique(_keys(point_patient, point_time))
        seg_patient = np.floor(keys / _KEY_STRIDE).astype(int)
        seg_t0 = keys - seg_patient * _KEY_STRIDE - _KEY_OFFSET
        last = np.append(seg_patient[1:] != seg_patient[:-1], True)
        seg_t1 = np.where(last, np.inf, np.append(seg_t0[1:], np.inf))
        self._keys = keys

        # Summed log shifts of the rows active on each segment (a difference array).
        shift = (
            treatment_log_shift(rows, latents.responsiveness, params) if len(rows) else np.zeros(0)
        )
        first = np.searchsorted(keys, _keys(patient_rows, start), side="left")
        block_end = np.searchsorted(keys, (patient_rows + 1) * _KEY_STRIDE, side="left")
        after = np.where(
            np.isfinite(stop),
            np.searchsorted(
                keys, _keys(patient_rows, np.where(np.isfinite(stop), stop, 0.0)), side="left"
            ),
            block_end,
        )
        difference = np.zeros(len(keys) + 1)
        np.add.at(difference, first, shift)
        np.add.at(difference, after, -shift)
        seg_shift = np.cumsum(difference)[:-1]

        # Closed-form integral of L - threshold over each finite segment, in age.
        b = latents.v[seg_patient] / 10.0
        intercept = (
            latents.u[seg_patient]
            - latents.v[seg_patient] * params.ldl_reference_age / 10.0
            + seg_shift
        )
        tau0 = age[seg_patient] + seg_t0
        width = np.where(np.isfinite(seg_t1), seg_t1 - seg_t0, 0.0)
        piece = np.exp(intercept + b * tau0) * width * expm1_ratio(b * width)
        piece = piece - params.ldl_threshold * width
        s = np.exp(latents.log_s)
        piece = s[seg_patient] * piece
        running = np.cumsum(piece)
        block_start = np.searchsorted(seg_patient, seg_patient, side="left")
        before = running - piece
        self.seg_patient = seg_patient
        self.seg_t0 = seg_t0
        self.seg_t1 = seg_t1
        self.seg_shift = seg_shift
        self.seg_intercept = intercept
        self.seg_burden_start = before - (running[block_start] - piece[block_start])

    def segment_of(self, patient: np.ndarray, time: np.ndarray) -> np.ndarray:
        """Return the index of the segment that contains each (patient, time)."""
        patient = np.asarray(patient, dtype=int)
        time = np.asarray(time, dtype=float)
        birth = -self.latents.age_at_entry[patient]
        if np.any(time < birth - 1e-9):
            raise ValueError("a requested time lies before the patient's birth")
        return (
            np.searchsorted(self._keys, _keys(patient, np.maximum(time, birth)), side="right") - 1
        )

    def log_ldl(self, patient: np.ndarray, time: np.ndarray, *, segment: np.ndarray | None = None):
        """Return log LDL-C (log mmol/L) at years since entry `time`."""
        patient = np.asarray(patient, dtype=int)
        time = np.asarray(time, dtype=float)
        seg = self.segment_of(patient, time) if segment is None else segment
        age = self.latents.age_at_entry[patient] + time
        return self.seg_intercept[seg] + self.latents.v[patient] / 10.0 * age

    def untreated_log_ldl(self, patient: np.ndarray, time: np.ndarray) -> np.ndarray:
        """Return log untreated LDL-C, log L0, at years since entry `time`."""
        patient = np.asarray(patient, dtype=int)
        age = self.latents.age_at_entry[patient] + np.asarray(time, dtype=float)
        reference = self.params.ldl_reference_age
        return self.latents.u[patient] + self.latents.v[patient] * (age - reference) / 10.0

    def burden(self, patient: np.ndarray, time: np.ndarray, *, segment: np.ndarray | None = None):
        """Return the burden B (mmol/L-years of weighted excess exposure) at `time`."""
        patient = np.asarray(patient, dtype=int)
        time = np.asarray(time, dtype=float)
        seg = self.segment_of(patient, time) if segment is None else segment
        b = self.latents.v[patient] / 10.0
        age0 = self.latents.age_at_entry[patient] + self.seg_t0[seg]
        width = time - self.seg_t0[seg]
        piece = np.exp(self.seg_intercept[seg] + b * age0) * width * expm1_ratio(b * width)
        piece = piece - self.params.ldl_threshold * width
        return self.seg_burden_start[seg] + np.exp(self.latents.log_s[patient]) * piece

    def floored_burden(self, patient: np.ndarray, time: np.ndarray, *, segment=None) -> np.ndarray:
        """Return the burden floored smoothly: eps * log(1 + exp(B / eps)), eps = `burden_floor`."""
        eps = self.params.burden_floor
        return eps * np.logaddexp(0.0, self.burden(patient, time, segment=segment) / eps)


@dataclass(frozen=True)
class LatentDraws:
    """Latent values drawn for a cohort, with the pieces that make them.

    Attributes
    ----------
    latents
        What the trajectories need (u, v, log s, responsiveness).
    centre_effect
        Effect of each centre of the design, in the design's centre order.
    family_effect
        Effect of each patient's family (one value per patient).
    susceptibility_design
        The standardised covariates w (patient, covariate).

    """

    latents: PatientLatents
    centre_effect: np.ndarray
    family_effect: np.ndarray
    susceptibility_design: np.ndarray


def susceptibility_design(
    *,
    lpa: np.ndarray,
    sbp: np.ndarray,
    smoking: np.ndarray,
    diabetes: np.ndarray,
    prs: np.ndarray,
    z: np.ndarray,
    params: PopulationParameters,
) -> np.ndarray:
    """Return w (patient, covariate) in the order of `SUSCEPTIBILITY_COVARIATES`.

    Lp(a) enters as its logarithm; each column is (value - centre) / scale
    with the fixed constants of `params`, not the sample mean and SD.
    """
    raw = {
        "lpa": np.log(lpa),
        "sbp": np.asarray(sbp, dtype=float),
        "smoking": (np.asarray(smoking) == "current").astype(float),
        "diabetes": np.asarray(diabetes, dtype=float),
        "prs": np.asarray(prs, dtype=float),
        "z1": z[:, 0],
        "z2": z[:, 1],
    }
    centre, scale = params.susceptibility_centre, params.susceptibility_scale
    return np.column_stack(
        [(raw[name] - centre[name]) / scale[name] for name in SUSCEPTIBILITY_COVARIATES]
    )


def draw_latents(design, params: PopulationParameters, rng: np.random.Generator) -> LatentDraws:
    """Draw centre and family effects, u, v, responsiveness and susceptibility.

    Parameters
    ----------
    design
        A `bayestwin.simulate.design.Design`.
    params
        Population parameters.
    rng
        Generator used for these draws only.

    """
    n = design.n_patients
    centre_names = list(design.centre_names)
    centre_effect = rng.normal(0.0, params.sigma_centre, len(centre_names))
    centre_position = {name: i for i, name in enumerate(centre_names)}
    family_effect = rng.normal(0.0, params.sigma_family, int(design.family.max()) + 1)[
        design.family
    ]
    patient_noise = rng.normal(size=n)
    slope_noise = rng.normal(size=n)
    response_noise = rng.normal(size=(n, 2))
    susceptibility_noise = rng.normal(size=n)

    beta_variant = np.array([params.beta_variant[name] for name in design.variant_class])
    u = (
        params.mu_u
        + beta_variant
        + params.beta_prs * design.prs
        + params.beta_male * design.male
        + params.beta_diet * design.diet_score
        + design.z @ np.array([params.beta_z[name] for name in FACTORS])
        + centre_effect[[centre_position[c] for c in design.centre]]
        + family_effect
        + params.sigma_u * patient_noise
    )
    v = params.mu_v + params.sigma_v * slope_noise
    sigma_r = np.array([params.sigma_r[group] for group in DRUG_GROUPS])
    responsiveness = np.exp(sigma_r * response_noise)
    w = susceptibility_design(
        lpa=design.lpa,
        sbp=design.sbp,
        smoking=design.smoking,
        diabetes=design.diabetes,
        prs=design.prs,
        z=design.z,
        params=params,
    )
    gamma = np.array([params.gamma[name] for name in SUSCEPTIBILITY_COVARIATES])
    log_s = w @ gamma + params.sigma_s * susceptibility_noise
    latents = PatientLatents(design.age_at_entry, u, v, log_s, responsiveness)
    return LatentDraws(latents, centre_effect, family_effect, w)
