r"""Check the FH twin's predictions on simulated cohorts: counterfactual truth and refit.

Two checks, each a subcommand:

``counterfactual``
    Fit ``models/fh_twin.toml`` to ``simulate_cohort(--patients, seed=--cohort-seed)``,
    or load the fit from ``--fit`` when the file is there. Then compare
    every patient's twin, started at the end of follow-up, with the
    simulator's truth. It reports the coverage of the central 90% intervals
    of the 10-year MACE risk and of LDL-C one year on, under current care and
    under plans the patient never received. It also reports the calibration
    of the predicted 5-year risk under current care against outcomes drawn
    from the true hazards (``--replicates`` sets of outcomes).

``refit``
    Hold ``--hold-out`` patients out of the simulated cohort, fit the rest,
    condition each held-out patient on that fit (new-patient twin), and
    compare their 10-year risks with a fit of the whole cohort. The same
    patients conditioned on the whole-cohort fit separate the error of the
    conditioning from what the held-out patients teach the fit about the
    population (`bayestwin.validate.twins.refit_agreement`). Fits are
    loaded from ``--fit-with`` and ``--fit-without`` when those files exist,
    and saved there when they do not.

Examples (the runs documented in docs/validation.md)::

    .venv/bin/python scripts/twin_validation.py counterfactual --patients 500 \
        --cohort-seed 21 --fit out/recovery500.nc --out out/twin_check
    .venv/bin/python scripts/twin_validation.py refit --patients 200 --cohort-seed 11 \
        --fit-with out/fit200.nc --fit-without out/fit180.nc --out out/refit_check

Writes CSV tables and ``results.json`` (settings, versions, timings and the
summaries) in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger("twin_validation")


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    for name in ("counterfactual", "refit"):
        sub = commands.add_parser(name)
        sub.add_argument("--patients", type=int, default=200,
                         help="size of the simulated cohort (default 200)")
        sub.add_argument("--cohort-seed", type=int, default=11,
                         help="seed of simulate_cohort (default 11)")
        sub.add_argument("--fit-seed", type=int, default=5, help="seed of the NUTS fits")
        sub.add_argument("--chains", type=int, default=2)
        sub.add_argument("--warmup", type=int, default=1000)
        sub.add_argument("--draws", type=int, default=1000)
        sub.add_argument("--max-draws", type=int, default=1000,
                         help="posterior draws used by the twins (default 1000)")
        sub.add_argument("--seed", type=int, default=0,
                         help="seed of the outcome draws or of the conditioning (default 0)")
        sub.add_argument("--out", type=Path, required=True, help="folder for the results")

    counterfactual = commands.choices["counterfactual"]
    counterfactual.add_argument("--fit", type=Path, required=True,
                                help="fit file: loaded when present, written otherwise")
    counterfactual.add_argument("--replicates", type=int, default=50,
                                help="sets of outcomes drawn for the calibration (default 50)")
    refit = commands.choices["refit"]
    refit.add_argument("--fit-with", type=Path, required=True,
                       help="fit of the whole cohort: loaded when present, written otherwise")
    refit.add_argument("--fit-without", type=Path, required=True,
                       help="fit without the held-out patients: loaded or written")
    refit.add_argument("--hold-out", type=int, default=20, help="patients held out (default 20)")
    refit.add_argument("--split-seed", type=int, default=2026,
                       help="seed of the choice of held-out patients (default 2026)")

    arguments = parser.parse_args(argv)
    for name in ("patients", "chains", "warmup", "draws", "max_draws"):
        if getattr(arguments, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    if arguments.command == "counterfactual" and arguments.replicates < 1:
        parser.error("--replicates must be a positive integer")
    if arguments.command == "refit" and not 0 < arguments.hold_out < arguments.patients:
        parser.error("--hold-out must lie between 1 and --patients minus 1")
    return arguments


def fit_or_load(path: Path, cohort, arguments: argparse.Namespace) -> tuple[object, dict]:
    """Load the fit at `path`, or fit the FH twin to `cohort` and save it there."""
    from bayestwin.inference import fit
    from bayestwin.inference.io import load_fit, save_fit

    if path.is_file():
        logger.info("loading %s", path)
        return load_fit(path), {"path": str(path), "loaded": True}
    logger.info("fitting %d patients into %s", cohort.n_patients, path)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the gate table printed below shows whether it passed
        result = fit(cohort, "fh_twin", seed=arguments.fit_seed, chains=arguments.chains,
                     warmup=arguments.warmup, draws=arguments.draws, progress_bar=False)
    seconds = time.perf_counter() - started
    print(result.gate.table())
    path.parent.mkdir(parents=True, exist_ok=True)
    save_fit(result, path)
    return result, {"path": str(path), "loaded": False, "wall_seconds": seconds}


def gate_summary(result) -> dict:
    """Return whether the fit passed the gate, and its failures."""
    return {"passed": bool(result.gate.passed), "failures": list(result.gate.failures)}


def run_counterfactual(arguments: argparse.Namespace, simulated) -> dict:
    """Run the counterfactual check and write its tables; return the summaries."""
    from bayestwin.validate.twins import counterfactual_check

    result, fit_info = fit_or_load(arguments.fit, simulated.cohort, arguments)
    started = time.perf_counter()
    check = counterfactual_check(result, simulated, max_draws=arguments.max_draws,
                                 outcome_replicates=arguments.replicates, seed=arguments.seed)
    seconds = time.perf_counter() - started
    out = arguments.out
    check.intervals.to_csv(out / "intervals.csv", index=False)
    check.coverage.to_csv(out / "coverage.csv", index=False)
    check.calibration.to_csv(out / "calibration.csv", index=False)
    check.excluded.to_csv(out / "excluded.csv", index=False)
    print(check.coverage.to_string(index=False))
    slopes = check.calibration["slope"]
    print(f"calibration slope of 5-year risk: median {slopes.median():.2f} over "
          f"{len(slopes)} outcome sets (5-95%: {slopes.quantile(0.05):.2f}-"
          f"{slopes.quantile(0.95):.2f}); pooled {check.pooled['slope']:.2f}")
    return {"fit": fit_info, "gate": gate_summary(result), "check_seconds": seconds,
            "coverage": check.coverage.to_dict("records"), "pooled_calibration": check.pooled,
            "calibration_slope_median": float(slopes.median()),
            "calibration_slope_5_95": [float(slopes.quantile(0.05)),
                                       float(slopes.quantile(0.95))],
            "excluded": check.excluded["reason"].value_counts().to_dict()}


def run_refit(arguments: argparse.Namespace, simulated) -> dict:
    """Run the refit agreement check and write its table; return the summaries."""
    import pandas as pd

    from bayestwin.twin.conditioning import pareto_k_limit
    from bayestwin.twin.landmark import subset_cohort
    from bayestwin.validate.twins import held_out_ids, refit_agreement

    cohort = simulated.cohort
    held_out = held_out_ids(cohort, arguments.hold_out, arguments.split_seed)
    remaining = [p for p in cohort.patients.index if p not in set(held_out)]
    without, without_info = fit_or_load(arguments.fit_without, subset_cohort(cohort, remaining),
                                        arguments)
    with_all, with_info = fit_or_load(arguments.fit_with, cohort, arguments)
    started = time.perf_counter()
    table = refit_agreement(without, with_all, cohort, held_out, max_draws=arguments.max_draws,
                            seed=arguments.seed)
    seconds = time.perf_counter() - started
    table.to_csv(arguments.out / "refit_agreement.csv", index=False)
    parts = []
    for part in ("total", "updated", "method"):
        frame = table.assign(abs_pp=table[f"{part}_median_difference_pp"].abs(),
                             ratio=table[f"{part}_width_ratio"])
        parts.append(frame.groupby("scenario", sort=False).agg(
            patients=("patient_id", "size"), max_abs_pp=("abs_pp", "max"),
            median_abs_pp=("abs_pp", "median"),
            within_1pp=("abs_pp", lambda x: float((x <= 1.0).mean())),
            width_ratio_min=("ratio", "min"), width_ratio_median=("ratio", "median"),
            width_ratio_max=("ratio", "max"),
            within_20pc=("ratio", lambda x: float(((x - 1).abs() <= 0.2).mean())),
        ).reset_index().assign(comparison=part))
    summary = pd.concat(parts, ignore_index=True)
    print(summary.to_string(index=False))
    k = table.drop_duplicates("patient_id")["pareto_k"]
    limit = pareto_k_limit(arguments.max_draws)
    print(f"Pareto k of the population weights (updated): median {k.median():.2f}, "
          f"max {k.max():.2f}, above {limit:.2f} for {int((k > limit).sum())} "
          f"of {len(k)} patients")
    return {"held_out": held_out, "fit_without": without_info, "fit_with": with_info,
            "gate_without": gate_summary(without), "gate_with": gate_summary(with_all),
            "check_seconds": seconds, "pareto_k": k.tolist(),
            "summary": summary.to_dict("records")}


def main(argv: list[str] | None = None) -> int:
    """Run the chosen check and return the exit status."""
    arguments = parse_arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import numpyro

    numpyro.set_host_device_count(arguments.chains)
    from bayestwin.inference.provenance import package_versions
    from bayestwin.simulate import simulate_cohort

    arguments.out.mkdir(parents=True, exist_ok=True)
    simulated = simulate_cohort(arguments.patients, seed=arguments.cohort_seed)
    run = run_counterfactual if arguments.command == "counterfactual" else run_refit
    results = run(arguments, simulated)
    settings = {key: str(value) if isinstance(value, Path) else value
                for key, value in vars(arguments).items()}
    results.update({"settings": settings, "versions": package_versions(),
                    "python": sys.version.split()[0], "machine": platform.platform(),
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds")})
    (arguments.out / "results.json").write_text(json.dumps(results, indent=1, default=float))
    logger.info("results in %s", arguments.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
