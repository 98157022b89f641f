"""The `bayestwin` command line.

Each subcommand parses its options here and calls the library; library code
never prints. Bad input ends with a one-paragraph message and exit status 1,
not a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bayestwin.exceptions import BayestwinError

logger = logging.getLogger("bayestwin")

Handler = Callable[[argparse.Namespace], int]


def _cmd_simulate(args: argparse.Namespace) -> int:
    from bayestwin.simulate import simulate_cohort

    simulated = simulate_cohort(args.patients, seed=args.seed)
    simulated.write(args.out)
    print(f"Simulated {args.patients} patients (seed {args.seed}) into {args.out}")
    print(f"Ground truth in {Path(args.out) / 'truth'}")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from bayestwin.adapters.framingham import framingham_cohort, split_by_participant
    from bayestwin.data import write_cohort, write_manifest

    cohort = framingham_cohort(args.path)
    parts = {"": cohort}
    if args.test_fraction is not None:
        if args.seed is None:
            raise BayestwinError("--test-fraction needs --seed, so that the split can be "
                                 "repeated; add for example --seed 1.")
        if not 0.0 < args.test_fraction < 1.0:
            raise BayestwinError(f"--test-fraction {args.test_fraction:g} is invalid; expected "
                                 f"a share between 0 and 1, for example 0.3.")
        train, test = split_by_participant(cohort, fraction=round(1.0 - args.test_fraction, 9),
                                           seed=args.seed)
        parts = {"train": train, "test": test}
    for name, part in parts.items():
        folder = args.out / name if name else args.out
        write_cohort(part, folder, overwrite=args.overwrite)
        print(f"Wrote {part.n_patients} participants to {folder}")
    manifest = write_manifest(cohort, args.out)
    if manifest is not None:
        print(f"Rows left out at import ({len(cohort.manifest)}) are listed in {manifest}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from bayestwin.data import format_summary, read_cohort, write_manifest

    cohort = read_cohort(args.cohort, dayfirst=args.dayfirst)
    print(format_summary(cohort))
    manifest_path = write_manifest(cohort, args.manifest_dir or args.cohort)
    if manifest_path is not None:
        print(f"Excluded rows are listed in {manifest_path}")
    return 0


def _use_cpu_cores(chains: int) -> None:
    """Let JAX run `chains` chains in parallel on CPU cores; call before JAX starts.

    Only the command line calls this, because it owns its process. A user's
    own XLA_FLAGS device count is left as it is.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" in flags:
        return
    count = max(1, min(chains, os.cpu_count() or 1))
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()


def _cmd_fit(args: argparse.Namespace) -> int:
    _use_cpu_cores(args.chains or 4)
    from bayestwin.data import read_cohort
    from bayestwin.inference import fit

    cohort = read_cohort(args.cohort, dayfirst=args.dayfirst)
    result = fit(cohort, args.model, seed=args.seed, chains=args.chains, warmup=args.warmup,
                 draws=args.draws, progress_bar=not args.no_progress,
                 store_data=args.store_data, cohort_path=args.cohort)
    path = result.save(args.out)
    print(result.gate.table())
    if not result.converged:
        print(f"WARNING: the fit is saved but flagged as not converged: {path}. Reports refuse "
              f"it unless run with --allow-unconverged.", file=sys.stderr)
        return 2
    print(f"Fit saved to {path}")
    return 0


def _cmd_ppc(args: argparse.Namespace) -> int:
    import numpyro

    from bayestwin.inference.checks import plot_predictive_check, predictive_check
    from bayestwin.workflow import load_fit_with_cohort

    numpyro.enable_x64()
    fit, cohort = load_fit_with_cohort(args.fit, cohort=args.cohort)
    check = predictive_check(fit, cohort, kind="prior" if args.prior else "posterior",
                             draws=args.draws, seed=args.seed)
    paths = plot_predictive_check(check, args.out)
    table = args.out / f"{check.kind}_predictive_statistics.csv"
    check.statistics.to_csv(table, index_label="statistic")
    print(check.table())
    print(f"Plots and the statistics table ({table.name}) written to {args.out}:")
    for path in paths:
        print(f"  {path.name}")
    return 0


def _twin_for(args: argparse.Namespace, scenarios: list[str] | None, *, seed: int,
              default: list[str] | None = None):
    """Load the fit and build the twin of ``args.patient`` (in the fit or in ``--new``).

    Without `scenarios`, a model with the treatment block gets `default` and
    a model without it the current plan alone.
    """
    from bayestwin.twin.api import make_twin
    from bayestwin.workflow import load_fit_with_cohort, new_patient_draws

    fit, cohort = load_fit_with_cohort(args.fit, cohort=args.cohort)
    if scenarios is None:
        scenarios = list(default or []) if fit.spec.has("treatment") else ["current"]
    draws = select = None
    if args.new is not None:
        from bayestwin.data import read_cohort

        cohort = read_cohort(args.new)
        draws, select = new_patient_draws(fit, cohort, args.patient, seed=seed,
                                          max_draws=args.max_draws,
                                          update_population=args.update_population)
    elif args.update_population:
        raise BayestwinError("--update-population needs --new: a patient in the fit already "
                             "informs its population posterior.")
    twin = make_twin(fit, cohort, args.patient, scenarios, seed=seed, start=args.start,
                     horizon=args.horizon, draws=draws, select=select,
                     max_draws=args.max_draws)
    if args.update_population:
        twin.info["population_update"] = ("population draws resampled by the new patient's "
                                          "likelihood (Pareto k in the log)")
    return fit, cohort, twin, draws, select


def _print_risks(twin) -> None:
    risks = twin.risks
    if risks.empty:
        print("This model has no event block: no risks to report.")
        return
    endpoint = ", ".join(twin.info["endpoint"])
    print(f"Patient {twin.patient_id}: risk of the endpoint ({endpoint}) with 90% credible "
          f"intervals; ARR against {risks['scenario'].iloc[0]!r}")
    header = f"  {'scenario':<46}{'years':>5}  {'risk (90% CrI)':<22}{'ARR (90% CrI)':<24}" \
             f"{'P(benefit)':>10}  NNT"
    print(header)
    for row in risks.itertuples():
        risk = f"{row.risk:6.1%} ({row.risk_low:.1%}-{row.risk_high:.1%})"
        arr = (f"{row.arr:+6.1%} ({row.arr_low:+.1%} to {row.arr_high:+.1%})"
               if row.nnt_text != "reference" else "reference")
        benefit = f"{row.p_benefit:.2f}" if row.nnt_text != "reference" else ""
        print(f"  {row.scenario:<46}{row.horizon:>5g}  {risk:<22}{arr:<24}{benefit:>10}  "
              f"{row.nnt_text if row.nnt_text != 'reference' else ''}")


def _cmd_twin(args: argparse.Namespace) -> int:
    import json

    _, _, twin, _, _ = _twin_for(args, args.scenario, seed=args.seed)
    _print_risks(twin)
    for row in twin.goals.itertuples():
        print(f"  ESC goal {row.goal_mmol_l} mmol/L ({twin.info['category']} risk) under "
              f"{row.scenario!r}: P(goal) = {row.p_goal:.2f}")
    dataset = twin.trajectories.copy()
    dataset.attrs["risks"] = twin.risks.to_json(orient="records")
    dataset.attrs["goals"] = twin.goals.to_json(orient="records")
    dataset.attrs["info"] = json.dumps(twin.info)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    dataset.to_netcdf(args.out)
    print(f"Draws saved to {args.out}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from bayestwin.compare.cohort import compare_plans
    from bayestwin.workflow import load_fit_with_cohort

    fit, cohort = load_fit_with_cohort(args.fit, cohort=args.cohort)
    result = compare_plans(fit, cohort, args.plan, horizon=args.horizon, by=args.by,
                           max_draws=args.max_draws)
    print(f"Events averted over {args.horizon:g} years against {args.plan[0]!r} "
          f"(median and 90% credible interval)")
    for row in result.summary.itertuples():
        if row.plan == args.plan[0]:
            continue
        print(f"  [{row.subgroup}] {row.plan:<40} n={row.patients:<5} "
              f"{row.events_averted:7.1f} ({row.events_averted_low:.1f} to "
              f"{row.events_averted_high:.1f})  per 1000: {row.averted_per_1000:6.1f}  "
              f"P(beats reference) = {row.p_beats_reference:.2f}")
    dataset = result.incidence.to_dataset().assign(ldl=result.ldl)
    dataset.attrs["summary"] = result.summary.to_json(orient="records")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    dataset.to_netcdf(args.out)
    result.summary.to_csv(args.out.with_suffix(".csv"), index=False)
    print(f"Draws saved to {args.out}, summary to {args.out.with_suffix('.csv')}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from bayestwin.report import write_reports
    from bayestwin.riskscores.from_cohort import risk_profile
    from bayestwin.twin.api import choose_statin_dose
    from bayestwin.workflow import DEFAULT_SCENARIOS

    fit, cohort, twin, draws, select = _twin_for(args, args.scenario or None, seed=args.seed,
                                                 default=list(DEFAULT_SCENARIOS))
    dose = (choose_statin_dose(fit, cohort, args.patient, seed=args.seed, draws=draws,
                               select=select, max_draws=args.max_draws)
            if fit.spec.has("treatment") else None)
    try:
        profile = risk_profile(cohort, args.patient, at=twin.info["start"],
                               familial_hypercholesterolaemia=(
                                   fit.spec.section("model").population == "fh"))
    except BayestwinError:
        profile = None
    formats = [item.strip() for item in args.format.split(",") if item.strip()]
    paths = write_reports(
        twin, cohort=cohort, gate=fit.gate, model_name=fit.spec.name,
        model_sha256=fit.spec.sha256, data_date=fit.idata.attrs.get("created_at", "")[:10],
        out_dir=args.out, languages=[args.lang], formats=formats,
        dose_choice=(None if dose is None
                     else {"best_dose_label": dose.best_dose_label, "p_best": dose.p_best}),
        risk_profile=profile, allow_unconverged=args.allow_unconverged)
    for path in paths:
        print(f"Report written: {path}")
    return 0


def _cmd_riskscore(args: argparse.Namespace) -> int:
    from bayestwin.data import read_cohort
    from bayestwin.riskscores.from_cohort import cohort_scores

    cohort = read_cohort(args.cohort)
    patients = [args.patient] if args.patient else None
    table = cohort_scores(cohort, patients=patients, at=args.at,
                          familial_hypercholesterolaemia=not args.general_population)
    for row in table.itertuples():
        if row.applicable:
            print(f"  {row.patient_id:<10} {row.equation:<14} {row.horizon_years:>4g} y  "
                  f"{row.risk:6.1%}  ({row.endpoint})")
        else:
            print(f"  {row.patient_id:<10} {row.equation or '-':<14} not applicable: {row.reason}")
    if args.out:
        table.to_csv(args.out, index=False)
        print(f"Table saved to {args.out}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    _use_cpu_cores(4)
    from bayestwin.demo import run_demo

    summary = run_demo(args.out, quick=args.quick, seed=args.seed)
    print(summary)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand."""
    from bayestwin import __version__

    parser = argparse.ArgumentParser(
        prog="bayestwin",
        description="Hierarchical Bayesian digital twins for cardiovascular prevention.",
    )
    parser.add_argument("--version", action="version", version=f"bayestwin {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    simulate = commands.add_parser("simulate", help="simulate an FH cohort with known truth")
    simulate.add_argument("--patients", type=int, required=True, help="number of patients")
    simulate.add_argument("--seed", type=int, required=True, help="random seed (integer)")
    simulate.add_argument("--out", type=Path, required=True, help="output cohort folder")
    simulate.set_defaults(handler=_cmd_simulate)

    imported = commands.add_parser(
        "import", help="turn the Framingham teaching table into a cohort folder")
    imported.add_argument("source", choices=["framingham"], help="table layout")
    imported.add_argument("path", type=Path, help="the source table (frmgham2.csv)")
    imported.add_argument("--out", type=Path, required=True, help="output cohort folder")
    imported.add_argument("--test-fraction", type=float, default=None,
                          help="also split participants at random: this share goes to "
                               "OUT/test and the rest to OUT/train")
    imported.add_argument("--seed", type=int, default=None, help="seed of the split")
    imported.add_argument("--overwrite", action="store_true",
                          help="replace cohort tables already in the output folder")
    imported.set_defaults(handler=_cmd_import)

    check = commands.add_parser("check", help="validate a cohort folder and summarise it")
    check.add_argument("cohort", type=Path, help="cohort folder (CSV or Parquet tables)")
    check.add_argument(
        "--dayfirst",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="read dates as day-first (03/04/2021 = 3 April); default: detect, error if ambiguous",
    )
    check.add_argument(
        "--manifest-dir", type=Path, default=None,
        help="folder for the exclusion manifest (default: the cohort folder)",
    )
    check.set_defaults(handler=_cmd_check)

    fit = commands.add_parser("fit", help="fit a model to a cohort with NUTS")
    fit.add_argument("cohort", type=Path, help="cohort folder")
    fit.add_argument("--model", required=True,
                     help="model file (.toml) or built-in name: fh_twin, lipid_response, "
                          "joint_classic")
    fit.add_argument("--out", type=Path, required=True, help="output fit file (.nc)")
    fit.add_argument("--chains", type=int, default=None, help="number of chains (model default)")
    fit.add_argument("--warmup", type=int, default=None, help="warmup iterations per chain")
    fit.add_argument("--draws", type=int, default=None, help="posterior draws per chain")
    fit.add_argument("--seed", type=int, required=True, help="random seed (integer)")
    fit.add_argument("--store-data", action="store_true",
                     help="keep the observed values in the fit file (off: no patient values)")
    fit.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    fit.add_argument("--dayfirst", action=argparse.BooleanOptionalAction, default=None,
                     help="read dates as day-first")
    fit.set_defaults(handler=_cmd_fit)

    def add_twin_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("fit", type=Path, help="fit file (.nc) from `bayestwin fit`")
        command.add_argument("--patient", required=True, help="patient identifier")
        command.add_argument("--new", type=Path, default=None,
                             help="cohort folder of patients outside the fit (dynamic prediction)")
        command.add_argument("--update-population", action="store_true",
                             help="with --new: let the new patient's data also update the "
                                  "population posterior, by weighting its draws (as a refit "
                                  "that adds the patient)")
        command.add_argument("--cohort", type=Path, default=None,
                             help="cohort folder of the fit (default: the path it records)")
        command.add_argument("--start", type=float, default=None,
                             help="scenario start in years since entry (default: the day after "
                                  "the last observation)")
        command.add_argument("--horizon", type=float, default=10.0, help="horizon in years")
        command.add_argument("--seed", type=int, default=0,
                             help="seed of the predictive draws (default 0)")
        command.add_argument("--max-draws", type=int, default=1000,
                             help="use at most this many posterior draws")

    ppc = commands.add_parser("ppc", help="prior or posterior predictive checks of a fit, "
                                          "with plots")
    ppc.add_argument("fit", type=Path, help="fit file (.nc) from `bayestwin fit`")
    ppc.add_argument("--cohort", type=Path, default=None,
                     help="cohort folder of the fit (default: the path it records)")
    ppc.add_argument("--prior", action="store_true",
                     help="draw the parameters from their priors (default: the posterior)")
    ppc.add_argument("--draws", type=int, default=200, help="replicated data sets (default 200)")
    ppc.add_argument("--seed", type=int, default=0, help="seed of the replicated data")
    ppc.add_argument("--out", type=Path, required=True, help="folder for the plots and table")
    ppc.set_defaults(handler=_cmd_ppc)

    twin = commands.add_parser("twin", help="a patient's twin under treatment scenarios")
    add_twin_options(twin)
    twin.add_argument("--scenario", action="append", required=True,
                      help="plan such as 'atorvastatin:80+ezetimibe:10' (repeat; the first is "
                           "the reference; 'current' keeps the treatment)")
    twin.add_argument("--out", type=Path, required=True, help="output file (.nc) of the draws")
    twin.set_defaults(handler=_cmd_twin)

    compare = commands.add_parser("compare", help="compare treatment plans over the cohort")
    compare.add_argument("fit", type=Path, help="fit file (.nc)")
    compare.add_argument("--plan", action="append", required=True,
                         help="scenario string or strategy (esc-goal); repeat; first = reference")
    compare.add_argument("--by", default=None,
                         help="subgroups: variant_class, sex or lpa_above_50")
    compare.add_argument("--horizon", type=float, default=10.0, help="horizon in years")
    compare.add_argument("--cohort", type=Path, default=None, help="cohort folder of the fit")
    compare.add_argument("--max-draws", type=int, default=400,
                         help="use at most this many posterior draws")
    compare.add_argument("--out", type=Path, required=True, help="output file (.nc)")
    compare.set_defaults(handler=_cmd_compare)

    report = commands.add_parser("report", help="one-page clinician report (HTML, PDF)")
    add_twin_options(report)
    report.add_argument("--scenario", action="append", default=None,
                        help="plans to compare (default: current and the usual escalation; "
                             "current alone for a model without the treatment block)")
    report.add_argument("--lang", choices=("fr", "en"), default="fr", help="report language")
    report.add_argument("--format", default="html,pdf", help="html, pdf or html,pdf")
    report.add_argument("--out", type=Path, required=True, help="output folder")
    report.add_argument("--allow-unconverged", action="store_true",
                        help="report a fit that failed the convergence gate (with a banner)")
    report.set_defaults(handler=_cmd_report)

    riskscore = commands.add_parser("riskscore", help="published risk equations for patients")
    riskscore.add_argument("cohort", type=Path, help="cohort folder")
    riskscore.add_argument("--patient", default=None, help="one patient (default: all)")
    riskscore.add_argument("--at", type=float, default=None,
                           help="assessment time in years since entry (default: entry)")
    riskscore.add_argument("--general-population", action="store_true",
                           help="the cohort is not FH (by default patients are taken as FH, "
                                "for whom population scores do not apply)")
    riskscore.add_argument("--out", type=Path, default=None, help="CSV file of the table")
    riskscore.set_defaults(handler=_cmd_riskscore)

    demo = commands.add_parser("demo", help="run the whole chain on a simulated FH cohort")
    demo.add_argument("--out", type=Path, required=True, help="output folder")
    demo.add_argument("--quick", action="store_true", help="a smaller, faster run for trying")
    demo.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    demo.set_defaults(handler=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler: Handler = args.handler
    try:
        return handler(args)
    except BayestwinError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
