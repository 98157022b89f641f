"""Turn a `Cohort` and a `ModelSpec` into the arrays the NumPyro model reads.

Everything here runs once on the host with NumPy and pandas. Each patient's
life from birth to the end of follow-up is cut into pieces at every treatment
change, and every observation, quadrature node and event time is attached to
the piece it falls in, so the model only gathers and never searches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayestwin.data.cohort import Cohort
from bayestwin.data.vocabulary import DRUGS, VARIANT_CLASSES
from bayestwin.exceptions import CohortError, SpecError
from bayestwin.model.quadrature import bspline_basis, map_nodes, spline_knots
from bayestwin.spec import ModelSpec

NONSTATIN_CLASSES = ("ezetimibe", "pcsk9_antibody", "pcsk9_sirna", "bempedoic_acid")
"""Lipid-lowering classes other than statins, in the order of the design's class axis."""

TIME_VARYING_MARKERS = {"sbp": "sbp", "smoking": "smoking_current", "diabetes": "diabetes"}
"""Measurement marker of each time-varying susceptibility covariate (values 0/1 but SBP)."""

MODEL_VARIANT_CLASSES = tuple(c for c in VARIANT_CLASSES if c != "not_tested")
"""Variant classes the model estimates; ``not_tested`` is marginalised over these."""


@dataclass
class Design:
    """Arrays for one cohort under one model, with the coordinates of each axis.

    Shapes use N patients, S treatment pieces per patient (padded), Q quadrature
    nodes per piece, M lipid observations and K spline coefficients. All times
    are ages in years on the ``age`` time scale, and years since entry on the
    ``time`` scale.
    """

    patient_ids: np.ndarray
    time_scale: str
    origin: np.ndarray  # age at entry (age scale) or 0 (time scale), per patient
    entry: np.ndarray  # start of the risk window on the model's time axis
    exit: np.ndarray  # end of the risk window (first endpoint event or censoring)
    covariates: dict[str, np.ndarray] = field(default_factory=dict)
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    coords: dict[str, list] = field(default_factory=dict)
    info: dict[str, object] = field(default_factory=dict)

    @property
    def n_patients(self) -> int:
        """Number of patients."""
        return len(self.patient_ids)


def _missing_table(spec: ModelSpec, block: str, table: str, detail: str) -> CohortError:
    from bayestwin.data.problems import Problem

    return CohortError([Problem(
        file=table, row=None, column=None, value=None,
        message=f"model '{spec.name}' switches on the {block} block, which needs {detail}",
        fix=f"add the {table} table to the cohort or set {block} = false in [blocks] "
            f"of {spec.source or spec.name}",
    )])


def _first_value(measurements: pd.DataFrame, marker: str, ids: pd.Index,
                 unit: str | None = None) -> np.ndarray:
    rows = measurements[measurements["marker"] == marker]
    if unit is not None:
        rows = rows[rows["unit"] == unit]
    first = rows.sort_values(["patient_id", "time"]).groupby("patient_id")["value"].first()
    return first.reindex(ids).to_numpy(dtype=float)


def _treatment_pieces(cohort: Cohort, origin: np.ndarray, stop_age: np.ndarray,
                      time_scale: str, extra_points: list[np.ndarray] | None = None,
                      ) -> dict[str, np.ndarray]:
    """Cut each patient's axis at treatment changes and sum the active treatments per piece.

    `extra_points` adds more cuts per patient on the model's axis (the
    measurement times of time-varying susceptibility covariates).
    """
    ids = cohort.patients.index
    index_of = pd.Series(np.arange(len(ids)), index=ids)
    treatments = cohort.treatments.copy()
    treatments = treatments[treatments["patient_id"].isin(ids)]
    drug_class = treatments["drug"].map(lambda d: DRUGS[d].drug_class if d in DRUGS else "other")
    lipid = drug_class.isin(("statin",) + NONSTATIN_CLASSES)
    treatments = treatments[lipid.to_numpy()].assign(drug_class=drug_class[lipid].to_numpy())

    pid = index_of[treatments["patient_id"]].to_numpy()
    axis_start = 0.0 if time_scale == "time" else None
    start = treatments["start"].to_numpy(float) + origin[pid]
    stop = treatments["stop"].to_numpy(float) + origin[pid]
    stop = np.where(np.isnan(stop), np.inf, stop)
    lower = np.zeros(len(ids)) if axis_start is None else origin.copy()

    # Breakpoints per patient: every start and stop inside the patient's axis.
    points = [[] for _ in range(len(ids))]
    for p, a, b in zip(pid, start, stop, strict=True):
        for value in (a, b):
            if lower[p] < value < stop_age[p]:
                points[p].append(value)
    for p, values in enumerate(extra_points or []):
        points[p].extend(v for v in values if lower[p] < v < stop_age[p])
    bounds = [np.unique(np.concatenate([[lower[p]], pts, [stop_age[p]]]))
              for p, pts in enumerate(points)]
    n_pieces = max(len(b) - 1 for b in bounds)
    piece_start = np.empty((len(ids), n_pieces))
    piece_stop = np.empty((len(ids), n_pieces))
    for p, b in enumerate(bounds):
        k = len(b) - 1
        piece_start[p, :k], piece_stop[p, :k] = b[:-1], b[1:]
        piece_start[p, k:], piece_stop[p, k:] = b[-1], b[-1]

    statin_dose = np.zeros((len(ids), n_pieces))
    statin_adherence = np.zeros((len(ids), n_pieces))
    class_adherence = np.zeros((len(ids), n_pieces, len(NONSTATIN_CLASSES)))
    adherence = (treatments["adherence"].to_numpy(float) if "adherence" in treatments
                 else np.full(len(treatments), np.nan))
    adherence = np.where(np.isnan(adherence), 1.0, np.clip(adherence, 0.0, 1.0))
    dose = treatments["dose_mg"].to_numpy(float)
    classes = treatments["drug_class"].to_numpy()
    drugs = treatments["drug"].to_numpy()
    for row in range(len(treatments)):
        p = pid[row]
        active = (piece_start[p] >= start[row] - 1e-12) & (piece_start[p] < stop[row] - 1e-12) & (
            piece_stop[p] > piece_start[p])
        if classes[row] == "statin":
            equivalent = dose[row] * DRUGS[drugs[row]].atorvastatin_equivalence
            statin_dose[p, active] += equivalent
            statin_adherence[p, active] = np.maximum(statin_adherence[p, active], adherence[row])
        else:
            c = NONSTATIN_CLASSES.index(classes[row])
            class_adherence[p, active, c] = np.maximum(class_adherence[p, active, c],
                                                       adherence[row])
    return {
        "piece_start": piece_start, "piece_stop": piece_stop, "statin_dose": statin_dose,
        "statin_adherence": statin_adherence, "class_adherence": class_adherence,
    }


def locate_piece(piece_start: np.ndarray, patient: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Return, for each (patient, time), the index of the piece that contains the time."""
    starts = piece_start[patient]
    index = (starts <= at[:, None] + 1e-12).sum(axis=1) - 1
    return np.clip(index, 0, piece_start.shape[1] - 1)


REFERENCE_KEYS = ("knots", "lpa_missing_prior", "sbp_missing_prior", "taxon", "factor_anchor")
"""Design constants a fit records, so that new patients get the same arrays."""


def design_reference(design: Design) -> dict:
    """Return the constants that fix the arrays of `design` (JSON-serialisable)."""
    reference = {}
    for key in REFERENCE_KEYS:
        value = design.coords.get(key) if key == "taxon" else design.info.get(key)
        if value is not None:
            reference[key] = np.asarray(value).tolist() if not isinstance(value, list) else value
    return reference


def build_design(cohort: Cohort, spec: ModelSpec, *, reference: dict | None = None) -> Design:
    """Build the model arrays for `cohort` under `spec`.

    `reference` contains the constants of a fitted cohort (spline knots,
    standardisation of covariates, taxa): given it, patients outside the fit
    get arrays on the fit's scales. Without it they come from `cohort`.

    Raises
    ------
    CohortError
        A block is switched on whose data the cohort lacks (for example the
        microbiome block without a microbiome table).
    SpecError
        A model-file option that does not fit the cohort (for example an event
        covariate that is not a patients column).

    """
    patients = cohort.patients
    ids = patients.index
    n = len(ids)
    time_scale = spec.time_scale
    reference = reference or {}
    age = patients["age_at_entry"].to_numpy(float)
    origin = age if time_scale == "age" else np.zeros(n)

    # Stage 1: the risk window, ended by the first endpoint event.
    events = cohort.events
    endpoint = events[events["event"].isin(spec.endpoint_events)]
    first_event = endpoint.groupby("patient_id")["time"].min().reindex(ids).to_numpy(float)
    competing = events[events["event"].isin(spec.competing_events)]
    first_competing = competing.groupby("patient_id")["time"].min().reindex(ids).to_numpy(float)
    end_time = patients["end_time"].to_numpy(float)
    exit_time = np.fmin(end_time, first_event)
    event_flag = np.isfinite(first_event) & (first_event <= end_time)
    competing_flag = (np.isfinite(first_competing) & (first_competing <= exit_time)
                      & ~event_flag)
    exit_time = np.where(competing_flag, np.fmin(exit_time, first_competing), exit_time)

    design = Design(
        patient_ids=np.asarray(ids, dtype=str), time_scale=time_scale, origin=origin,
        entry=origin.copy(), exit=origin + exit_time,
    )
    design.info["reference"] = reference
    design.coords["patient"] = [str(i) for i in ids]
    design.covariates["male"] = (patients["sex"] == "M").to_numpy(float)
    design.covariates["female"] = 1.0 - design.covariates["male"]
    design.covariates["age_at_entry"] = age
    for flag in ("prior_ascvd", "diabetes", "hypertension"):
        if flag in patients:
            design.covariates[flag] = patients[flag].fillna(False).astype(float).to_numpy()
    if "smoking" in patients:
        design.covariates["smoking"] = (patients["smoking"] == "current").to_numpy(float)
    design.arrays["event_flag"] = event_flag.astype(float)
    design.arrays["competing_flag"] = competing_flag.astype(float)

    if spec.has("lipids"):
        _add_lipids(design, cohort, spec)
    if spec.has("burden"):
        _add_susceptibility(design, cohort, spec)
    if spec.has("imaging"):
        _add_imaging(design, cohort, spec)
    if spec.has("microbiome"):
        _add_microbiome(design, cohort, spec)
    if spec.has("longitudinal"):
        _add_longitudinal(design, cohort, spec)
    if spec.has("events"):
        _add_events(design, cohort, spec)
    return design


def _add_lipids(design: Design, cohort: Cohort, spec: ModelSpec) -> None:
    lipids = spec.section("lipids")
    patients = cohort.patients
    ids = patients.index
    n = design.n_patients
    index_of = pd.Series(np.arange(n), index=ids)

    # Stage 1: treatment pieces from birth (age scale) to the end of the risk window.
    stop = np.maximum(design.exit, design.origin + patients["end_time"].to_numpy(float))
    extra = None
    if spec.has("burden") and spec.section("burden").time_varying:
        markers = [TIME_VARYING_MARKERS[name] for name in spec.section("burden").time_varying]
        rows = cohort.measurements[cohort.measurements["marker"].isin(markers)]
        at = (design.origin[index_of[rows["patient_id"]].to_numpy()]
              + rows["time"].to_numpy(float))
        by_patient = pd.Series(at).groupby(index_of[rows["patient_id"]].to_numpy())
        extra = [np.array([]) for _ in range(n)]
        for p, values in by_patient:
            extra[int(p)] = np.unique(values.to_numpy())
    pieces = _treatment_pieces(cohort, design.origin, stop, design.time_scale, extra)
    design.arrays.update(pieces)
    design.coords["nonstatin_class"] = list(NONSTATIN_CLASSES)

    # Stage 2: lipid observations on the log scale, each tied to its piece.
    rows = cohort.measurements
    rows = rows[(rows["marker"] == lipids.marker) & (rows["value"] > 0)]
    if rows.empty:
        raise _missing_table(spec, "lipids", "measurements",
                             f"measurements of marker '{lipids.marker}'")
    patient = index_of[rows["patient_id"]].to_numpy()
    at = design.origin[patient] + rows["time"].to_numpy(float)
    design.arrays["obs_patient"] = patient
    design.arrays["obs_time"] = at
    design.arrays["obs_piece"] = locate_piece(pieces["piece_start"], patient, at)
    design.arrays["obs_log_value"] = np.log(rows["value"].to_numpy(float))
    design.coords["obs"] = list(range(len(rows)))
    # Mean time of each patient's lipid measurements: the level there is sampled
    # instead of the level at the reference age, which decorrelates level and slope.
    sums = np.bincount(patient, weights=at, minlength=design.n_patients)
    counts = np.bincount(patient, minlength=design.n_patients)
    fallback = design.origin + patients["end_time"].to_numpy(float) / 2.0
    design.arrays["lipid_centre_time"] = np.where(counts > 0, sums / np.maximum(counts, 1),
                                                  fallback)

    # Stage 3: patient-level covariates of untreated LDL-C.
    covariates = lipids.covariates
    if "variant_class" in covariates:
        classes = list(MODEL_VARIANT_CLASSES)
        if cohort.genomics is not None and "variant_class" in cohort.genomics:
            labels = cohort.genomics["variant_class"].reindex(ids).fillna("not_tested")
        else:
            labels = pd.Series("not_tested", index=ids)
        design.arrays["variant_index"] = np.array(
            [classes.index(v) if v in classes else -1 for v in labels], dtype=int)
        design.coords["variant_class"] = classes
        design.coords["variant_effect"] = [c for c in classes if c != lipids.reference_class]
        design.info["variant_prior"] = _variant_prior(spec, classes)
    if "prs" in covariates or "prs" in spec.section("burden").susceptibility:
        prs = (cohort.genomics["prs"].reindex(ids).to_numpy(float)
               if cohort.genomics is not None and "prs" in cohort.genomics else np.full(n, np.nan))
        design.covariates["prs"] = np.nan_to_num(prs)
        design.masks["prs"] = np.isfinite(prs)
    if "diet" in covariates:
        diet = np.full(n, np.nan)
        if cohort.diet is not None and "diet_score" in cohort.diet:
            first = cohort.diet.sort_values(["patient_id", "time"]).groupby(
                "patient_id")["diet_score"].first()
            diet = first.reindex(ids).to_numpy(float)
        design.covariates["diet"] = np.nan_to_num(diet)
        design.masks["diet"] = np.isfinite(diet)
    for effect, column in (("centre", "centre"), ("family", "family_id")):
        if effect not in lipids.random_effects:
            continue
        labels = (patients[column].astype("string").fillna("") if column in patients
                  else pd.Series("", index=ids))
        # A patient without a centre or family gets a group of their own.
        labels = labels.where(labels != "", "_single_" + pd.Series(ids, index=ids).astype(str))
        codes, uniques = pd.factorize(labels, sort=True)
        design.arrays[f"{effect}_index"] = codes
        design.coords[effect] = [str(u) for u in uniques]


def _variant_prior(spec: ModelSpec, classes: list[str]) -> np.ndarray:
    table = spec.section("lipids").variant_prior
    if not table:
        return np.full(len(classes), 1.0 / len(classes))
    unknown = sorted(set(table) - set(classes))
    if unknown:
        raise SpecError(f"{spec.source}: [lipids] variant_prior has unknown class {unknown[0]!r}. "
                        f"Valid: {', '.join(classes)}.")
    weights = np.array([float(table.get(c, 0.0)) for c in classes])
    if np.any(weights < 0) or weights.sum() <= 0:
        raise SpecError(f"{spec.source}: [lipids] variant_prior must hold non-negative "
                        f"probabilities with a positive sum, got {table!r}.")
    return weights / weights.sum()


def _add_susceptibility(design: Design, cohort: Cohort, spec: ModelSpec) -> None:
    burden = spec.section("burden")
    ids = cohort.patients.index
    names = []
    for name in burden.susceptibility:
        if name == "microbiome":
            continue  # the factors enter from the microbiome block
        names.append(name)
        if name == "lpa":
            # Fixed standardisation from the model file, so that gamma means the same
            # thing in every cohort and for patients outside the fit.
            values = _first_value(cohort.measurements, "lpa", ids, burden.lpa_unit)
            standard = (np.log(np.maximum(values, 0.5) / burden.lpa_reference)
                        / burden.lpa_log_scale)
            design.covariates["lpa"] = np.nan_to_num(standard)
            design.masks["lpa"] = np.isfinite(values)
            observed = standard[np.isfinite(standard)]
            design.info["lpa_missing_prior"] = design.info["reference"].get(
                "lpa_missing_prior",
                (float(observed.mean()), float(observed.std() or 1.0)) if observed.size > 1
                else (0.0, 1.0))
        elif name == "sbp":
            values = _first_value(cohort.measurements, "sbp", ids)
            standard = (values - burden.sbp_reference) / burden.sbp_scale
            design.covariates["sbp"] = np.nan_to_num(standard)
            design.masks["sbp"] = np.isfinite(values)
            observed = standard[np.isfinite(standard)]
            design.info["sbp_missing_prior"] = design.info["reference"].get(
                "sbp_missing_prior",
                (float(observed.mean()), float(observed.std() or 1.0)) if observed.size > 1
                else (0.0, 1.0))
        elif name in ("smoking", "diabetes", "hypertension"):
            if name not in design.covariates:
                raise SpecError(f"{spec.source}: [burden] susceptibility lists {name!r}, "
                                f"but the patients table has no '{name}' column.")
        elif name == "prs" and "prs" not in design.covariates:
            prs = (cohort.genomics["prs"].reindex(ids).to_numpy(float)
                   if cohort.genomics is not None and "prs" in cohort.genomics
                   else np.full(len(ids), np.nan))
            design.covariates["prs"] = np.nan_to_num(prs)
            design.masks["prs"] = np.isfinite(prs)
    design.coords["susceptibility_covariate"] = names
    if burden.time_varying:
        _add_time_varying(design, cohort, burden)
    design.info["burden_threshold"] = burden.threshold
    design.info["burden_floor"] = burden.floor


def _add_time_varying(design: Design, cohort: Cohort, burden) -> None:
    """Add each piece's change of the time-varying covariates since their first value.

    A covariate keeps the value of its latest measurement at or before the
    start of a piece, and its first measured value before that (including
    the years before entry). The patient-level covariate is set to that first
    value, so the covariate on a piece is the patient-level value plus the
    change. A patient without measurements of a covariate keeps its
    patient-level value throughout.
    """
    ids = cohort.patients.index
    index_of = pd.Series(np.arange(design.n_patients), index=ids)
    piece_start = design.arrays["piece_start"]
    changes = np.zeros(piece_start.shape + (len(burden.time_varying),))
    for q, name in enumerate(burden.time_varying):
        rows = cohort.measurements[cohort.measurements["marker"] == TIME_VARYING_MARKERS[name]]
        rows = rows[rows["patient_id"].isin(ids)].sort_values(["patient_id", "time"])
        values = rows["value"].to_numpy(float)
        if name == "sbp":
            values = (values - burden.sbp_reference) / burden.sbp_scale
        patient = index_of[rows["patient_id"]].to_numpy()
        at = design.origin[patient] + rows["time"].to_numpy(float)
        for p in np.unique(patient):
            mine = patient == p
            times, levels = at[mine], values[mine]
            latest = np.searchsorted(times, piece_start[p] + 1e-9, side="right") - 1
            changes[p, :, q] = levels[np.clip(latest, 0, None)] - levels[0]
            design.covariates[name][p] = levels[0]
            if name in design.masks:
                design.masks[name][p] = True
    design.arrays["susceptibility_change"] = changes
    names = design.coords["susceptibility_covariate"]
    design.arrays["time_varying_index"] = np.array(
        [names.index(name) for name in burden.time_varying], dtype=int)
    design.coords["time_varying_covariate"] = list(burden.time_varying)


def _add_imaging(design: Design, cohort: Cohort, spec: ModelSpec) -> None:
    imaging = spec.section("imaging")
    index_of = pd.Series(np.arange(design.n_patients), index=cohort.patients.index)
    for marker, key in (("cac", "cac"), ("plaque_volume", "plaque"), ("cimt", "cimt")):
        if not imaging[marker]:
            continue
        rows = cohort.measurements[cohort.measurements["marker"] == marker]
        if rows.empty and not design.info["reference"]:
            raise _missing_table(spec, "imaging", "measurements",
                                 f"'{marker}' measurements (or {marker} = false in [imaging])")
        patient = index_of[rows["patient_id"]].to_numpy()
        at = design.origin[patient] + rows["time"].to_numpy(float)
        design.arrays[f"{key}_patient"] = patient
        design.arrays[f"{key}_time"] = at
        design.arrays[f"{key}_piece"] = locate_piece(design.arrays["piece_start"], patient, at)
        design.arrays[f"{key}_value"] = rows["value"].to_numpy(float)


def _add_microbiome(design: Design, cohort: Cohort, spec: ModelSpec) -> None:
    settings = spec.section("microbiome")
    has_samples = cohort.microbiome is not None and not cohort.microbiome.empty
    reference = design.info["reference"]
    if not has_samples and "taxon" not in reference:
        raise _missing_table(spec, "microbiome", "microbiome",
                             "a microbiome table (patient_id, time, taxon, count)")
    if has_samples:
        taxa, clr, sample_patient = _centred_log_ratios(design, cohort, settings, reference)
    else:  # patients outside the fit without a sample keep the prior of z
        taxa = list(reference["taxon"])
        clr, sample_patient = np.zeros((0, len(taxa))), np.zeros(0, dtype=int)
    design.arrays["sample_patient"] = sample_patient
    design.arrays["clr"] = clr
    design.coords["taxon"] = taxa
    design.coords["sample"] = list(range(len(clr)))
    design.coords["factor"] = [f"factor{k + 1}" for k in range(settings.n_factors)]
    if "factor_anchor" in reference:
        anchors = list(reference["factor_anchor"])
    elif has_samples:
        anchors = [taxa[k] for k in factor_anchors(clr, settings.n_factors)]
    else:  # a fit recorded before anchors were: its first taxa
        anchors = taxa[:settings.n_factors]
    design.info["factor_anchor"] = anchors
    design.arrays["anchor_index"] = np.array([taxa.index(a) for a in anchors], dtype=int)


def _centred_log_ratios(design: Design, cohort: Cohort, settings, reference: dict):
    """Return the taxa, the centred log-ratios of each sample and each sample's patient."""
    counts = cohort.microbiome.pivot_table(index=["patient_id", "time"], columns="taxon",
                                           values="count", aggfunc="sum", fill_value=0)
    if "taxon" in reference:
        columns = list(reference["taxon"])
        kept = [c for c in columns if c != "other"]
        counts = counts.reindex(columns=sorted(set(counts.columns) | set(kept)), fill_value=0)
    else:
        totals = counts.sum(axis=0).sort_values(ascending=False)
        kept = sorted(totals.index[: settings.n_taxa])
        columns = kept + (["other"] if len(kept) < counts.shape[1] else [])
    other = counts.drop(columns=kept).sum(axis=1)
    table = counts[kept].assign(other=other)[columns] if "other" in columns else counts[kept]
    logs = np.log(table.to_numpy(float) + settings.pseudocount)
    clr = logs - logs.mean(axis=1, keepdims=True)
    index_of = pd.Series(np.arange(design.n_patients), index=cohort.patients.index)
    patient_ids = table.index.get_level_values("patient_id")
    return [str(t) for t in table.columns], clr, index_of[patient_ids].to_numpy()


def factor_anchors(clr: np.ndarray, n_factors: int) -> list[int]:
    """Return one anchor taxon per factor: the taxon that loads most on each principal axis.

    The anchor of factor k loads on factors 1..k only, with a positive
    loading on factor k, which fixes the rotation and the signs of the factor
    model. Anchors chosen from the data's principal axes load strongly on
    their factor. Fixed anchors (the first taxa in alphabetical order) can
    have loadings near zero, and then the posterior of the loadings is
    nearly bimodal and mixes poorly.
    """
    centred = clr - clr.mean(axis=0, keepdims=True)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    anchors: list[int] = []
    for k in range(n_factors):
        weight = np.abs(axes[k]) if k < len(singular) else np.ones(clr.shape[1])
        weight[anchors] = -np.inf
        anchors.append(int(np.argmax(weight)))
    return anchors


def _add_longitudinal(design: Design, cohort: Cohort, spec: ModelSpec) -> None:
    settings = spec.section("longitudinal")
    rows = cohort.measurements[cohort.measurements["marker"] == settings.marker]
    if rows.empty:
        raise _missing_table(spec, "longitudinal", "measurements",
                             f"measurements of marker '{settings.marker}'")
    values = rows["value"].to_numpy(float)
    if settings.transform == "log":
        if np.any(values <= 0):
            raise SpecError(f"{spec.source}: [longitudinal] transform = 'log' needs positive "
                            f"'{settings.marker}' values; set transform = 'identity'.")
        values = np.log(values)
    index_of = pd.Series(np.arange(design.n_patients), index=cohort.patients.index)
    design.arrays["long_patient"] = index_of[rows["patient_id"]].to_numpy()
    design.arrays["long_time"] = rows["time"].to_numpy(float)
    design.arrays["long_value"] = values
    design.coords["fixed_effect"] = ["intercept", *settings.fixed_effects]
    design.coords["random_effect"] = (["intercept", "slope"]
                                      if settings.random == "intercept_slope" else ["intercept"])


_FLAG_WORDS = {"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0}


def numeric_covariate(column: pd.Series) -> np.ndarray:
    """Return a patients-table column as numbers: flags (True/False, yes/no) as 1/0, missing as 0.

    A column read from CSV contains flags as text, so the words are mapped
    before the conversion to numbers.
    """
    if column.dtype == bool or str(column.dtype) == "boolean":
        values = column.astype("float")
    else:
        words = column.map(lambda v: _FLAG_WORDS.get(v.strip().lower(), v)
                           if isinstance(v, str) else v)
        values = pd.to_numeric(words.map(lambda v: float(v) if isinstance(v, bool) else v),
                               errors="coerce")
    return values.fillna(0.0).to_numpy(float)


def _add_events(design: Design, cohort: Cohort, spec: ModelSpec) -> None:
    settings = spec.section("events")
    patients = cohort.patients
    for name in settings.covariates:
        if name in design.covariates:
            continue
        if name not in patients:
            raise SpecError(f"{spec.source}: [events] covariate {name!r} is not a column of the "
                            f"patients table. Columns: {', '.join(patients.columns)}.")
        design.covariates[name] = numeric_covariate(patients[name])
    design.coords["event_covariate"] = list(settings.covariates)

    # Stage 1: knots of the log baseline hazard at quantiles of event times.
    event_times = design.exit[design.arrays["event_flag"] > 0]
    lower, upper = float(design.entry.min()), float(design.exit.max())
    if "knots" in design.info["reference"]:
        knots = np.asarray(design.info["reference"]["knots"], dtype=float)
    else:
        knots = spline_knots(event_times, settings.n_knots, lower=lower, upper=upper)
    design.info["knots"] = knots
    design.coords["spline_basis"] = list(range(len(knots) + 2))

    # Stage 2: quadrature nodes on every piece of the risk window.
    q = settings.quadrature_nodes
    if "piece_start" in design.arrays:
        start = np.maximum(design.arrays["piece_start"], design.entry[:, None])
        stop = np.minimum(design.arrays["piece_stop"], design.exit[:, None])
        nodes, weights = map_nodes(start, stop, q)
        piece = np.broadcast_to(np.arange(start.shape[1])[None, :, None], nodes.shape)
    else:
        nodes, weights = map_nodes(design.entry[:, None], design.exit[:, None], q)
        piece = np.zeros(nodes.shape, dtype=int)
    design.arrays["node_time"] = nodes
    design.arrays["node_weight"] = weights
    design.arrays["node_piece"] = np.ascontiguousarray(piece)
    design.arrays["node_basis"] = bspline_basis(nodes, knots)
    design.arrays["exit_basis"] = bspline_basis(design.exit, knots)
    if "piece_start" in design.arrays:
        design.arrays["exit_piece"] = locate_piece(
            design.arrays["piece_start"], np.arange(design.n_patients), design.exit - 1e-9)
    rate = event_times.size / max(float((design.exit - design.entry).sum()), 1e-9)
    design.info["crude_log_rate"] = float(np.log(max(rate, 1e-6)))
