"""Time `bayestwin.data.read_cohort` on a large synthetic cohort.

The script writes a synthetic cohort (default 100,000 patients, about 20
measurements each) into a temporary folder. A fresh child process reads and
validates it several times, and the script reports the median wall time and
the child's peak resident memory. Nothing is written into the repository.

    python benchmarks/read_cohort.py                  # CSV, ISO dates
    python benchmarks/read_cohort.py --french         # ';', decimal commas, DD/MM/YYYY, g/L
    python benchmarks/read_cohort.py --format parquet

The values are random, not clinically calibrated: the cohort exercises the
reader (dates, unit conversion, every check), not the model.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

MARKER_MIX = (  # marker, unit, share of rows, log-normal median and spread in that unit
    ("ldl_c", "mmol/L", 0.45, 4.5, 0.35),
    ("hdl_c", "mmol/L", 0.15, 1.3, 0.25),
    ("total_c", "mmol/L", 0.15, 6.5, 0.25),
    ("tg", "mmol/L", 0.15, 1.3, 0.45),
    ("lpa", "mg/dL", 0.05, 20.0, 1.0),
    ("sbp", "mmHg", 0.05, 130.0, 0.12),
)
STATINS = ("atorvastatin", "rosuvastatin", "simvastatin", "ezetimibe")
DOSES = {"atorvastatin": (10, 20, 40, 80), "rosuvastatin": (5, 10, 20, 40),
         "simvastatin": (10, 20, 40), "ezetimibe": (10,)}


def generate(folder: Path, patients: int, per_patient: float, *, seed: int, french: bool,
             file_format: str) -> dict[str, int]:
    """Write a synthetic cohort into `folder` and return the row count of each table."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("P", np.arange(patients).astype(str))
    entry = np.datetime64("2005-01-01") + rng.integers(0, 365 * 10, patients).astype(
        "timedelta64[D]")
    follow_up_days = rng.integers(365, 365 * 15, patients)
    end = entry + follow_up_days.astype("timedelta64[D]")
    patients_table = pd.DataFrame({
        "patient_id": ids,
        "sex": rng.choice(["F", "M"], patients),
        "age_at_entry": np.round(rng.uniform(18, 75, patients), 1),
        "entry_date": entry,
        "end_date": end,
        "prior_ascvd": rng.random(patients) < 0.1,
        "smoking": rng.choice(["current", "former", "never"], patients),
        "diabetes": rng.random(patients) < 0.08,
        "hypertension": rng.random(patients) < 0.25,
        "centre": rng.choice(["lyon", "lille", "paris", "nantes"], patients),
    })

    # Measurements: a Poisson number per patient, at days within follow-up.
    counts = rng.poisson(per_patient, patients)
    owner = np.repeat(np.arange(patients), counts)
    rows = owner.size
    day = (rng.random(rows) * follow_up_days[owner]).astype(np.int64)
    kind = rng.choice(len(MARKER_MIX), rows, p=[share for _, _, share, _, _ in MARKER_MIX])
    median = np.array([m for *_, m, _ in MARKER_MIX])[kind]
    spread = np.array([s for *_, s in MARKER_MIX])[kind]
    # Clipped to three spreads, so every value is plausible (a few are atypical).
    noise = np.clip(rng.standard_normal(rows), -3, 3)
    value = np.round(median * np.exp(spread * noise), 2)
    unit = np.array([u for _, u, *_ in MARKER_MIX], dtype=object)[kind]
    if french:
        # French labs report lipids in g/L.
        lipid = np.isin(kind, [0, 1, 2])
        value = np.where(lipid, np.round(value * 0.3867, 2), value)
        unit = np.where(lipid, "g/L", unit)
    measurements = pd.DataFrame({
        "patient_id": ids[owner],
        "date": entry[owner] + day.astype("timedelta64[D]"),
        "marker": np.array([m for m, *_ in MARKER_MIX], dtype=object)[kind],
        "value": value,
        "unit": unit,
    })

    # Treatments: one or two periods per patient, some started before entry.
    periods = rng.integers(1, 3, patients)
    owner = np.repeat(np.arange(patients), periods)
    drug = rng.choice(STATINS, owner.size)
    dose = np.zeros(owner.size)
    for name in STATINS:
        of_drug = drug == name
        dose[of_drug] = rng.choice(DOSES[name], int(of_drug.sum()))
    start = np.round(rng.uniform(-5, 3, owner.size), 3)
    treatments = pd.DataFrame({
        "patient_id": ids[owner], "drug": drug, "dose_mg": dose,
        "start": start, "stop": np.where(rng.random(owner.size) < 0.5, np.nan, start + 2),
        "adherence": np.round(rng.uniform(0.5, 1, owner.size), 2),
    })

    # Events: about one patient in ten, within follow-up.
    has_event = rng.random(patients) < 0.1
    event_owner = np.flatnonzero(has_event)
    events = pd.DataFrame({
        "patient_id": ids[event_owner],
        "time": np.round(rng.random(event_owner.size) * follow_up_days[event_owner] / 365.25, 3),
        "event": rng.choice(["mi", "stroke", "revascularisation"], event_owner.size),
    })

    tables = {"patients": patients_table, "measurements": measurements,
              "treatments": treatments, "events": events}
    for name, frame in tables.items():
        if file_format == "parquet":
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        elif french:
            frame.to_csv(folder / f"{name}.csv", sep=";", decimal=",", index=False,
                         date_format="%d/%m/%Y", encoding="utf-8-sig")
        else:
            frame.to_csv(folder / f"{name}.csv", index=False, date_format="%Y-%m-%d")
    return {name: len(frame) for name, frame in tables.items()}


def measure(folder: Path, runs: int) -> dict[str, object]:
    """Read the cohort `runs` times in this process; return timings and peak memory."""
    from bayestwin.data import read_cohort

    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            cohort = read_cohort(folder)
        timings.append(time.perf_counter() - started)
        del cohort
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"seconds": timings, "median_seconds": statistics.median(timings),
            "peak_rss_mib": peak_kib / 1024}


def main() -> None:
    """Generate the cohort, measure the reader in a child process and print the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000, help="number of patients")
    parser.add_argument("--per-patient", type=float, default=20.0,
                        help="mean number of measurements per patient")
    parser.add_argument("--runs", type=int, default=3, help="timed reads (median reported)")
    parser.add_argument("--seed", type=int, default=20240501, help="random seed of the cohort")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv",
                        help="file format of the tables")
    parser.add_argument("--french", action="store_true",
                        help="CSV as a French export: ';', decimal commas, DD/MM/YYYY, g/L")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure is not None:
        result = measure(args.measure, args.runs)
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory(prefix="bayestwin-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        counts = generate(folder, args.patients, args.per_patient, seed=args.seed,
                          french=args.french, file_format=args.format)
        generated = time.perf_counter() - started
        size = sum(path.stat().st_size for path in folder.iterdir()) / 2**20
        command = [sys.executable, __file__, "--measure", str(folder), "--runs", str(args.runs)]
        child = subprocess.run(command, capture_output=True, text=True, check=True)
        result = json.loads(child.stdout.strip().splitlines()[-1])

    rows = ", ".join(f"{name} {count:,}" for name, count in counts.items())
    style = "French CSV" if args.french else args.format
    print(f"cohort: {rows} ({style}, {size:.0f} MiB, generated in {generated:.1f} s)")
    runs = ", ".join(f"{seconds:.2f}" for seconds in result["seconds"])
    print(f"read_cohort: median {result['median_seconds']:.2f} s over {args.runs} runs ({runs} s)")
    print(f"peak RSS of the reading process: {result['peak_rss_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
