"""Time a new patient's twin and the streamed risk summaries of many new patients.

Usage (repository root; not part of the tests):

    .venv/bin/python benchmarks/twin_speed.py --fit-patients 200 --new-patients 10000

1. Fits the FH twin to a simulated cohort (or loads ``--fit FILE``).
2. Conditions one new patient on the population posterior and builds the
   twin: 1,000 draws, 5 scenarios, 10-year horizon on a monthly grid; the
   median of 5 warm runs is reported.
3. Streams risk summaries (5 scenarios, 5- and 10-year horizons, 1,000 draws)
   for many new patients, batch by batch, keeping only the summaries, and
   reports the wall time and the peak memory after the first and last batch.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

SCENARIOS = ["current", "atorvastatin:40", "atorvastatin:80", "atorvastatin:80+ezetimibe:10",
             "atorvastatin:80+ezetimibe:10+evolocumab:140"]


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", default=None, help="existing fit file (.nc)")
    parser.add_argument("--fit-patients", type=int, default=200)
    parser.add_argument("--new-patients", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import jax

    from bayestwin.inference import fit, load_fit
    from bayestwin.simulate import simulate_cohort
    from bayestwin.twin.api import make_twin
    from bayestwin.twin.stream import stream_risk_summaries
    from bayestwin.workflow import new_patient_draws

    simulated = simulate_cohort(args.fit_patients, seed=args.seed)
    fitted = (load_fit(args.fit) if args.fit else
              fit(simulated.cohort, "fh_twin", seed=args.seed, chains=2, warmup=500, draws=500,
                  progress_bar=False))
    new = simulate_cohort(args.new_patients, seed=args.seed + 1000)
    patient = str(new.cohort.patients.index[0])

    timings, conditioning = [], []
    for _ in range(6):
        started = time.perf_counter()
        draws, select = new_patient_draws(fitted, new.cohort, patient, seed=1, max_draws=1000)
        conditioned = time.perf_counter()
        twin = make_twin(fitted, new.cohort, patient, SCENARIOS, seed=1, draws=draws,
                         select=select)
        jax.block_until_ready(twin.trajectories["cumulative_incidence"].values)
        timings.append(time.perf_counter() - started)
        conditioning.append(conditioned - started)
    print(f"new patient twin: median of 5 warm runs {statistics.median(timings[1:]):.3f} s, "
          f"of which conditioning {statistics.median(conditioning[1:]):.3f} s "
          f"(first run, with compilation: {timings[0]:.1f} s)")

    started = time.perf_counter()
    memory = []
    count = 0
    for batch in stream_risk_summaries(fitted, new.cohort, SCENARIOS, batch_size=args.batch,
                                       horizons=(5.0, 10.0), max_draws=1000, seed=1):
        count += batch["patient_id"].nunique()
        memory.append(peak_gb())
    elapsed = time.perf_counter() - started
    print(f"{count} new patients' risk summaries in {elapsed:.1f} s; "
          f"peak memory after first batch {memory[0]:.2f} GB, after last {memory[-1]:.2f} GB")


if __name__ == "__main__":
    main()
