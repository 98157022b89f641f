"""Classic joint model: bayestwin (NumPyro NUTS) against rstanarm's stan_jm (Stan NUTS).

Both fit the same specification, ``models/joint_classic.toml``: log marker
~ time * sex with a random intercept and slope, hazard ~ female + the current
value of the marker's linear predictor, cubic B-spline log baseline hazard,
15-node quadrature. Priors are matched where both packages allow (see
``peer_rstanarm.R``); the baseline hazards differ (bayestwin: random-walk
prior on 8 spline coefficients; stan_jm: ``basehaz = "bs"`` with 6 degrees of
freedom, independent normal priors, and its own intercept), so posterior
means are compared within 3 Monte Carlo standard errors only as a check, not
as an identity.

Two cohorts: (a) the Mayo PBC data (``pbc2``, 312 patients), read from the
reference data folder (``BAYESTWIN_SHARED_DATA`` or ``shared/data`` beside the
checkout), and (b) a cohort simulated from the classic joint model
(`bayestwin.simulate.joint_classic`, 1,000 patients by default).

Reported per cohort and package: wall time of the fit call (bayestwin:
``fit`` with the conversion to InferenceData and the convergence gate;
stan_jm: the whole ``stan_jm`` call, with its preliminary lme fit for the
initial values); compile time (bayestwin: the warmup and sampling phases of
a 1-warmup, 2-draw fit of the same model, run first; Stan models in
rstanarm are compiled when the package is built, so 0); warmup and sampling
seconds of the sampler itself; minimum bulk ESS and maximum R-hat over the population
parameters and every patient's random effects; ESS per second of warmup and
sampling; an estimate of the time to reach a minimum bulk ESS of 400 (compile
+ warmup + sampling time scaled to 400 / min ESS, when R-hat <= 1.01); and
the speed ratio.

Setup (not done by this script): ``apt-get update && apt-get install -y
r-cran-rstanarm`` on Debian or Ubuntu, or ``install.packages("rstanarm")`` in
R. Without ``Rscript`` or rstanarm the script says so and exits with status 0.

Usage::

    .venv/bin/python benchmarks/peer_rstanarm.py --out out/peer_rstanarm
    .venv/bin/python benchmarks/peer_rstanarm.py --cohorts simulated --patients 1000
    .venv/bin/python benchmarks/peer_rstanarm.py --reuse-stan   # rerun bayestwin only

Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohorts", nargs="+", default=["pbc2", "simulated"],
                        choices=["pbc2", "simulated"], help="cohorts to fit")
    parser.add_argument("--patients", type=int, default=1000,
                        help="patients in the simulated cohort (default 1000)")
    parser.add_argument("--chains", type=int, default=2, help="chains per fit (default 2)")
    parser.add_argument("--warmup", type=int, default=1000,
                        help="warmup iterations per chain (default 1000)")
    parser.add_argument("--draws", type=int, default=1000,
                        help="kept iterations per chain (default 1000)")
    parser.add_argument("--target-accept", type=float, default=0.95,
                        help="NUTS target acceptance (adapt_delta) for both (default 0.95)")
    parser.add_argument("--seed", type=int, default=20240611, help="seed for both packages")
    parser.add_argument("--out", type=Path, default=Path("out/peer_rstanarm"),
                        help="folder for the R inputs, outputs and the results JSON")
    parser.add_argument("--packages", nargs="+", default=["bayestwin", "stan_jm"],
                        choices=["bayestwin", "stan_jm"], help="packages to run (default both)")
    parser.add_argument("--reuse-stan", action="store_true",
                        help="read stan_jm's outputs from an earlier run in --out instead of "
                             "running it again (same cohorts and settings)")
    return parser.parse_args()


def r_available() -> str | None:
    """Return None when Rscript and rstanarm are usable, else the reason they are not."""
    if shutil.which("Rscript") is None:
        return "Rscript not found on PATH"
    check = subprocess.run(["Rscript", "-e", "cat(requireNamespace('rstanarm', quietly=TRUE))"],
                           capture_output=True, text=True, check=False)
    if check.stdout.strip() != "TRUE":
        return "the R package rstanarm is not installed"
    return None


# Inputs ---------------------------------------------------------------------


def load_cohort(name: str, patients: int, seed: int):
    if name == "pbc2":
        from bayestwin.adapters.pbc import pbc_cohort
        from bayestwin.testing import shared_data_dir

        folder = shared_data_dir()
        if folder is None or not (folder / "pbc2.csv").is_file():
            return None
        return pbc_cohort(folder / "pbc2.csv", folder / "pbc2_id.csv", markers=("bilirubin",))
    from bayestwin.simulate.joint_classic import simulate_joint_classic

    return simulate_joint_classic(patients, seed=seed)


def write_r_inputs(cohort, folder: Path, stem: str) -> tuple[Path, Path]:
    """Write the long and event tables in the layout peer_rstanarm.R reads."""
    import numpy as np
    import pandas as pd

    number = {patient: i + 1 for i, patient in enumerate(cohort.patients.index)}
    rows = cohort.measurements[cohort.measurements["marker"] == "bilirubin"]
    male = (cohort.patients["sex"] == "M").astype(int)
    long = pd.DataFrame({
        "id": rows["patient_id"].map(number).to_numpy(),
        "year": rows["time"].to_numpy(),
        "log_marker": np.log(rows["value"].to_numpy()),
        "male": male.loc[rows["patient_id"]].to_numpy(),
    })
    endpoint = cohort.events[cohort.events["event"].isin(["death", "transplant"])]
    event = pd.DataFrame({
        "id": [number[p] for p in cohort.patients.index],
        "years": cohort.patients["end_time"].to_numpy(),
        "status": cohort.patients.index.isin(endpoint["patient_id"]).astype(int),
        "female": 1 - male.to_numpy(),
    })
    long_path, event_path = folder / f"{stem}_long.csv", folder / f"{stem}_event.csv"
    long.to_csv(long_path, index=False)
    event.to_csv(event_path, index=False)
    return long_path, event_path


# bayestwin ------------------------------------------------------------------

COMMON = ["alpha", "female", "sd_intercept", "sd_slope", "correlation", "sigma_y",
          "beta_intercept", "beta_time", "beta_male", "beta_time_male"]
"""Population quantities compared between the packages (bayestwin's sex term is male)."""


def bayestwin_quantities(idata):
    """Return chain x draw arrays of the common quantities from a bayestwin fit."""
    posterior = idata.posterior
    return {
        "alpha": posterior["alpha_value"].values,
        "female": posterior["beta_event"].values[..., 0],
        "sd_intercept": posterior["sigma_b"].values[..., 0],
        "sd_slope": posterior["sigma_b"].values[..., 1],
        "correlation": posterior["corr_b"].values[..., 0, 1],
        "sigma_y": posterior["sigma_y"].values,
        "beta_intercept": posterior["beta_long"].values[..., 0],
        "beta_time": posterior["beta_long"].values[..., 1],
        "beta_male": posterior["beta_long"].values[..., 2],
        "beta_time_male": posterior["beta_long"].values[..., 3],
    }


def run_bayestwin(cohort, arguments) -> dict:
    import arviz as az
    import numpy as np

    from bayestwin.inference import fit

    settings = {"chains": arguments.chains, "target_accept": arguments.target_accept,
                "progress_bar": False, "seed": arguments.seed}

    # Compile time: the warmup and sampling phases of a 1 + 2 iteration fit (the gate
    # needs two draws per chain for E-BFMI). JAX keeps the compiled executables in
    # memory, so the timed fit that follows compiles little or nothing again.
    tiny = fit(cohort, "joint_classic", warmup=1, draws=2, **settings)
    timings = json.loads(tiny.idata.attrs["timings"])
    compile_seconds = timings["warmup_seconds"] + timings["sampling_seconds"]

    started = time.perf_counter()
    result = fit(cohort, "joint_classic", warmup=arguments.warmup, draws=arguments.draws,
                 **settings)
    wall = time.perf_counter() - started
    timings = json.loads(result.idata.attrs["timings"])
    steps = result.idata.sample_stats["n_steps"].values if (
        "n_steps" in result.idata.sample_stats) else np.zeros(1)

    quantities = bayestwin_quantities(result.idata)
    random_effects = result.idata.posterior["b"].values
    flat = random_effects.reshape(random_effects.shape[:2] + (-1,))
    ess = [float(az.ess(values)) for values in quantities.values()]
    ess += [float(az.ess(flat[..., k])) for k in range(flat.shape[-1])]
    rhat = [float(az.rhat(values)) for values in quantities.values()]
    rhat += [float(az.rhat(flat[..., k])) for k in range(flat.shape[-1])]
    return {
        "wall_seconds": wall, "compile_seconds": compile_seconds,
        "warmup_seconds": timings["warmup_seconds"],
        "sampling_seconds": timings["sampling_seconds"],
        "mean_leapfrog_steps": float(np.mean(steps)),
        "divergences": int(result.idata.sample_stats["diverging"].values.sum()),
        "min_ess_bulk": float(np.min(ess)), "max_rhat": float(np.max(rhat)),
        "summary": {name: summarise(values) for name, values in quantities.items()},
        "gate_passed": bool(result.gate.passed),
    }


def summarise(values) -> dict:
    import arviz as az
    import numpy as np

    return {"mean": float(values.mean()), "sd": float(values.std()),
            "mcse": float(np.ravel(az.mcse(values))[0]), "ess_bulk": float(az.ess(values))}


# stan_jm --------------------------------------------------------------------


def stan_quantities(draws):
    """Return chain x draw arrays of the common quantities from stan_jm's draws CSV."""
    import numpy as np

    chains = sorted(draws["chain"].unique())

    def column(name):
        return np.stack([draws.loc[draws["chain"] == c, name].to_numpy() for c in chains])

    var_intercept = column("Sigma[id:Long1|(Intercept),Long1|(Intercept)]")
    var_slope = column("Sigma[id:Long1|year,Long1|year]")
    covariance = column("Sigma[id:Long1|year,Long1|(Intercept)]")
    return {
        "alpha": column("Assoc|Long1|etavalue"),
        "female": column("Event|female"),
        "sd_intercept": np.sqrt(var_intercept),
        "sd_slope": np.sqrt(var_slope),
        "correlation": covariance / np.sqrt(var_intercept * var_slope),
        "sigma_y": column("Long1|sigma"),
        "beta_intercept": column("Long1|(Intercept)"),
        "beta_time": column("Long1|year"),
        "beta_male": column("Long1|male"),
        "beta_time_male": column("Long1|year:male"),
    }


def run_stan(long_path: Path, event_path: Path, prefix: Path, arguments) -> dict:
    import arviz as az
    import numpy as np
    import pandas as pd

    command = ["Rscript", str(HERE / "peer_rstanarm.R"), str(long_path), str(event_path),
               str(prefix), str(arguments.chains), str(arguments.warmup + arguments.draws),
               str(arguments.seed), str(arguments.target_accept)]
    if arguments.warmup != arguments.draws:
        print("note: stan_jm warms up for half of its iterations; using "
              f"{arguments.warmup + arguments.draws} iterations", file=sys.stderr)
    if arguments.reuse_stan and Path(f"{prefix}_timing.csv").is_file():
        print(f"reusing stan_jm outputs {prefix}_*.csv", file=sys.stderr)
    else:
        subprocess.run(command, check=True)
    timing = pd.read_csv(f"{prefix}_timing.csv").iloc[0]
    summary = pd.read_csv(f"{prefix}_summary.csv")
    draws = pd.read_csv(f"{prefix}_draws.csv")
    quantities = stan_quantities(draws)

    # Same set as for bayestwin: the common quantities and every random effect b.
    random_effects = summary[summary["parameter"].str.startswith("b[")]
    ess = [float(az.ess(values)) for values in quantities.values()]
    ess += random_effects["ess_bulk"].tolist()
    rhat = [float(az.rhat(values)) for values in quantities.values()]
    rhat += random_effects["rhat"].tolist()
    return {
        "wall_seconds": float(timing["wall_seconds"]), "compile_seconds": 0.0,
        "warmup_seconds": float(timing["warmup_seconds"]),
        "sampling_seconds": float(timing["sampling_seconds"]),
        "divergences": int(timing["divergences"]),
        "mean_leapfrog_steps": float(timing.get("mean_leapfrog_steps", float("nan"))),
        "min_ess_bulk": float(np.min(ess)), "max_rhat": float(np.max(rhat)),
        "summary": {name: summarise(values) for name, values in quantities.items()},
        "versions": {"rstanarm": str(timing["rstanarm_version"]),
                     "rstan": str(timing["rstan_version"])},
    }


# Report ---------------------------------------------------------------------


def derived(result: dict) -> dict:
    """Add ESS per second and the estimated time to a minimum bulk ESS of 400."""
    running = result["warmup_seconds"] + result["sampling_seconds"]
    result["ess_per_second"] = result["min_ess_bulk"] / running
    if result["max_rhat"] <= 1.01:
        result["seconds_to_ess_400"] = (result["compile_seconds"] + result["warmup_seconds"]
                                        + result["sampling_seconds"] * 400.0
                                        / result["min_ess_bulk"])
    else:
        result["seconds_to_ess_400"] = None
    return result


def agreement(ours: dict, theirs: dict) -> list[dict]:
    rows = []
    for name in COMMON:
        a, b = ours["summary"][name], theirs["summary"][name]
        error = (a["mcse"] ** 2 + b["mcse"] ** 2) ** 0.5
        rows.append({"quantity": name, "bayestwin": a["mean"], "stan_jm": b["mean"],
                     "z": (a["mean"] - b["mean"]) / error})
    return rows


def markdown(results: dict) -> str:
    lines = ["| cohort | package | wall s | compile s | warmup s | sampling s | divergences "
             "| leapfrog steps | min bulk ESS | max R-hat | ESS/s | s to ESS 400 |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for cohort, pair in results["cohorts"].items():
        for package in ("bayestwin", "stan_jm"):
            if package not in pair:
                continue
            r = pair[package]
            to_400 = "not reached" if r["seconds_to_ess_400"] is None else (
                f"{r['seconds_to_ess_400']:.0f}")
            lines.append(f"| {cohort} | {package} | {r['wall_seconds']:.0f} | "
                         f"{r['compile_seconds']:.0f} | {r['warmup_seconds']:.0f} | "
                         f"{r['sampling_seconds']:.0f} | {r['divergences']} | "
                         f"{r['mean_leapfrog_steps']:.0f} | "
                         f"{r['min_ess_bulk']:.0f} | {r['max_rhat']:.3f} | "
                         f"{r['ess_per_second']:.2f} | {to_400} |")
    lines.append("")
    lines.append("| cohort | quantity | bayestwin | stan_jm | z (MCSE units) |")
    lines.append("|---|---|---|---|---|")
    for cohort, pair in results["cohorts"].items():
        for row in pair.get("agreement", []):
            lines.append(f"| {cohort} | {row['quantity']} | {row['bayestwin']:.4f} | "
                         f"{row['stan_jm']:.4f} | {row['z']:+.1f} |")
    return "\n".join(lines)


def main() -> int:
    arguments = parse_arguments()
    reason = r_available()
    if reason is not None:
        print(f"skipped: {reason}. Install it with `apt-get install -y r-cran-rstanarm` "
              "(after apt-get update) or install.packages('rstanarm') in R.")
        return 0

    # The host device count must be set before JAX starts, so chains run in parallel.
    import numpyro

    numpyro.set_host_device_count(arguments.chains)
    arguments.out.mkdir(parents=True, exist_ok=True)
    results = {"command": " ".join([Path(sys.executable).name, *sys.argv]),
               "machine": {"nproc": os.cpu_count(), "cpu": cpu_model(),
                           "python": platform.python_version()},
               "settings": {key: str(value) for key, value in vars(arguments).items()},
               "cohorts": {}}
    for name in arguments.cohorts:
        cohort = load_cohort(name, arguments.patients, arguments.seed)
        if cohort is None:
            print(f"skipped {name}: pbc2.csv not found in the reference data folder")
            continue
        label = name if name == "pbc2" else f"simulated_{cohort.n_patients}"
        long_path, event_path = write_r_inputs(cohort, arguments.out, label)
        entry = results["cohorts"].setdefault(label, {"patients": cohort.n_patients})
        if "bayestwin" in arguments.packages:
            entry["bayestwin"] = derived(run_bayestwin(cohort, arguments))
            save(results, arguments.out)
        if "stan_jm" in arguments.packages or arguments.reuse_stan:
            entry["stan_jm"] = derived(run_stan(long_path, event_path, arguments.out / label,
                                                arguments))
        if "bayestwin" in entry and "stan_jm" in entry:
            ours, theirs = entry["bayestwin"], entry["stan_jm"]
            entry["ratio_ess_per_second"] = ours["ess_per_second"] / theirs["ess_per_second"]
            entry["agreement"] = agreement(ours, theirs)
            print(f"{label}: ESS/s ratio bayestwin / stan_jm = "
                  f"{entry['ratio_ess_per_second']:.2f}", flush=True)
        save(results, arguments.out)
    print(markdown(results))
    return 0


def save(results: dict, folder: Path) -> None:
    """Write the results so far, so that a run stopped during stan_jm keeps bayestwin's."""
    (folder / "results.json").write_text(json.dumps(results, indent=2))


def cpu_model() -> str:
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True,
                                   check=False).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except FileNotFoundError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    sys.exit(main())
