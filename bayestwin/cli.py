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
