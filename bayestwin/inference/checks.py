"""Prior and posterior predictive checks of a fit: LDL-C, coronary calcium and event counts.

For each observed quantity of the model, `predictive_check` draws replicated
data from the prior or from the posterior and compares summary statistics
with the observed ones:

- log LDL-C (or the longitudinal marker of the classic joint model):
  mean and standard deviation over the measurements;
- CAC: the share of scans above zero and the mean log score of those above
  zero; plaque volume: the mean log volume;
- endpoint events: the observed count against replicated counts. The
  expected count given the observed follow-up is the sum of the patients'
  cumulative hazards (the observed-to-expected check of survival models),
  and a replicated count is a Poisson draw with that mean.

`plot_predictive_check` writes one ArviZ density-overlay plot per measured
quantity and one histogram per summary statistic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np
import pandas as pd
from numpyro.infer import Predictive
from numpyro.primitives import Messenger

from bayestwin.data.cohort import Cohort
from bayestwin.inference.fit import Fit
from bayestwin.model import microbiome
from bayestwin.model.assemble import build_model
from bayestwin.model.design import build_design
from bayestwin.twin.draws import stacked

MEASURED_SITES = ("log_ldl", "y_long", "log_cac", "log_plaque_volume")
"""Observed sites with continuous values, compared by density overlays."""

KINDS = ("prior", "posterior")


@dataclass
class PredictiveCheck:
    """Replicated data and summary statistics of one predictive check.

    Attributes
    ----------
    kind
        ``prior`` or ``posterior``.
    observed, replicated
        Site name -> observed values, and replicated values with the draw
        axis first (draws, observations).
    statistics
        One row per statistic: observed value, median and 90% interval of the
        replicated values, and the tail probability P(replicated >= observed).
    statistic_draws
        Statistic name -> its replicated values, shape (draws,).

    """

    kind: str
    observed: dict[str, np.ndarray]
    replicated: dict[str, np.ndarray]
    statistics: pd.DataFrame
    statistic_draws: dict[str, np.ndarray]

    def table(self) -> str:
        """Return the statistics as a fixed-width text table."""
        lines = [f"{self.kind.capitalize()} predictive check",
                 f"  {'statistic':<32} {'observed':>10} {'median':>10} {'5%':>10} {'95%':>10} "
                 f"{'P(rep>=obs)':>12}"]
        for name, row in self.statistics.iterrows():
            lines.append(f"  {name:<32} {row['observed']:>10.4g} {row['median']:>10.4g} "
                         f"{row['q05']:>10.4g} {row['q95']:>10.4g} {row['p_value']:>12.3f}")
        return "\n".join(lines)


def predictive_check(fit: Fit, cohort: Cohort, *, kind: str = "posterior", draws: int = 200,
                     seed: int = 0) -> PredictiveCheck:
    """Draw replicated data from the prior or the posterior of `fit` for `cohort`.

    Parameters
    ----------
    fit
        The fit; its model file and design reference rebuild the model.
    cohort
        The cohort the fit used (for the posterior check), or any cohort in
        the same format (for the prior check).
    kind
        ``posterior`` replicates data given evenly thinned posterior draws;
        ``prior`` draws the parameters from their priors first.
    draws
        Number of replicated data sets.
    seed
        Seed of the replicated data.

    Raises
    ------
    ValueError
        `kind` is not ``prior`` or ``posterior``, or `draws` is not a
        positive integer.

    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not isinstance(draws, int) or draws < 1:
        raise ValueError(f"draws must be a positive integer, got {draws!r}")
    reference = json.loads(fit.idata.attrs.get("design_reference", "{}"))
    design = build_design(cohort, fit.spec, reference=reference)
    bundle = build_model(fit.spec, design)
    data = dict(bundle.data)
    observed = _observed(data)
    key = jax.random.PRNGKey(seed)
    if kind == "prior":
        samples = Predictive(_unobserved(bundle.model), num_samples=draws)(
            key, microbiome.without_samples(data))  # see microbiome.sample_patients
    else:
        posterior = fit.idata.posterior
        total = posterior.sizes["chain"] * posterior.sizes["draw"]
        index = np.linspace(0, total - 1, min(draws, total)).round().astype(int)
        if len(index) < draws:
            index = np.resize(index, draws)
        latent = {name: stacked(fit.idata, name)[index] for name in posterior.data_vars
                  if name in _latent_sites(bundle)}
        samples = Predictive(_unobserved(bundle.model), posterior_samples=latent)(key, data)
    replicated = {name: np.asarray(samples[name]) for name in observed if name in samples}
    rng = np.random.default_rng(seed)
    statistic_draws, statistic_observed = _statistics(observed, replicated, samples, data, rng)
    rows = {}
    for name, values in statistic_draws.items():
        obs = statistic_observed[name]
        rows[name] = {"observed": obs, "median": float(np.median(values)),
                      "q05": float(np.quantile(values, 0.05)),
                      "q95": float(np.quantile(values, 0.95)),
                      "p_value": float(np.mean(values >= obs))}
    return PredictiveCheck(kind=kind, observed=observed, replicated=replicated,
                           statistics=pd.DataFrame.from_dict(rows, orient="index"),
                           statistic_draws=statistic_draws)


def plot_predictive_check(check: PredictiveCheck, folder: str | Path) -> list[Path]:
    """Write the check's plots (PNG) into `folder` and return their paths."""
    import arviz as az
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    group = f"{check.kind}_predictive"
    for name in MEASURED_SITES:
        if name not in check.replicated or check.observed[name].size == 0:
            continue
        values = check.replicated[name]
        observed = check.observed[name]
        if name == "log_cac":  # only the scans above zero have a log score
            keep = check.observed["cac_positive"] > 0
            values, observed = values[:, keep], observed[keep]
        idata = az.from_dict(**{group: {name: values[None]}}, observed_data={name: observed})
        axes = az.plot_ppc(idata, var_names=[name], group=check.kind,
                           num_pp_samples=min(50, values.shape[0]))
        path = folder / f"{check.kind}_predictive_{name}.png"
        np.atleast_1d(axes).ravel()[0].figure.savefig(path, dpi=110, bbox_inches="tight")
        plt.close("all")
        paths.append(path)
    for name, values in check.statistic_draws.items():
        figure, axis = plt.subplots(figsize=(4.5, 3.0))
        axis.hist(values, bins=30, color="#9bb7d4")
        axis.axvline(check.statistics.loc[name, "observed"], color="#b22222", lw=2,
                     label="observed")
        axis.set_xlabel(name)
        axis.set_ylabel("replicated data sets")
        axis.legend(frameon=False)
        path = folder / f"{check.kind}_predictive_{name}.png"
        figure.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(figure)
        paths.append(path)
    return paths


class _Unobserved(Messenger):
    """Sample every observed site instead of fixing it at its data (replicated data)."""

    def process_message(self, msg):
        if msg["type"] == "sample" and msg.get("is_observed"):
            msg["is_observed"] = False
            msg["value"] = None


def _unobserved(model):
    """Return `model` with its observation sites sampled, for replicated data."""

    def replicate(*args, **kwargs):
        with _Unobserved():
            return model(*args, **kwargs)

    return replicate


def _latent_sites(bundle) -> set[str]:
    """Return the names of the model's latent sample sites."""
    from numpyro import handlers

    trace = handlers.trace(handlers.seed(bundle.model, 0)).get_trace(bundle.data)
    return {name for name, site in trace.items()
            if site["type"] == "sample" and not site["is_observed"]}


def _observed(data: dict) -> dict[str, np.ndarray]:
    """Return the observed values of each observation site present in the model data."""
    observed = {}
    if "obs_log_value" in data:
        observed["log_ldl"] = np.asarray(data["obs_log_value"])
    if "long_value" in data:
        observed["y_long"] = np.asarray(data["long_value"])
    if "cac_value" in data:
        values = np.asarray(data["cac_value"])
        observed["cac_positive"] = (values > 0).astype(float)
        observed["log_cac"] = np.log(np.where(values > 0, values, 1.0))
    if "plaque_value" in data:
        observed["log_plaque_volume"] = np.log(np.asarray(data["plaque_value"]))
    return observed


def _statistics(observed, replicated, samples, data, rng):
    """Return the replicated and observed summary statistics of each quantity."""
    draws, values = {}, {}
    for name in ("log_ldl", "y_long"):
        if name in replicated and observed[name].size:
            draws[f"{name} mean"] = replicated[name].mean(axis=1)
            draws[f"{name} sd"] = replicated[name].std(axis=1)
            values[f"{name} mean"] = float(observed[name].mean())
            values[f"{name} sd"] = float(observed[name].std())
    if "cac_positive" in replicated and observed["cac_positive"].size:
        draws["share of CAC > 0"] = replicated["cac_positive"].mean(axis=1)
        values["share of CAC > 0"] = float(observed["cac_positive"].mean())
        if "log_cac" in replicated:
            positive = replicated["cac_positive"] > 0
            total = np.where(positive, replicated["log_cac"], 0.0).sum(axis=1)
            draws["mean log CAC where > 0"] = total / np.maximum(positive.sum(axis=1), 1)
            keep = observed["cac_positive"] > 0
            values["mean log CAC where > 0"] = float(observed["log_cac"][keep].mean()
                                                     if keep.any() else 0.0)
    if "log_plaque_volume" in replicated and observed["log_plaque_volume"].size:
        draws["log plaque volume mean"] = replicated["log_plaque_volume"].mean(axis=1)
        values["log plaque volume mean"] = float(observed["log_plaque_volume"].mean())
    if "cumulative_hazard" in samples and "event_flag" in data:
        expected = np.asarray(samples["cumulative_hazard"]).sum(axis=1)
        # Prior draws can give expected counts too large for a Poisson draw. Such a
        # draw keeps its expected count, which is far from any observed count anyway.
        usable = np.isfinite(expected) & (expected < 1e15)
        counts = rng.poisson(np.where(usable, expected, 0.0)).astype(float)
        draws["endpoint events"] = np.where(usable, counts, expected)
        values["endpoint events"] = float(np.asarray(data["event_flag"]).sum())
    return draws, values
