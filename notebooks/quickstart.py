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
# # Quickstart: from a cohort to one patient's twin
#
# This notebook runs the whole bayestwin workflow on a simulated cohort of
# patients with familial hypercholesterolaemia (FH):
#
# 1. simulate a cohort, write it as a cohort folder and check it;
# 2. fit the hierarchical model with NUTS;
# 3. read the convergence gate and the ArviZ summary;
# 4. build one patient's twin under three treatment plans;
# 5. print the risk table and plot the LDL-C trajectories with credible bands.
#
# bayestwin is research software, not a certified medical device.
#
# **Quick mode.** With the environment variable `BAYESTWIN_NOTEBOOK_QUICK=1`
# (the test suite sets it), the notebook fits 50 patients with one short
# chain and a smaller model, so it runs in a few minutes. That fit does not
# pass the convergence gate: its numbers show how to call the API and are not
# estimates to read. Without the variable, the notebook fits the full
# `fh_twin` model to 300 patients, which takes much longer.

# %%
import os

QUICK = os.environ.get("BAYESTWIN_NOTEBOOK_QUICK") == "1"
SEED = 1

if QUICK:
    N_PATIENTS, CHAINS, WARMUP, DRAWS, MAX_DRAWS = 50, 1, 150, 150, 150
else:
    N_PATIENTS, CHAINS, WARMUP, DRAWS, MAX_DRAWS = 300, 2, 700, 1000, 1000

# Chains run in parallel only when JAX has one CPU device per chain. The
# device count is fixed when JAX starts, so set it before the first JAX call.
import numpyro

numpyro.set_host_device_count(CHAINS)

# %% [markdown]
# ## 1. A cohort
#
# `simulate_cohort` draws patients from the bayestwin generative model, with
# known ground truth. `write` stores the cohort in the folder format that
# real data use (`docs/data-format.md`), and `read_cohort` reads and
# validates such a folder. With your own data, start at `read_cohort`.

# %%
import warnings
from pathlib import Path

from bayestwin.data import format_summary, read_cohort
from bayestwin.exceptions import DataWarning
from bayestwin.simulate import simulate_cohort

# Both notebooks write here; the treatment notebook reuses this fit.
OUTPUT = Path("bayestwin-notebooks") / ("quick" if QUICK else "full")
COHORT_DIR = OUTPUT / "cohort"

simulated = simulate_cohort(N_PATIENTS, seed=SEED)
simulated.write(COHORT_DIR)

# The simulator writes values that are rare but valid (a typical-range
# warning, for example); the summary below lists what the cohort contains.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DataWarning)
    cohort = read_cohort(COHORT_DIR)

print(format_summary(cohort))

# %% [markdown]
# Valid rows that cannot be used (a measurement after the end of follow-up,
# for example) are never dropped silently: they are listed in the manifest
# with their reason.

# %%
cohort.manifest.head()

# %% [markdown]
# ## 2. The model and the fit
#
# A model is a TOML file; `fh_twin` is the built-in full FH twin (untreated
# LDL-C, treatment response, latent burden, imaging, events and microbiome
# factors). In quick mode, this cell switches the imaging and microbiome
# blocks off, which is also how you would edit a copy of the file for your
# own cohort. It also caps the depth of the NUTS trees, so that each
# iteration of the short quick run costs less.

# %%
import re

from bayestwin.spec import PRIORS, load_spec, resolve_model_path


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


if QUICK:
    MODEL = OUTPUT / "fh_small.toml"
    full_text = resolve_model_path("fh_twin").read_text(encoding="utf-8")
    MODEL.write_text(small_model(full_text), encoding="utf-8")
else:
    MODEL = "fh_twin"

spec = load_spec(MODEL)
print(spec.name, "blocks:", ", ".join(spec.blocks))

# %% [markdown]
# `fit` compiles the model with JAX and samples with NumPyro's NUTS. The same
# seed, data and machine give identical draws. `cohort_path` is stored in the
# fit's provenance, so that twins and reports can re-read the cohort later.

# %%
from bayestwin.exceptions import ConvergenceWarning
from bayestwin.inference import fit

with warnings.catch_warnings():
    if QUICK:
        # Expected: a quick fit is far too short to pass the gate.
        warnings.simplefilter("ignore", ConvergenceWarning)
    result = fit(cohort, MODEL, seed=SEED, chains=CHAINS, warmup=WARMUP, draws=DRAWS,
                 cohort_path=COHORT_DIR, progress_bar=not QUICK)

fit_path = result.save(OUTPUT / "fit.nc")
print(f"saved {fit_path}")

# %% [markdown]
# ## 3. Convergence
#
# The gate checks R-hat (at most 1.01), bulk and tail ESS (at least 400),
# divergent transitions (none) and E-BFMI (at least 0.3), over the
# population parameters and over the per-patient quantities that twins use.
# Each group shows its worst value. A fit that fails is saved, but flagged:
# reports refuse it unless you allow it explicitly.

# %%
print(result.gate.table())
print("converged:", result.converged)

# %% [markdown]
# `result.idata` is an ArviZ `InferenceData`, so every ArviZ function works
# on it. The drug effects and the two links from LDL-C to events:

# %%
import arviz as az

effect_sites = ["statin_emax", "statin_ed50", "effect_ezetimibe", "effect_pcsk9_antibody",
                "alpha_L", "alpha_B"]
az.summary(result.idata, var_names=effect_sites, round_to=3)

# %%
axes = az.plot_trace(result.idata, var_names=["statin_emax", "statin_ed50"], compact=True)

# %% [markdown]
# The provenance travels with the file: package versions, the model file and
# its SHA-256 hash, the data hash, the seed, the sampler settings and the
# timings. `load_fit` rebuilds the fit from the file alone.

# %%
from bayestwin.inference import load_fit

loaded = load_fit(fit_path)
for key in ("model_name", "model_sha256", "data_sha256", "seed", "sampler", "timings"):
    print(f"{key:>14}: {loaded.idata.attrs.get(key)}")

# %% [markdown]
# ## 4. One patient's twin
#
# A twin uses the patient's own posterior draws to predict LDL-C, the
# latent atherosclerotic burden and the cumulative incidence of MACE under
# each plan, from the day after the last observation. The first plan is the
# reference: `current` keeps the treatment the patient is on.
#
# **Main assumption.** Treatments act on events only through LDL-C and the
# burden it builds up. A predicted benefit depends on this assumption.
#
# We take a patient with no event during follow-up.

# %%
from bayestwin.twin.api import make_twin

with_events = set(cohort.events["patient_id"])
patient_id = next(p for p in cohort.patients.index if p not in with_events)

plans = ["current", "atorvastatin:80+ezetimibe:10", "atorvastatin:80+ezetimibe:10+evolocumab:140"]
twin = make_twin(result, cohort, patient_id, plans, seed=SEED, horizon=10.0,
                 max_draws=MAX_DRAWS)
print(patient_id, twin.info)
print(twin.trajectories)

# %% [markdown]
# ### Risk table
#
# One row per plan and horizon. `risk` is the median risk of the endpoint,
# with its 90% credible interval. `arr` is the absolute risk reduction (ARR)
# against the reference, `p_benefit` the probability of any benefit and
# `p_relevant` of a benefit above 2 percentage points. `nnt_text` is the
# number needed to treat, written as NNTB or NNTH, with Altman's convention
# when the ARR interval contains zero.

# %%
columns = ["scenario", "horizon", "risk", "risk_low", "risk_high", "arr", "arr_low",
           "arr_high", "p_benefit", "p_relevant", "nnt_text"]
twin.risks[columns].round(3)

# %% [markdown]
# The ESC/EAS LDL-C goal of the patient's risk category, the probability of
# being at goal at the horizon, and the first time at which that probability
# reaches 50% (NaN when it never does):

# %%
twin.goals.round(3)

# %% [markdown]
# ### LDL-C trajectories
#
# Posterior median and 90% credible band of LDL-C under each plan, with the
# ESC goal as a dashed line.

# %%
import matplotlib.pyplot as plt

ldl = twin.trajectories["ldl"]
years = ldl["time"].values
figure, axis = plt.subplots(figsize=(7, 4))
for plan in ldl["scenario"].values:
    draws = ldl.sel(scenario=plan)
    low, median, high = (draws.quantile(q, dim="draw").values for q in (0.05, 0.5, 0.95))
    (line,) = axis.plot(years, median, label=plan)
    axis.fill_between(years, low, high, color=line.get_color(), alpha=0.2)
goal = float(twin.goals["goal_mmol_l"].iloc[0])
axis.axhline(goal, color="black", linestyle="--", linewidth=1, label=f"ESC goal {goal} mmol/L")
axis.set_xlabel("years after the start of the plan")
axis.set_ylabel("LDL-C (mmol/L)")
axis.set_title(f"Patient {patient_id}: LDL-C, median and 90% credible band")
axis.legend(fontsize=8)
figure.tight_layout()

# %% [markdown]
# ## Next steps
#
# - `notebooks/treatment_posteriors.py` compares treatments across the
#   cohort: LDL-C lowering by drug and dose, the probability that one plan
#   beats another, events averted and subgroup contrasts.
# - `bayestwin report` writes the one-page clinician report of a patient
#   (HTML and PDF, French or English) from a fit that passed the gate.
