"""Validate the twin on held-out Framingham participants against a Cox model.

A demonstration on a teaching dataset, not a scientific finding. Steps:

1. read ``frmgham2.csv`` with `bayestwin.adapters.framingham.framingham_cohort`
   and split participants 70/30 with a fixed seed;
2. fit ``models/framingham.toml`` to the training part (or load the fit from
   ``--out`` when it is there);
3. 10-year CVD risk from exam 1 for each held-out participant. The
   participant is conditioned on the fit with the exam-1 data only, then
   predicted under the current plan. The risks are scored with Harrell's and
   Uno's C, the time-dependent AUC, the IPCW Brier score and calibration
   (slope, ICI, E50, E90), beside a Cox model (lifelines) fitted to the
   training part on the same exam-1 covariates;
4. a landmark at ``--landmark`` years, after exam 2 for 95% of participants.
   For the held-out participants still event-free then, the risk in the next
   ``--window`` years is predicted twice, from the data up to the landmark
   (exams 1 and 2) and from exam 1 only, and scored the same way.

Example (the run documented in docs/validation.md)::

    .venv/bin/python scripts/framingham_validation.py --out out/framingham

Writes ``results.json``, ``risks_exam1.csv``, ``risks_landmark.csv``,
``calibration.png`` and the fit ``fit.nc`` (reused on the next run) in ``--out``.
``--split-check N`` only refits the Cox model on N other splits and writes
the spread of its held-out calibration slope (``cox_split_slopes.csv`` and
``.json``).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ENDPOINT = ("cvd",)
COMPETING = ("death_other",)
COX_COVARIATES = ("age_at_entry", "male", "total_c", "sbp", "current_smoker", "diabetes",
                  "bp_medication")


def parse_arguments() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None,
                        help="frmgham2.csv (default: the shared reference data folder)")
    parser.add_argument("--out", type=Path, default=Path("out/framingham"))
    parser.add_argument("--seed", type=int, default=20240607, help="split and fit seed")
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--max-draws", type=int, default=200,
                        help="population draws used to condition held-out participants")
    parser.add_argument("--steps", type=int, default=10,
                        help="Metropolis-Hastings steps per population draw when conditioning")
    parser.add_argument("--bootstrap", type=int, default=200,
                        help="paired bootstrap resamples of the exam-1 comparison")
    parser.add_argument("--bootstrap-only", action="store_true",
                        help="only redo the bootstrap from OUT/risks_exam1.csv")
    parser.add_argument("--split-check", type=int, default=0, metavar="N",
                        help="only fit the Cox model on N other 70/30 splits and write the "
                             "spread of its held-out calibration slope (no NUTS fit)")
    parser.add_argument("--horizon", type=float, default=10.0)
    parser.add_argument("--landmark", type=float, default=6.5)
    parser.add_argument("--window", type=float, default=10.0)
    arguments = parser.parse_args()
    if arguments.split_check < 0:
        parser.error(f"--split-check must be 0 or a positive number of splits, "
                     f"not {arguments.split_check}")
    return arguments


def exam1_covariates(cohort) -> pd.DataFrame:
    """Return the exam-1 covariates of the Cox model, one row per participant."""
    from bayestwin.model.design import numeric_covariate

    patients = cohort.patients
    frame = pd.DataFrame(index=patients.index)
    frame["age_at_entry"] = patients["age_at_entry"].astype(float)
    frame["male"] = (patients["sex"] == "M").astype(float)
    for name in ("current_smoker", "diabetes", "bp_medication"):
        # Flags read back from CSV are text. A missing BP medication flag stays missing.
        values = pd.Series(numeric_covariate(patients[name]), index=patients.index)
        frame[name] = values.where(patients[name].notna() & (patients[name] != ""))
    first = cohort.measurements[cohort.measurements["time"] <= 0.0]
    for marker in ("total_c", "sbp"):
        values = first[first["marker"] == marker].groupby("patient_id")["value"].first()
        frame[marker] = values.reindex(frame.index)
    return frame


def keep_exam1_only(cohort):
    """Return `cohort` with measurements after exam 1 removed (follow-up unchanged)."""
    from dataclasses import replace

    exam1 = cohort.measurements[cohort.measurements["time"] <= 0.0].reset_index(drop=True)
    return replace(cohort, measurements=exam1)


def twin_risks(fit, cohort, *, start: float, horizon: float, seed: int, max_draws: int,
               steps: int) -> pd.DataFrame:
    """Return each patient's risk of the endpoint in (start, start + horizon].

    Columns: the posterior mean, its 5% and 95% quantiles, and the conditioning's
    acceptance rate.
    """
    from bayestwin.twin.conditioning import condition_new_patients
    from bayestwin.twin.stream import cohort_incidence

    conditioned = condition_new_patients(fit, cohort, seed=seed, max_draws=max_draws,
                                         steps=steps)
    incidence = cohort_incidence(fit, conditioned, ["current"], start=np.full(
        cohort.n_patients, start), offsets=np.array([0.0, horizon]))["current"]
    risk = incidence[:, :, -1].mean(axis=0)
    low, high = np.quantile(incidence[:, :, -1], [0.05, 0.95], axis=0)
    return pd.DataFrame({"risk": risk, "risk_q05": low, "risk_q95": high,
                         "acceptance": conditioned.acceptance},
                        index=pd.Index(conditioned.patients, name="patient_id"))


def scores(time_, event, risk, *, horizon: float, train_time, train_event) -> tuple:
    """Return the discrimination and calibration summary of `risk`, and its calibration."""
    from bayestwin.validate.calibration import calibration_at_horizon
    from bayestwin.validate.metrics import brier_score, harrell_c, time_dependent_auc, uno_c

    risk = np.clip(np.asarray(risk, float), 1e-6, 1 - 1e-6)
    calibration = calibration_at_horizon(time_, event, risk, horizon=horizon)
    summary = {
        "harrell_c": harrell_c(time_, event, risk, horizon=horizon),
        "uno_c": uno_c(time_, event, risk, horizon=horizon, train_time=train_time,
                       train_event=train_event),
        "td_auc": time_dependent_auc(time_, event, risk, horizon=horizon,
                                     train_time=train_time, train_event=train_event),
        "brier": brier_score(time_, event, risk, horizon=horizon, train_time=train_time,
                             train_event=train_event),
        "mean_risk": float(np.mean(risk)),
    }
    summary.update({name: float(getattr(calibration, name)) for name in (
        "slope", "intercept", "ici", "e50", "e90", "observed_risk", "mean_predicted_risk")})
    return summary, calibration


def bootstrap_exam1(frame: pd.DataFrame, *, horizon: float, replicates: int) -> dict:
    """Return 95% paired-bootstrap intervals of the C difference and of both calibration slopes.

    A resample whose calibration fit fails (ties in a resample can make the
    spline Cox model singular) is skipped, and the count of kept resamples
    is returned.
    """
    from bayestwin.validate.calibration import calibration_at_horizon
    from bayestwin.validate.metrics import harrell_c

    generator = np.random.default_rng(1)
    time_, event = frame["time"].to_numpy(), frame["event"].to_numpy()
    twin = np.clip(frame["risk"].to_numpy(), 1e-6, 1 - 1e-6)
    cox = np.clip(frame["cox_risk"].to_numpy(), 1e-6, 1 - 1e-6)
    differences, twin_slopes, cox_slopes = [], [], []
    for _ in range(replicates):
        rows = generator.integers(0, len(frame), len(frame))
        differences.append(harrell_c(time_[rows], event[rows], twin[rows], horizon=horizon)
                           - harrell_c(time_[rows], event[rows], cox[rows], horizon=horizon))
        try:
            twin_slope = calibration_at_horizon(time_[rows], event[rows], twin[rows],
                                                horizon=horizon).slope
            cox_slope = calibration_at_horizon(time_[rows], event[rows], cox[rows],
                                               horizon=horizon).slope
        except Exception:  # noqa: BLE001 - lifelines' ConvergenceError and linear-algebra errors
            continue
        twin_slopes.append(twin_slope)
        cox_slopes.append(cox_slope)

    def interval(values):
        return [float(v) for v in np.percentile(values, [2.5, 97.5])]

    return {"replicates": replicates, "slope_resamples_kept": len(twin_slopes),
            "harrell_c_difference": interval(differences),
            "twin_slope": interval(twin_slopes), "cox_slope": interval(cox_slopes)}


def cox_exam1_risk(train, test, outcome_train: pd.DataFrame, outcome_test: pd.DataFrame, *,
                   horizon: float) -> pd.Series:
    """Return the Cox model's risk by `horizon` for the complete held-out participants.

    The model is fitted to the training participants with complete exam-1
    covariates. The result is indexed by the held-out participants whose
    exam-1 covariates and outcome are complete.
    """
    from bayestwin.validate.metrics import cox_baseline_risk

    covariates_train = exam1_covariates(train).join(outcome_train).dropna()
    covariates_test = exam1_covariates(test).join(outcome_test).dropna()
    return cox_baseline_risk(covariates_train, covariates_test, duration_col="time",
                             event_col="event", covariates=list(COX_COVARIATES),
                             horizon=horizon)


def cox_split_slopes(cohort, seeds, *, horizon: float) -> pd.DataFrame:
    """Return the Cox model's held-out calibration slope and C on each 70/30 split.

    Each seed gives one split by `split_by_participant` and one row. The Cox
    model is fitted and scored as in the main analysis. The spread of the
    slope across splits shows how much of a slope away from 1 comes from the
    particular test set rather than from the model.
    """
    from bayestwin.adapters.framingham import split_by_participant
    from bayestwin.twin.landmark import observed_outcome
    from bayestwin.validate.calibration import calibration_at_horizon
    from bayestwin.validate.metrics import harrell_c

    rows = []
    for seed in seeds:
        train, test = split_by_participant(cohort, fraction=0.7, seed=int(seed))
        outcome_test = observed_outcome(test, ENDPOINT, COMPETING)
        risk = cox_exam1_risk(train, test, observed_outcome(train, ENDPOINT, COMPETING),
                              outcome_test, horizon=horizon)
        outcome = outcome_test.loc[risk.index]
        time_, event = outcome["time"].to_numpy(), outcome["event"].to_numpy()
        risk = np.clip(risk.to_numpy(), 1e-6, 1 - 1e-6)
        calibration = calibration_at_horizon(time_, event, risk, horizon=horizon)
        rows.append({"seed": int(seed), "patients": len(risk),
                     "events_by_horizon": int(((time_ <= horizon) & (event == 1)).sum()),
                     "slope": float(calibration.slope),
                     "harrell_c": harrell_c(time_, event, risk, horizon=horizon)})
    return pd.DataFrame(rows)


def main() -> int:
    """Run the validation and return the exit status."""
    arguments = parse_arguments()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import numpyro

    numpyro.set_host_device_count(max(arguments.chains, 1))
    from bayestwin.adapters.framingham import framingham_cohort, split_by_participant
    from bayestwin.data import read_cohort, write_cohort
    from bayestwin.exceptions import DataWarning
    from bayestwin.inference import fit
    from bayestwin.inference.io import load_fit, save_fit
    from bayestwin.testing import shared_data_dir
    from bayestwin.twin.landmark import observed_outcome, subset_cohort, truncate_cohort
    from bayestwin.validate.calibration import plot_calibration

    source = arguments.data or (shared_data_dir() or Path("missing")) / "frmgham2.csv"
    if not source.is_file():
        print(f"frmgham2.csv not found at {source}; pass --data.", file=sys.stderr)
        return 1
    out = arguments.out
    out.mkdir(parents=True, exist_ok=True)
    if arguments.bootstrap_only:
        frame = pd.read_csv(out / "risks_exam1.csv", index_col=0).dropna()
        results = json.loads((out / "results.json").read_text())
        results["exam1"]["bootstrap"] = bootstrap_exam1(
            frame, horizon=arguments.horizon, replicates=arguments.bootstrap)
        (out / "results.json").write_text(json.dumps(results, indent=1, default=float))
        print(json.dumps(results["exam1"]["bootstrap"], indent=1))
        return 0
    cohort = framingham_cohort(source)
    if arguments.split_check:
        seeds = [arguments.seed] + [arguments.seed + k for k in range(1, arguments.split_check + 1)]
        slopes = cox_split_slopes(cohort, seeds, horizon=arguments.horizon)
        slopes.to_csv(out / "cox_split_slopes.csv", index=False)
        others = slopes["slope"].to_numpy()[1:]
        check = {"splits": len(others), "documented_split_slope": float(slopes["slope"][0]),
                 "share_of_splits_at_or_above": float(np.mean(others >= slopes["slope"][0])),
                 "slope_median": float(np.median(others)),
                 "slope_2_5_97_5": [float(v) for v in np.percentile(others, [2.5, 97.5])]}
        print(json.dumps(check, indent=1))
        (out / "cox_split_slopes.json").write_text(json.dumps(check, indent=1))
        return 0
    train, test = split_by_participant(cohort, fraction=0.7, seed=arguments.seed)
    write_cohort(train, out / "train", overwrite=True)
    write_cohort(test, out / "test", overwrite=True)
    # Work on the cohorts as read back, as the command line does, so that `bayestwin twin`
    # and `bayestwin report` accept the fit with `--cohort OUT/train`.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # a few high but real values
        train, test = read_cohort(out / "train"), read_cohort(out / "test")
    results = {"command": " ".join(sys.argv), "participants": cohort.n_patients,
               "train": train.n_patients, "test": test.n_patients,
               "machine": {"python": platform.python_version(), "machine": platform.machine()}}

    # Stage 1: the fit of the training part.
    fit_path = out / "fit.nc"
    if fit_path.is_file():
        fitted = load_fit(fit_path)
    else:
        started = time.perf_counter()
        fitted = fit(train, "framingham", seed=arguments.seed, chains=arguments.chains,
                     warmup=arguments.warmup, draws=arguments.draws, progress_bar=False,
                     cohort_path=str(out / "train"))
        results["fit_seconds"] = time.perf_counter() - started
        save_fit(fitted, fit_path)
    results["gate"] = json.loads(fitted.gate.to_json())
    print(fitted.gate.table())

    outcome_train = observed_outcome(train, ENDPOINT, COMPETING)
    outcome_test = observed_outcome(test, ENDPOINT, COMPETING)
    train_time, train_event = outcome_train["time"].to_numpy(), outcome_train["event"].to_numpy()

    # Stage 2: 10-year risk from exam 1.
    started = time.perf_counter()
    at_entry = truncate_cohort(test, 0.0, endpoint=ENDPOINT, competing=COMPETING)
    twin = twin_risks(fitted, at_entry, start=0.0, horizon=arguments.horizon,
                      seed=arguments.seed, max_draws=arguments.max_draws,
                      steps=arguments.steps)
    cox = cox_exam1_risk(train, test, outcome_train, outcome_test, horizon=arguments.horizon)
    complete = cox.index
    frame = outcome_test.join(twin).join(cox.rename("cox_risk")).loc[complete]
    frame.to_csv(out / "risks_exam1.csv")
    results["exam1"] = {"patients": len(frame), "events_by_horizon": int(
        ((frame["time"] <= arguments.horizon) & (frame["event"] == 1)).sum()),
        "seconds": time.perf_counter() - started}
    calibrations = {}
    for name, column in (("twin", "risk"), ("cox", "cox_risk")):
        summary, calibrations[name] = scores(
            frame["time"].to_numpy(), frame["event"].to_numpy(), frame[column].to_numpy(),
            horizon=arguments.horizon, train_time=train_time, train_event=train_event)
        results["exam1"][name] = summary
    results["exam1"]["bootstrap"] = bootstrap_exam1(frame, horizon=arguments.horizon,
                                                    replicates=arguments.bootstrap)

    # Stage 3: landmark after exam 2, data up to the landmark against exam 1 only.
    started = time.perf_counter()
    landmark, window = arguments.landmark, arguments.window
    at_landmark = truncate_cohort(test, landmark, endpoint=ENDPOINT, competing=COMPETING)
    both = twin_risks(fitted, at_landmark, start=landmark, horizon=window,
                      seed=arguments.seed + 1, max_draws=arguments.max_draws,
                      steps=arguments.steps)
    first_only = twin_risks(fitted, keep_exam1_only(at_landmark), start=landmark,
                            horizon=window, seed=arguments.seed + 2,
                            max_draws=arguments.max_draws, steps=arguments.steps)
    after = outcome_test.loc[at_landmark.patients.index].copy()
    after["time"] = after["time"] - landmark
    exams = at_landmark.measurements[at_landmark.measurements["marker"] == "total_c"]
    landmark_frame = after.join(both["risk"].rename("risk_exams_1_2")).join(
        first_only["risk"].rename("risk_exam_1"))
    landmark_frame["exams_with_cholesterol"] = exams.groupby("patient_id")["time"].nunique(
        ).reindex(landmark_frame.index).fillna(0).astype(int)
    landmark_frame.to_csv(out / "risks_landmark.csv")
    results["landmark"] = {"landmark": landmark, "window": window,
                           "patients": len(landmark_frame),
                           "events_in_window": int(((landmark_frame["time"] <= window)
                                                    & (landmark_frame["event"] == 1)).sum()),
                           "seconds": time.perf_counter() - started}
    train_after = observed_outcome(subset_cohort(train, list(
        outcome_train.index[outcome_train["time"] > landmark])), ENDPOINT, COMPETING)
    for name in ("risk_exams_1_2", "risk_exam_1"):
        summary, calibrations[name] = scores(
            landmark_frame["time"].to_numpy(), landmark_frame["event"].to_numpy(),
            landmark_frame[name].to_numpy(), horizon=window,
            train_time=train_after["time"].to_numpy() - landmark,
            train_event=train_after["event"].to_numpy())
        results["landmark"][name] = summary

    # Stage 4: the calibration plot and the results.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    plot_calibration(calibrations["twin"], ax=axes[0], label="twin")
    plot_calibration(calibrations["cox"], ax=axes[0], label="Cox")
    axes[0].set_title(f"{arguments.horizon:g}-year CVD risk from exam 1")
    plot_calibration(calibrations["risk_exams_1_2"], ax=axes[1], label="exams 1 and 2")
    plot_calibration(calibrations["risk_exam_1"], ax=axes[1], label="exam 1 only")
    axes[1].set_title(f"Landmark {landmark:g} y, {window:g}-year window")
    for axis in axes:
        axis.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(out / "calibration.png", dpi=120)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=float))
    print(json.dumps({k: results[k] for k in ("exam1", "landmark")}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
