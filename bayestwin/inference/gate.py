"""The convergence gate: R-hat, bulk and tail ESS, divergences and E-BFMI.

Defaults: R-hat at most 1.01, bulk and tail ESS at least 400, no divergent
transition, E-BFMI at least 0.3 in every chain. They are checked over the
population parameters and over the per-patient quantities that twins and
reports use, each group summarised by its worst value.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import arviz as az
import numpy as np

from bayestwin.spec.schema import SECTIONS


@dataclass(frozen=True)
class GateThresholds:
    """Thresholds of the convergence gate (documented defaults)."""

    rhat_max: float = SECTIONS["gate"]["rhat_max"].default
    ess_bulk_min: float = SECTIONS["gate"]["ess_bulk_min"].default
    ess_tail_min: float = SECTIONS["gate"]["ess_tail_min"].default
    divergences_max: int = SECTIONS["gate"]["divergences_max"].default
    bfmi_min: float = SECTIONS["gate"]["bfmi_min"].default

    @classmethod
    def from_section(cls, section) -> GateThresholds:
        """Build thresholds from a model file's ``[gate]`` section."""
        return cls(**{key: section[key] for key in asdict(cls())})


@dataclass
class GateGroup:
    """Worst diagnostics over one group of variables."""

    name: str
    variables: list[str]
    rhat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    worst_rhat: str
    worst_ess: str


@dataclass
class GateResult:
    """Outcome of the convergence gate on one fit."""

    passed: bool
    thresholds: GateThresholds
    groups: list[GateGroup]
    divergences: int
    bfmi_min: float
    failures: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """Serialise for the fit file's attributes."""
        return json.dumps(asdict(self), default=float)

    @classmethod
    def from_json(cls, text: str) -> GateResult:
        """Rebuild a result saved by `to_json`."""
        raw = json.loads(text)
        raw["thresholds"] = GateThresholds(**raw["thresholds"])
        raw["groups"] = [GateGroup(**group) for group in raw["groups"]]
        return cls(**raw)

    def table(self) -> str:
        """Return a plain-text table of the gate, one row per group and check."""
        t = self.thresholds
        lines = [f"Convergence gate: {'PASSED' if self.passed else 'FAILED'}",
                 f"  {'check':<34}{'value':>12}  {'threshold':>11}  status"]

        def row(label: str, value: float, threshold: str, ok: bool) -> None:
            lines.append(f"  {label:<34}{value:>12.4g}  {threshold:>11}  {'ok' if ok else 'FAIL'}")

        for group in self.groups:
            row(f"max R-hat ({group.name})", group.rhat_max, f"<= {t.rhat_max}",
                group.rhat_max <= t.rhat_max)
            row(f"min bulk ESS ({group.name})", group.ess_bulk_min, f">= {t.ess_bulk_min:g}",
                group.ess_bulk_min >= t.ess_bulk_min)
            row(f"min tail ESS ({group.name})", group.ess_tail_min, f">= {t.ess_tail_min:g}",
                group.ess_tail_min >= t.ess_tail_min)
        row("divergent transitions", self.divergences, f"<= {t.divergences_max}",
            self.divergences <= t.divergences_max)
        row("min E-BFMI over chains", self.bfmi_min, f">= {t.bfmi_min}",
            self.bfmi_min >= t.bfmi_min)
        for failure in self.failures:
            lines.append(f"  worst: {failure}")
        return "\n".join(lines)


def _worst(summary, column: str, pick) -> str:
    values = summary[column].to_numpy(dtype=float)
    if not np.isfinite(values).any():
        return ""
    return str(summary.index[pick(np.nan_to_num(values, nan=np.inf if pick is np.argmin
                                                else -np.inf))])


def _group(idata, name: str, variables: list[str]) -> GateGroup | None:
    variables = [v for v in variables if v in idata.posterior]
    if not variables:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        summary = az.summary(idata, var_names=variables, kind="diagnostics", round_to="none")
    # A constant quantity (a fixed prior) has no defined R-hat; it cannot fail to mix.
    summary = summary.replace([np.inf, -np.inf], np.nan)
    rhat = float(np.nanmax(summary["r_hat"])) if summary["r_hat"].notna().any() else 1.0
    bulk = float(np.nanmin(summary["ess_bulk"])) if summary["ess_bulk"].notna().any() else np.inf
    tail = float(np.nanmin(summary["ess_tail"])) if summary["ess_tail"].notna().any() else np.inf
    return GateGroup(name=name, variables=variables, rhat_max=rhat, ess_bulk_min=bulk,
                     ess_tail_min=tail, worst_rhat=_worst(summary, "r_hat", np.argmax),
                     worst_ess=_worst(summary, "ess_bulk", np.argmin))


def check_convergence(idata: az.InferenceData, *, population: list[str], patient: list[str],
                      thresholds: GateThresholds | None = None) -> GateResult:
    """Check a fit against the convergence gate.

    Parameters
    ----------
    idata
        The fit, with ``posterior`` and ``sample_stats`` groups.
    population, patient
        Variable names of the population parameters and of the per-patient
        quantities used by twins and reports.
    thresholds
        Gate thresholds; the documented defaults when omitted.

    """
    thresholds = thresholds or GateThresholds()
    groups = [g for g in (_group(idata, "population", population),
                          _group(idata, "patients", patient)) if g is not None]
    stats = idata.sample_stats
    divergences = int(stats["diverging"].sum()) if "diverging" in stats else 0
    # E-BFMI needs at least two draws per chain.
    enough = "energy" in stats and stats.sizes.get("draw", 0) > 1
    bfmi = float(np.min(az.bfmi(idata))) if enough else np.inf
    failures = []
    for group in groups:
        if group.rhat_max > thresholds.rhat_max:
            failures.append(f"R-hat {group.rhat_max:.4f} at {group.worst_rhat} ({group.name})")
        if (group.ess_bulk_min < thresholds.ess_bulk_min
                or group.ess_tail_min < thresholds.ess_tail_min):
            failures.append(f"ESS bulk {group.ess_bulk_min:.0f} / tail {group.ess_tail_min:.0f}"
                            f" at {group.worst_ess} ({group.name})")
    if divergences > thresholds.divergences_max:
        failures.append(f"{divergences} divergent transitions")
    if bfmi < thresholds.bfmi_min:
        failures.append(f"E-BFMI {bfmi:.3f}")
    return GateResult(passed=not failures, thresholds=thresholds, groups=groups,
                      divergences=divergences, bfmi_min=bfmi, failures=failures)
