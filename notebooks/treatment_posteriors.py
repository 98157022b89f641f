# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Comparing treatment posteriors
#
# For methods researchers: what a cohort fit estimates about treatments.
#
# 1. LDL-C lowering by drug and dose, with the spread between patients
#    (`ldl_effects`);
# 2. cohort comparison of plans: events averted against current care and the
#    probability that one plan beats another (`compare_plans`);
# 3. subgroup contrasts by FH variant class;
# 4. forest plots.
#
# Every comparison predicts each patient's future under every plan with the
# same posterior draws, so a difference between plans carries the joint
# uncertainty of the model, not two independent intervals.
#
# **Main assumption.** Treatments act on events only through LDL-C and the
# latent atherosclerotic burden. The events averted below follow from the
# LDL-C lowering under this assumption; a drug with effects beyond LDL-C is
# not represented.
#
# **Quick mode.** With `BAYESTWIN_NOTEBOOK_QUICK=1` (set by the test suite)
# the fit is tiny and does not pass the convergence gate: the numbers show
# how to call the API and are not estimates to read.

# %%
import os

QUICK = os.environ.get("BAYESTWIN_NOTEBOOK_QUICK") == "1"
SEED = 1

if QUICK:
    N_PATIENTS, CHAINS, WARMUP, DRAWS, MAX_DRAWS = 50, 1, 150, 150, 150
else:
    N_PATIENTS, CHAINS, WARMUP, DRAWS, MAX_DRAWS = 300, 2, 700, 1000, 400

import numpyro

numpyro.set_host_device_count(CHAINS)

# %% [markdown]
# ## The fit
#
# Fitting is the slow step. When the quickstart notebook has run with the
# same mode, its fit and cohort are in `bayestwin-notebooks/`, and
# `load_fit_with_cohort` loads the fit and re-reads the cohort it was fitted
# to, checking the data hash. Otherwise this cell simulates the same cohort
# and fits it here, with the same settings as the quickstart.

# %%
import re
import warnings
from pathlib import Path

from bayestwin.data import read_cohort
from bayestwin.exceptions import ConvergenceWarning, DataWarning
from bayestwin.inference import fit
from bayestwin.simulate import simulate_cohort
from bayestwin.spec import PRIORS, resolve_model_path
from bayestwin.workflow import load_fit_with_cohort

OUTPUT = Path("bayestwin-notebooks") / ("quick" if QUICK else "full")
FIT_FILE = OUTPUT / "fit.nc"
COHORT_DIR = OUTPUT / "cohort"


def switch_off(text: str, blocks: tuple[str, ...]) -> str:
    """Return model-file text with `blocks` switched off and their priors removed."""
    unused_priors = {name for block in blocks for name in PRIORS[block]}
    lines = []
    for line in text.splitlines():
        key = line.split("=")[0].strip()
        if key in unused_priors:
            continue
        lines.append(f"{key} = false" if key in blocks else line)
    text = "\n".join(lines) + "\n"
    # Microbiome factors also enter untreated LDL-C and susceptibility as covariates.
    for block in blocks:
        text = text.replace(f', "{block}"', "")
    return text


def small_model(text: str) -> str:
    """Return the fh_twin text without imaging and microbiome, renamed, with shallower trees."""
    text = switch_off(text, ("imaging", "microbiome"))
    # A new name, so that the fit's provenance does not claim the full model.
    text = text.replace('name = "fh_twin"', 'name = "fh_small"', 1)
    # At most 2^6 - 1 = 63 gradient evaluations per NUTS iteration.
    text = re.sub(r"(?m)^max_tree_depth\s*=.*$", "", text)
    return text.replace("[inference]\n", "[inference]\nmax_tree_depth = 6\n", 1)


if FIT_FILE.exists():
    result, cohort = load_fit_with_cohort(FIT_FILE)
    print(f"loaded {FIT_FILE}")
else:
    simulate_cohort(N_PATIENTS, seed=SEED).write(COHORT_DIR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        cohort = read_cohort(COHORT_DIR)
    if QUICK:
        model = OUTPUT / "fh_small.toml"
        full_text = resolve_model_path("fh_twin").read_text(encoding="utf-8")
        model.write_text(small_model(full_text), encoding="utf-8")
    else:
        model = "fh_twin"
    with warnings.catch_warnings():
        if QUICK:
            warnings.simplefilter("ignore", ConvergenceWarning)
        result = fit(cohort, model, seed=SEED, chains=CHAINS, warmup=WARMUP, draws=DRAWS,
                     cohort_path=COHORT_DIR, progress_bar=not QUICK)
    result.save(FIT_FILE)

print(result.gate.table())

# %% [markdown]
# ## 1. LDL-C lowering by drug and dose
#
# `ldl_effects` gives, for each drug of the catalogue at each licensed dose,
# the posterior of the fraction of LDL-C removed in a typical patient (full
# adherence, responsiveness 1): median and 90% credible interval. Statins
# follow one Emax curve in atorvastatin-equivalent dose. `patient_p10` and
# `patient_p90` are the fractions for patients at the 10th and 90th
# percentiles of responsiveness, which is how much treatment effects vary
# between patients.

# %%
from bayestwin.compare.cohort import compare_plans, ldl_effects

effects = ldl_effects(result)
effects.round(3)

# %%
import matplotlib.pyplot as plt
import numpy as np


def forest(axis, labels, estimate, low, high, *, xlabel, reference=None):
    """Draw a forest plot: one row per label, point estimate and interval."""
    rows = np.arange(len(labels))[::-1]
    axis.errorbar(estimate, rows, xerr=[np.subtract(estimate, low), np.subtract(high, estimate)],
                  fmt="o", color="black", ecolor="grey", capsize=3)
    axis.set_yticks(rows, labels)
    if reference is not None:
        axis.axvline(reference, color="grey", linestyle="--", linewidth=1)
    axis.set_xlabel(xlabel)


forest_rows = effects[effects["drug"].isin(["atorvastatin", "rosuvastatin", "ezetimibe",
                                      "evolocumab", "inclisiran", "bempedoic_acid"])]
labels = [f"{row.drug} {row.dose_mg:g} mg" for row in forest_rows.itertuples()]
figure, axis = plt.subplots(figsize=(6, 0.3 * len(labels) + 1))
forest(axis, labels, 100 * forest_rows["reduction"], 100 * forest_rows["reduction_low"],
       100 * forest_rows["reduction_high"], xlabel="LDL-C reduction, typical patient (%, 90% CrI)")
figure.tight_layout()

# %% [markdown]
# ## 2. Plans compared over the cohort
#
# `compare_plans` predicts every patient's cumulative incidence of the
# endpoint at the horizon (10 years after each patient's last observation)
# under each plan. The first plan is the reference. A plan is a scenario
# string or a strategy. The ladder of `esc-goal` is atorvastatin 20, 40 and
# 80 mg, then with ezetimibe, then with evolocumab as well. Each patient gets
# the first step whose median predicted LDL-C one year after the start is
# below the patient's ESC/EAS goal, or the last step when none is. The
# ladder ignores the current treatment, so it can also step a patient down.

# %%
plans = ["current", "esc-goal", "atorvastatin:80+ezetimibe:10"]
comparison = compare_plans(result, cohort, plans, horizon=10.0, max_draws=MAX_DRAWS)
comparison.summary.round(3)

# %% [markdown]
# `events_averted` counts MACE averted in this cohort against the reference
# over the horizon, `averted_per_1000` scales it to 1,000 patients, and
# `p_beats_reference` is the posterior probability that the plan averts any
# events at all.
#
# The draws are in `comparison.incidence`, dims (plan, patient, draw), so
# any other contrast is a few lines. The probability that plan A beats plan
# B is the share of draws in which A leads to fewer events in the cohort:

# %%
events = comparison.incidence.sum("patient")  # expected events per draw
a, b = "esc-goal", "atorvastatin:80+ezetimibe:10"
difference = events.sel(plan=b) - events.sel(plan=a)
print(f"P({a} beats {b}) = {float((difference > 0).mean()):.2f}")
print(f"events averted by {a} rather than {b}: median {float(difference.median()):.2f}, "
      f"90% CrI {float(difference.quantile(0.05)):.2f} to {float(difference.quantile(0.95)):.2f}")

# %% [markdown]
# ## 3. Subgroups
#
# With `by="variant_class"` the summary has one row per plan and FH variant
# class (`sex` and `lpa_above_50` are the other subgroups). Small subgroups
# give wide intervals: read them as such.

# %%
by_class = compare_plans(result, cohort, ["current", "esc-goal"], horizon=10.0,
                         by="variant_class", max_draws=MAX_DRAWS)
gains = by_class.summary[by_class.summary["plan"] == "esc-goal"]
gains[["subgroup", "patients", "mean_risk", "averted_per_1000", "averted_per_1000_low",
       "averted_per_1000_high", "p_beats_reference"]].round(3)

# %%
figure, axis = plt.subplots(figsize=(6, 0.35 * len(gains) + 1))
forest(axis, [f"{row.subgroup} (n={row.patients})" for row in gains.itertuples()],
       gains["averted_per_1000"], gains["averted_per_1000_low"],
       gains["averted_per_1000_high"], reference=0.0,
       xlabel="MACE averted per 1,000 patients over 10 years, esc-goal against current")
figure.tight_layout()

# %% [markdown]
# A subgroup contrast is a difference between two subgroups in the same
# draws: here, events averted per 1,000 patients by `esc-goal` in each
# variant class, minus the same in the largest class.

# %%
from bayestwin.compare.cohort import subgroup_labels

incidence = by_class.incidence
groups = subgroup_labels(cohort, list(incidence["patient"].values), "variant_class")
averted = incidence.sel(plan="current") - incidence.sel(plan="esc-goal")  # (patient, draw)
per_1000 = {}
for group in sorted(groups.unique()):
    members = np.flatnonzero(groups.to_numpy() == group)
    per_1000[group] = 1000 * averted.isel(patient=members).mean("patient")
largest = groups.value_counts().index[0]
rows = []
for group, values in per_1000.items():
    if group == largest:
        continue
    contrast = values - per_1000[largest]
    rows.append({"subgroup": group, "against": largest,
                 "difference_per_1000": float(contrast.median()),
                 "low": float(contrast.quantile(0.05)), "high": float(contrast.quantile(0.95)),
                 "p_greater": float((contrast > 0).mean())})

import pandas as pd

pd.DataFrame(rows).round(3)
