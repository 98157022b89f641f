"""Treatment histories: statin use before entry, then treat-to-target care at each visit.

Decisions use only data a clinician has (the observed LDL-C at the visit,
prior ASCVD, the current prescription) and never a latent value. The
treatment process is therefore ignorable for the likelihood. A change decided at a
visit takes effect the next day, so a visit's lipid panel reflects the
prescription in force before the visit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayestwin.simulate.config import DesignSettings, PopulationParameters
from bayestwin.simulate.design import DAYS_PER_YEAR, Design, days_to_years
from bayestwin.simulate.latent import PatientLatents, lowering_fraction

# Statin ladder by prescribing habit (track): level 1 is low intensity, 2-3
# moderate, 4-5 high (ACC/AHA bands). The simvastatin track switches to
# atorvastatin at high intensity.
STATIN_LADDER: tuple[tuple[tuple[str, float], ...], ...] = (
    (
        ("simvastatin", 10.0),
        ("atorvastatin", 10.0),
        ("atorvastatin", 20.0),
        ("atorvastatin", 40.0),
        ("atorvastatin", 80.0),
    ),
    (
        ("pravastatin", 20.0),
        ("rosuvastatin", 5.0),
        ("rosuvastatin", 10.0),
        ("rosuvastatin", 20.0),
        ("rosuvastatin", 40.0),
    ),
    (
        ("simvastatin", 10.0),
        ("simvastatin", 20.0),
        ("simvastatin", 40.0),
        ("atorvastatin", 40.0),
        ("atorvastatin", 80.0),
    ),
)
TRACK_SHARES = (0.45, 0.35, 0.20)  # assumption
PCSK9_CHOICES: tuple[tuple[str, float], ...] = (("evolocumab", 140.0), ("alirocumab", 150.0))
ENTRY_LEVEL_SHARES = {2: 0.20, 3: 0.25, 4: 0.35, 5: 0.20}  # assumption
EZETIMIBE_AT_ENTRY = 0.25  # assumption: share of patients treated at entry
# Assumption: share of patients on a high-intensity statin plus ezetimibe at
# entry who also take a PCSK9 antibody.
PCSK9_AT_ENTRY_ON_MAXIMAL = 0.20
ONE_DAY = 1.0 / DAYS_PER_YEAR


@dataclass(frozen=True)
class TreatmentHistory:
    """Simulated prescriptions and the LDL-C seen at each visit.

    Attributes
    ----------
    rows
        Treatment periods: ``patient`` (position), ``drug``, ``dose_mg``
        (NaN where no dose applies), ``start``, ``stop`` (inf while ongoing
        at censoring), ``adherence``.
    adherence
        Per-patient fraction of doses taken.
    visit_ldl
        Observed LDL-C (mmol/L, rounded to 3 decimals) at each visit of
        `Design.visits`, NaN where there is no visit.
    visit_log_ldl_true
        True log LDL-C at each visit.
    first_statin_start
        Start of the first statin before entry (NaN when untreated at entry).

    """

    rows: pd.DataFrame
    adherence: np.ndarray
    visit_ldl: np.ndarray
    visit_log_ldl_true: np.ndarray
    first_statin_start: np.ndarray


def _statin_log_remaining(params: PopulationParameters) -> np.ndarray:
    """Return log(1 - E) by (track, level), with level 0 (no statin) = 0."""
    table = np.zeros((len(STATIN_LADDER), 6))
    for track, ladder in enumerate(STATIN_LADDER):
        for level, (drug, dose) in enumerate(ladder, start=1):
            table[track, level] = np.log1p(-lowering_fraction(drug, dose, params))
    return table


def _draw_adherence(n: int, design: DesignSettings, rng) -> np.ndarray:
    non_adherent = rng.random(n) < design.non_adherent
    low = design.adherent_min
    adherent = low + (1.0 - low) * rng.beta(*design.adherent_beta, n)
    return np.round(np.where(non_adherent, rng.uniform(0.0, 0.1, n), adherent), 2)


def _runs(codes: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return (patient, code, start, stop) of runs of equal nonzero codes.

    `codes` and `times` are arrays (patient, step). A run starts at the time
    of its first step and stops at the time of the next change (inf if none).
    """
    change = np.ones_like(codes, dtype=bool)
    change[:, 1:] = codes[:, 1:] != codes[:, :-1]
    patient, step = np.nonzero(change)
    code = codes[patient, step]
    start = times[patient, step]
    same_next = np.append(patient[1:] == patient[:-1], False)
    stop = np.where(same_next, np.append(start[1:], np.inf), np.inf)
    keep = code != 0
    return patient[keep], code[keep], start[keep], stop[keep]


def simulate_treatments(
    design: Design,
    latents: PatientLatents,
    params: PopulationParameters,
    settings: DesignSettings,
    *,
    rng: np.random.Generator,
    visit_noise: np.ndarray,
) -> TreatmentHistory:
    """Simulate prescriptions before entry and treat-to-target changes at visits.

    Parameters
    ----------
    design
        Patients, visits and baseline covariates.
    latents
        Untreated trajectory and responsiveness of each patient.
    params, settings
        Population parameters and design settings.
    rng
        Generator for the prescribing decisions.
    visit_noise
        Standard Student-t draws (patient, visit) for the visit LDL-C.

    """
    n = design.n_patients
    visits = design.visits
    n_visits = visits.shape[1]
    statin_table = _statin_log_remaining(params)
    eze_log = np.log1p(-params.effect_ezetimibe)
    pcsk9_log = np.log1p(-params.effect_pcsk9_antibody)
    adherence = _draw_adherence(n, settings, rng)
    r_statin = latents.responsiveness[:, 0]
    r_other = latents.responsiveness[:, 1]

    # State at entry, with the pre-entry starts of the entry regimen.
    share_treated = np.where(
        design.is_index, settings.treated_at_entry_index, settings.treated_at_entry_relative
    )
    treated = rng.random(n) < share_treated
    track = rng.choice(len(STATIN_LADDER), size=n, p=TRACK_SHARES)
    levels = np.array(list(ENTRY_LEVEL_SHARES))
    level = np.where(treated, rng.choice(levels, size=n, p=list(ENTRY_LEVEL_SHARES.values())), 0)
    eze = treated & (rng.random(n) < EZETIMIBE_AT_ENTRY)
    pcsk9 = np.where(
        treated & (level >= 4) & eze & (rng.random(n) < PCSK9_AT_ENTRY_ON_MAXIMAL),
        rng.integers(1, len(PCSK9_CHOICES) + 1, n),
        0,
    )
    years_before = np.minimum(
        rng.exponential(settings.years_treated_before_entry, n),
        np.maximum(design.age_at_entry - 18.0, 0.2),
    )
    first_start_days = -np.maximum(np.round(years_before * DAYS_PER_YEAR), 2)
    first_start = np.where(treated, days_to_years(first_start_days), np.nan)
    stepped_up = treated & (level >= 2) & (rng.random(n) < 0.6)
    initial_level = np.where(stepped_up, np.maximum(level - rng.integers(1, 3, n), 1), level)
    switch_days = np.round(first_start_days * rng.uniform(0.05, 0.95, n))
    switch_time = np.where(stepped_up, days_to_years(np.minimum(switch_days, -1)), first_start)
    eze_start = days_to_years(np.minimum(np.round(first_start_days * rng.uniform(0, 0.9, n)), -1))
    pcsk9_start = days_to_years(np.minimum(np.round(-rng.uniform(30, 3 * DAYS_PER_YEAR, n)), -1))
    pcsk9_start = np.maximum(pcsk9_start, first_start + ONE_DAY)

    # Visit loop, vectorised over patients: measure, then decide.
    goal = np.where(design.prior_ascvd, settings.goal_secondary, settings.goal_primary)
    codes = {name: np.zeros((n, n_visits + 1), dtype=int) for name in ("statin", "eze", "pcsk9")}
    codes["statin"][:, 0] = np.where(level > 0, track * 10 + level, 0)
    codes["eze"][:, 0] = eze
    codes["pcsk9"][:, 0] = pcsk9
    visit_ldl = np.full((n, n_visits), np.nan)
    visit_log_true = np.full((n, n_visits), np.nan)
    for k in range(n_visits):
        here = ~np.isnan(visits[:, k])
        time = np.where(here, visits[:, k], 0.0)
        age = design.age_at_entry + time
        log_l = latents.u + latents.v * (age - params.ldl_reference_age) / 10.0
        log_l = log_l + adherence * r_statin * statin_table[track, level]
        log_l = log_l + adherence * r_other * (eze * eze_log + (pcsk9 > 0) * pcsk9_log)
        observed = np.round(np.exp(log_l + params.sigma_lab * visit_noise[:, k]), 3)
        visit_log_true[here, k] = log_l[here]
        visit_ldl[here, k] = observed[here]

        above = here & (observed > goal)
        draws = rng.random((n, 5))
        untreated = level == 0
        start_now = (
            above
            & untreated
            & (
                draws[:, 0]
                < np.where(k == 0, settings.start_at_entry_visit, settings.escalate_at_visit)
            )
        )
        escalate = above & ~untreated & (draws[:, 0] < settings.escalate_at_visit)
        can_level = level < 5
        add_eze = escalate & ~eze & (~can_level | ((level >= 4) & (draws[:, 1] < 0.4)))
        level_up = escalate & ~add_eze & can_level
        add_pcsk9 = (
            escalate
            & ~add_eze
            & ~can_level
            & (pcsk9 == 0)
            & (observed > settings.pcsk9_threshold)
            & (draws[:, 2] < settings.pcsk9_when_eligible)
        )
        switch = (
            here & ~untreated & ~start_now & ~level_up & (draws[:, 3] < settings.switch_molecule)
        )

        level = np.where(start_now, np.where(draws[:, 4] < 0.5, 3, 4), level)
        level = np.where(level_up, level + 1, level)
        eze = eze | add_eze
        pcsk9 = np.where(add_pcsk9, 1 + (draws[:, 4] < 0.5), pcsk9)
        track = np.where(switch, np.where(track == 1, 0, 1), track)
        codes["statin"][:, k + 1] = np.where(level > 0, track * 10 + level, 0)
        codes["eze"][:, k + 1] = eze
        codes["pcsk9"][:, k + 1] = pcsk9

    # Runs of constant prescriptions become treatment rows.
    change_times = np.concatenate([np.zeros((n, 1)), np.round(visits + ONE_DAY, 4)], axis=1)
    change_times = np.where(np.isnan(change_times), np.inf, change_times)
    frames = []
    for name, entry_start in (("statin", switch_time), ("eze", eze_start), ("pcsk9", pcsk9_start)):
        times = change_times.copy()
        times[:, 0] = np.where(np.isfinite(entry_start), entry_start, 0.0)
        patient, code, start, stop = _runs(codes[name], times)
        if name == "statin":
            drug_dose = [STATIN_LADDER[c // 10][c % 10 - 1] for c in code]
        elif name == "eze":
            drug_dose = [("ezetimibe", 10.0)] * len(code)
        else:
            drug_dose = [PCSK9_CHOICES[c - 1] for c in code]
        frames.append(
            pd.DataFrame(
                {
                    "patient": patient,
                    "drug": [d for d, _ in drug_dose],
                    "dose_mg": [dose for _, dose in drug_dose],
                    "start": start,
                    "stop": stop,
                }
            )
        )
    initial = np.flatnonzero(stepped_up)
    frames.append(
        pd.DataFrame(
            {
                "patient": initial,
                "drug": [
                    STATIN_LADDER[track_entry][lv - 1][0]
                    for track_entry, lv in zip(
                        codes["statin"][initial, 0] // 10, initial_level[initial], strict=True
                    )
                ],
                "dose_mg": [
                    STATIN_LADDER[track_entry][lv - 1][1]
                    for track_entry, lv in zip(
                        codes["statin"][initial, 0] // 10, initial_level[initial], strict=True
                    )
                ],
                "start": first_start[initial],
                "stop": switch_time[initial],
            }
        )
    )
    rows = pd.concat(frames, ignore_index=True)
    rows["adherence"] = adherence[rows["patient"].to_numpy(int)]
    rows = rows.sort_values(["patient", "start", "drug"], kind="mergesort", ignore_index=True)
    return TreatmentHistory(
        rows=rows,
        adherence=adherence,
        visit_ldl=visit_ldl,
        visit_log_ldl_true=visit_log_true,
        first_statin_start=first_start,
    )
