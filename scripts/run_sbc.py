"""Run simulation-based calibration of a model file and write ranks, band checks and a plot.

Example (the run documented in docs/validation.md)::

    python scripts/run_sbc.py --model lipid_response --seed 20240601 --out sbc_out

Files written to ``--out``, with MODEL the model name:

- ``sbc_ranks_MODEL.csv``: one row per replicate, one rank column per quantity;
- ``sbc_diagnostics_MODEL.csv``: divergences, smallest bulk ESS, events, timings;
- ``sbc_bands_MODEL.csv``: for each quantity, whether its rank ECDF leaves the band;
- ``sbc_MODEL.png``: the ECDF-difference plot with the simultaneous bands;
- ``sbc_MODEL.json``: provenance (versions, model file and code hashes, seeds,
  settings, timings);
- ``sbc_results_MODEL.jsonl``: each replicate's result as it finishes, read
  back when the same command is run again, so a stopped run resumes;
- ``code_snapshot/``: the copy of bayestwin that the workers import.

Replicates run in ``--workers`` processes. Compiled samplers are kept in a
JAX persistent compilation cache (``--cache-dir``). The generators give every
replicate of a model the same array shapes, so a worker compiles the sampler
for its first replicate only.

NOTE: the cache missed between worker processes in the runs on Python 3.11.7
and JAX 0.10, so each new pool pays one compilation (about 20 s).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import multiprocessing
import os
import platform
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger("run_sbc")

WORKER_TASKS = 10
"""Replicates a worker process runs before it is replaced (bounds its memory).

Each replicate, and each extension of a chain with ``--min-ess``, loads
compiled code that the worker keeps mapped. At 50 replicates per worker,
workers of the ``--min-ess`` run of 2026-12-05 failed to map memory for new
code ("LLVM compilation error: Cannot allocate memory") after 10 to 40
replicates."""

POOL_RESTARTS = 3
"""How many times a new pool takes over after a worker process died."""


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, choices=("lipid_response", "joint_classic"),
                        help="built-in model file to calibrate")
    parser.add_argument("--replicates", type=int, default=200,
                        help="number of simulated data sets (default 200)")
    parser.add_argument("--patients", type=int, default=30,
                        help="patients per simulated cohort (default 30)")
    parser.add_argument("--seed", type=int, required=True,
                        help="root seed; each replicate's seed is derived from it")
    parser.add_argument("--out", type=Path, required=True, help="output folder")

    parser.add_argument("--warmup", type=int, default=500,
                        help="NUTS warmup iterations per replicate (default 500)")
    parser.add_argument("--rank-draws", type=int, default=99,
                        help="posterior draws kept per rank, so ranks run 0..N (default 99)")
    parser.add_argument("--thin", type=int, default=10,
                        help="keep every THIN-th draw; a replicate runs THIN * rank-draws "
                             "draws (default 10)")
    parser.add_argument("--chains", type=int, default=1,
                        help="chains per replicate (default 1)")
    parser.add_argument("--mass", choices=("fit", "diagonal"), default="fit",
                        help="fit: the kernel of bayestwin fit (dense population block); "
                             "diagonal: the runs before 2026-12-05 (default fit)")
    parser.add_argument("--min-ess", type=int, default=None,
                        help="keep sampling until the smallest bulk ESS reaches MIN_ESS, "
                             "then spread the kept draws over the chain (default: off)")
    parser.add_argument("--max-extensions", type=int, default=15,
                        help="with --min-ess, most extra batches of THIN * rank-draws draws "
                             "(default 15)")
    parser.add_argument("--target-accept", type=float, default=None,
                        help="NUTS target acceptance (default: the model file's value)")
    parser.add_argument("--horizon", type=float, default=10.0,
                        help="joint_classic: end of the study in years (default 10)")

    parser.add_argument("--alpha", type=float, default=0.05,
                        help="family-wise level of the band check over all quantities "
                             "(default 0.05)")

    parser.add_argument("--workers", type=int, default=2,
                        help="worker processes (default 2)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="JAX compilation cache folder (default OUT/jax_cache)")
    parser.add_argument("--from-ranks", type=Path, default=None,
                        help="skip sampling: check bands and plot an existing ranks CSV")
    return parser.parse_args(argv)


def init_worker(cache_dir: str) -> None:
    """Set up a worker process: logging and the shared compilation cache."""
    import jax

    import bayestwin

    logging.basicConfig(level=logging.WARNING)
    logger.setLevel(logging.INFO)
    logger.info("worker %d imports %s", os.getpid(), bayestwin.__file__)
    jax.config.update("jax_compilation_cache_dir", cache_dir)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def code_hashes(package: Path) -> dict[str, str]:
    """Return the SHA-256 of each model source file and of the SBC module in `package`."""
    files = sorted((package / "model").glob("*.py")) + [package / "validate" / "sbc.py"]
    return {str(path.relative_to(package.parent)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in files}


def freeze_code(out: Path) -> Path:
    """Copy the bayestwin package to ``OUT/code_snapshot`` and put it first on the workers' path.

    Workers are replaced during a run and import bayestwin again. The copy
    keeps every replicate on the code that the run started with, even when
    the source tree changes meanwhile. A resumed run reuses the existing copy.
    """
    import bayestwin

    snapshot = out / "code_snapshot"
    package = snapshot / "bayestwin"
    if package.exists():
        logger.info("workers import the code snapshot of the first run in %s", snapshot)
    else:
        source = Path(bayestwin.__file__).resolve().parent
        shutil.copytree(source, package, ignore=shutil.ignore_patterns("__pycache__"))
    # Spawned workers start with a copy of this process's sys.path, so the copy goes first.
    sys.path.insert(0, str(snapshot.resolve()))
    return package


def read_finished(path: Path, seeds: list[int], settings_record: dict) -> dict[int, dict]:
    """Return the results already in a results file, by replicate index, for resuming a run.

    Raises
    ------
    ValueError
        The file comes from a run with other settings or seeds.

    """
    finished = {}
    if not path.exists():
        return finished
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        index = record["replicate"]
        if record["settings"] != settings_record or seeds[index] != record["seed"]:
            raise ValueError(f"{path} contains results of a run with other settings or seeds "
                             f"(replicate {index}); use another --out folder or delete the file.")
        finished[index] = record["result"]
    return finished


def run(arguments: argparse.Namespace) -> list:
    """Run the replicates in worker processes and return their results in replicate order.

    Each finished replicate is appended to ``sbc_results_MODEL.jsonl`` at once,
    and a run started again with the same arguments skips the replicates
    found there. A replicate that raises is logged and left out. When a worker
    dies (for example out of memory), a new pool takes the remaining
    replicates, up to `POOL_RESTARTS` times.
    """
    from bayestwin.spec import load_spec
    from bayestwin.validate.sbc import SBCSettings, replicate_seeds, run_replicate_task

    spec = load_spec(arguments.model)
    settings = SBCSettings(patients=arguments.patients, warmup=arguments.warmup,
                           rank_draws=arguments.rank_draws, thin=arguments.thin,
                           chains=arguments.chains, target_accept=arguments.target_accept,
                           horizon=arguments.horizon, mass=arguments.mass,
                           min_ess=arguments.min_ess, max_extensions=arguments.max_extensions)
    settings_record = {key: getattr(settings, key) for key in settings.__dataclass_fields__}
    seeds = replicate_seeds(arguments.seed, arguments.replicates)
    cache_dir = arguments.cache_dir or arguments.out / "jax_cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    results_path = arguments.out / f"sbc_results_{arguments.model}.jsonl"
    results = read_finished(results_path, seeds, settings_record)
    if results:
        logger.info("resuming: %d replicates already in %s", len(results), results_path)
    failed: dict[int, str] = {}

    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")  # JAX is not fork-safe
    restarts = 0
    while True:
        pending = [index for index in range(len(seeds))
                   if index not in results and index not in failed]
        if not pending:
            break
        # A worker's memory grows with every replicate, so every batch of WORKER_TASKS
        # replicates per worker gets a fresh pool, whose workers compile the sampler again.
        # max_tasks_per_child is not used: it hung on Python 3.11.7.
        batch = pending[: arguments.workers * WORKER_TASKS]
        try:
            with ProcessPoolExecutor(max_workers=arguments.workers, mp_context=context,
                                     initializer=init_worker,
                                     initargs=(str(cache_dir),)) as pool:
                futures = {pool.submit(run_replicate_task,
                                       (spec.text, spec.source, seeds[index], settings)): index
                           for index in batch}
                for future in as_completed(futures):
                    index = futures[future]
                    error = future.exception()
                    if isinstance(error, BrokenProcessPool):
                        raise error
                    if error is not None:
                        failed[index] = repr(error)
                        logger.error("replicate %d (seed %d) failed: %r", index, seeds[index],
                                     error)
                        continue
                    results[index] = future.result()
                    with results_path.open("a", encoding="utf-8") as stream:
                        stream.write(json.dumps({"replicate": index, "seed": seeds[index],
                                                 "settings": settings_record,
                                                 "result": results[index]}) + "\n")
                    log_progress(results[index]["diagnostics"], index, seeds[index],
                                 len(results) + len(failed), len(seeds), started)
        except BrokenProcessPool as error:
            restarts += 1
            if restarts > POOL_RESTARTS:
                logger.error("a worker process died (%s), restart %d is over the limit; stopping",
                             error, restarts)
                break
            logger.error("a worker process died (%s); starting a new pool (restart %d of %d)",
                         error, restarts, POOL_RESTARTS)
    missing = [index for index in range(len(seeds)) if index not in results]
    if missing:
        logger.error("%d replicates have no result: %s", len(missing), missing)
    return [settings, seeds, results, failed, time.perf_counter() - started]


def log_progress(diagnostics: dict, index: int, seed: int, done: int, total: int,
                 started: float) -> None:
    """Log one finished replicate and the estimated time left."""
    elapsed = time.perf_counter() - started
    logger.info("replicate %d (seed %d): %.1f s, %d divergences, min bulk ESS %.0f (%s); "
                "%d/%d done, %.0f s elapsed", index, seed, diagnostics["seconds"],
                diagnostics["divergences"], diagnostics["min_ess_bulk"],
                diagnostics["min_ess_quantity"], done, total, elapsed)


def main(argv: list[str] | None = None) -> int:
    """Run SBC for one model and write its ranks, diagnostics, band check, plot and provenance."""
    arguments = parse_arguments(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    logger.setLevel(logging.INFO)
    import pandas as pd

    from bayestwin.inference.provenance import package_versions
    from bayestwin.spec import load_spec
    from bayestwin.validate.sbc import band_check, plot_sbc, results_to_frames

    out = arguments.out
    out.mkdir(parents=True, exist_ok=True)
    name = arguments.model
    provenance = {}
    if arguments.from_ranks is not None:
        ranks = pd.read_csv(arguments.from_ranks)
    else:
        hashes = code_hashes(freeze_code(out))
        settings, seeds, results, failed, seconds = run(arguments)
        done = sorted(results)
        ranks, diagnostics = results_to_frames([results[i] for i in done],
                                               [seeds[i] for i in done], settings,
                                               replicates=done)
        ranks.to_csv(out / f"sbc_ranks_{name}.csv", index=False)
        diagnostics.to_csv(out / f"sbc_diagnostics_{name}.csv", index=False)
        spec = load_spec(name)
        provenance = {
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join([sys.executable, *sys.argv]),
            "package_versions": package_versions(), "python": platform.python_version(),
            "platform": platform.platform(), "model_name": spec.name,
            "model_sha256": spec.sha256, "code_sha256": hashes,
            "seed": arguments.seed, "replicates": arguments.replicates,
            "replicates_done": len(done),
            "failed": {str(seeds[i]): message for i, message in failed.items()},
            "workers": arguments.workers,
            "settings": {key: getattr(settings, key) for key in settings.__dataclass_fields__},
            "wall_seconds_this_invocation": seconds,
            "replicate_seconds_mean": float(diagnostics["seconds"].mean()),
            "divergent_replicates": int((diagnostics["divergences"] > 0).sum()),
        }

    checked = band_check(ranks, alpha=arguments.alpha)
    checked.to_csv(out / f"sbc_bands_{name}.csv", index=False)
    outside = checked.loc[checked["outside"], "quantity"].tolist()
    figure = plot_sbc(ranks, alpha=arguments.alpha, title=f"SBC of {name}")
    figure.savefig(out / f"sbc_{name}.png", dpi=110)
    if provenance:
        provenance["outside_band"] = outside
        (out / f"sbc_{name}.json").write_text(json.dumps(provenance, indent=2), encoding="utf-8")
    logger.info("%d replicates, %d quantities; outside their band: %s", len(ranks),
                len(checked), ", ".join(outside) or "none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
