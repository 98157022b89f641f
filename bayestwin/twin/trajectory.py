"""Posterior trajectories of LDL-C, burden, CAC and cumulative incidence under a plan.

The functions mirror the model (docs/model.md) in closed form: LDL-C is an
exponential in age under a fixed plan, the burden integral is exact, and the
cumulative incidence of the endpoint with a competing cause uses the hazards
at the midpoint of each step, held constant within the step. The steps are
those of the output grid (monthly by default), split further where they
are longer than `INCIDENCE_STEP`:

    F(t_j) = F(t_{j-1}) + h / (h + h_d) * S(t_{j-1}) * (1 - exp(-(h + h_d) dt)).

Every array has the draw axis first: (draw, patient, time).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from bayestwin.model.quadrature import bspline_basis, exp_segment_integral, smooth_floor

INCIDENCE_STEP = 1.0 / 12.0
"""Maximum step, in years, over which the cumulative incidence keeps the hazards constant.

A coarser output grid (for example 0, 5 and 10 years) is integrated on
monthly steps, as the twin's default grid is, so the risks do not depend
on the requested grid. Against a grid of 1/360 year the error is below 0.01
percentage points (tests/twin/test_twin.py).
"""


@dataclass
class History:
    """Treatment history and covariates of the patients to predict, on the model's axis.

    Attributes hold NumPy arrays with the patient axis first; pieces already
    end at each patient's scenario start.
    """

    start: np.ndarray  # (P,) scenario start on the model's time axis
    age_at_start: np.ndarray  # (P,) age in years at the start
    piece_start: np.ndarray  # (P, S)
    piece_stop: np.ndarray  # (P, S)
    statin_dose: np.ndarray  # (P, S) atorvastatin-equivalent mg
    statin_adherence: np.ndarray  # (P, S)
    class_adherence: np.ndarray  # (P, S, C)
    male: np.ndarray  # (P,)
    event_covariates: np.ndarray  # (P, E)
    susceptibility_change: np.ndarray | None = None  # (P, S, Q) time-varying covariates
    time_varying_index: np.ndarray | None = None  # (Q,) their columns in gamma


@dataclass
class PlanArrays:
    """A plan as arrays per patient: the treatment from the start onwards."""

    statin_dose: np.ndarray  # (P,)
    statin_adherence: np.ndarray  # (P,)
    class_adherence: np.ndarray  # (P, C)
    diet_change: np.ndarray  # (P,)


def _per_draw(values, ndim: int):
    """Reshape a (D,) array of draws so that it broadcasts against (D, ...) of `ndim` dims."""
    return jnp.reshape(values, values.shape[:1] + (1,) * (ndim - 1))


def _statin_log_remaining(draws, dose, adherence, r_statin):
    """Return adherence x r x log(1 - E(dose)); `dose` and `adherence` have a leading draw axis.

    Zero for a model without the treatment block.
    """
    if "statin_emax" not in draws:
        return jnp.zeros(jnp.broadcast_shapes(jnp.shape(dose), jnp.shape(r_statin)))
    ndim = max(jnp.ndim(dose), jnp.ndim(r_statin))
    emax = _per_draw(draws["statin_emax"], ndim)
    ed50 = _per_draw(draws["statin_ed50"], ndim)
    fraction = emax * dose / (ed50 + dose)
    return adherence * r_statin * jnp.log1p(-fraction)


def _class_log_remaining(draws, class_adherence, r_nonstatin):
    """Return the non-statin log reduction; `class_adherence` has the classes last."""
    if "class_effect" not in draws:
        return jnp.zeros(jnp.broadcast_shapes(class_adherence.shape[:-1], jnp.shape(r_nonstatin)))
    effect = jnp.log1p(-draws["class_effect"])
    effect = jnp.reshape(effect, effect.shape[:1] + (1,) * (class_adherence.ndim - 1)
                         + effect.shape[-1:])
    return jnp.sum(class_adherence[None] * effect, axis=-1) * r_nonstatin


def _responsiveness(draws: dict, name: str):
    """Return a patient's responsiveness draws, ones for a model without them."""
    return draws[name] if name in draws else jnp.ones_like(draws["u"])


def susceptibility_weights(draws: dict, history: History):
    """Return (weight per piece (D, P, S), weight from the start on (D, P)).

    The weight multiplies s_i where time-varying covariates have changed
    since their first value. From the start on, the covariates keep their
    value on the piece that contains the start. Without time-varying
    covariates every weight is one.
    """
    shape = history.piece_start.shape
    if history.susceptibility_change is None or "gamma" not in draws:
        return jnp.ones((1,) + shape), jnp.ones((1, shape[0]))
    gamma = draws["gamma"][:, history.time_varying_index]  # (D, Q)
    weight = jnp.exp(jnp.einsum("psq,dq->dps", history.susceptibility_change, gamma))
    rows = np.arange(shape[0])
    current = np.array([np.flatnonzero(start <= at - 1e-9)[-1] if np.any(start <= at - 1e-9)
                        else 0 for start, at in zip(history.piece_start, history.start,
                                                    strict=True)])
    return weight, weight[:, rows, current]


def history_state(draws: dict, history: History, *, reference_age: float, threshold: float):
    """Return (log level at the start without treatment, slope, excess exposure at the start).

    The log level is u - slope * reference_age, so log L0(t) = level + slope t.
    The excess exposure is weighted by the time-varying part of the
    susceptibility (`susceptibility_weights`).
    """
    slope = draws["v"] / 10.0  # (D, P) per year
    base = draws["u"] - slope * reference_age
    statin = _statin_log_remaining(
        draws, history.statin_dose[None], history.statin_adherence[None],
        _responsiveness(draws, "r_statin")[..., None])
    others = _class_log_remaining(draws, history.class_adherence,
                                  _responsiveness(draws, "r_nonstatin")[..., None])
    log_level = base[..., None] + statin + others
    width = history.piece_stop - history.piece_start
    excess = (exp_segment_integral(log_level, slope[..., None], history.piece_start[None],
                                   history.piece_stop[None])
              - threshold * width[None])
    weight, _ = susceptibility_weights(draws, history)
    return base, slope, jnp.sum(weight * excess, axis=-1)


def plan_log_remaining(draws: dict, plan: PlanArrays):
    """Return log(L / L0) under `plan`, shape (D, P), diet included."""
    statin = _statin_log_remaining(draws, plan.statin_dose[None], plan.statin_adherence[None],
                                   _responsiveness(draws, "r_statin"))
    others = _class_log_remaining(draws, plan.class_adherence,
                                  _responsiveness(draws, "r_nonstatin"))
    diet = (draws["beta_diet"][:, None] * plan.diet_change[None] if "beta_diet" in draws
            else 0.0)
    return statin + others + diet


def predict(draws: dict, history: History, plan: PlanArrays, offsets: np.ndarray, *,
            spec_constants: dict, key: jax.Array | None = None) -> dict:
    """Predict trajectories for each draw and patient on the grid start + `offsets`.

    Parameters
    ----------
    draws
        Posterior draws: population sites with shape (D, ...) and patient
        sites (u, v, r_statin, r_nonstatin, log_s) with shape (D, P).
    history, plan
        Patients' past treatment and the plan from the start on.
    offsets
        Years after the start, increasing from 0, shape (J + 1,).
    spec_constants
        ``reference_age``, ``threshold``, ``floor``, ``burden_reference``,
        ``ldl_reference``, ``knots``, ``time_scale``, and ``has_events``,
        ``has_imaging``.
    key
        JAX key for the CAC posterior predictive draws; no CAC draws when None.

    Returns
    -------
    dict
        ``ldl`` (mmol/L), ``burden`` (mmol/L-years), ``cumulative_incidence``
        and, with a key and imaging, ``cac`` and ``p_cac_positive``, each (D, P, J + 1).

    Raises
    ------
    ValueError
        `offsets` does not start at 0 or does not strictly increase.

    """
    offsets = np.asarray(offsets, dtype=float)
    if offsets[0] != 0.0 or np.any(np.diff(offsets) <= 0.0):
        raise ValueError("offsets must start at 0 and strictly increase (years after the "
                         f"start); got {offsets.tolist()[:6]}")
    c = spec_constants
    times = history.start[:, None] + offsets[None, :]  # (P, J+1)
    base, slope, excess_start = history_state(draws, history, reference_age=c["reference_age"],
                                              threshold=c["threshold"])
    level = base + plan_log_remaining(draws, plan)  # (D, P)
    _, future_weight = susceptibility_weights(draws, history)
    ldl = jnp.exp(level[..., None] + slope[..., None] * times[None])
    excess = (excess_start[..., None] + future_weight[..., None] * (
        exp_segment_integral(level[..., None], slope[..., None], history.start[None, :, None],
                             times[None])
        - c["threshold"] * (times - history.start[:, None])[None]))
    burden = jnp.exp(draws["log_s"])[..., None] * smooth_floor(excess, c["floor"])
    out = {"ldl": ldl, "burden": burden}
    log_burden = jnp.log(burden) - jnp.log(c["burden_reference"])

    if c.get("has_imaging") and key is not None:
        logit = draws["kappa0"][:, None, None] + draws["kappa1"][:, None, None] * log_burden
        p_positive = jax.nn.sigmoid(logit)
        key_positive, key_size = jax.random.split(key)
        positive = jax.random.bernoulli(key_positive, p_positive)
        log_cac = (draws["lambda0"][:, None, None] + draws["lambda1"][:, None, None] * log_burden
                   + draws["sigma_cac"][:, None, None]
                   * jax.random.normal(key_size, log_burden.shape))
        out["p_cac_positive"] = p_positive
        out["cac"] = jnp.where(positive, jnp.exp(log_cac), 0.0)

    if c.get("has_events"):
        out["cumulative_incidence"] = _cumulative_incidence(
            draws, history, offsets, level, slope, excess_start, future_weight, c)
    return out


def refine_offsets(offsets: np.ndarray, step: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Split each interval of `offsets` into equal steps of at most `step` years.

    `step` defaults to `INCIDENCE_STEP`. Returns the refined offsets and the
    position of each original offset in them.
    """
    step = INCIDENCE_STEP if step is None else step
    offsets = np.asarray(offsets, dtype=float)
    pieces, positions = [offsets[:1]], [0]
    for low, high in zip(offsets[:-1], offsets[1:], strict=True):
        count = max(1, int(np.ceil((high - low) / step - 1e-9)))
        pieces.append(low + (high - low) * np.arange(1, count + 1) / count)
        positions.append(positions[-1] + count)
    return np.concatenate(pieces), np.asarray(positions)


_INCIDENCE_SITES = ("log_s", "spline_coef", "alpha_B", "alpha_L", "delta0", "delta1",
                    "delta_male")
"""Draws that the hazards of `_cumulative_incidence` read, when the model has them."""


def _cumulative_incidence(draws, history, offsets, level, slope, excess_start, future_weight,
                          c):
    """Return the cumulative incidence (D, P, J + 1) at start + `offsets`.

    The hazards are held constant on steps of at most `INCIDENCE_STEP`
    years, whatever the spacing of `offsets`, and the steps are accumulated
    one after the other, so memory does not grow with their number.
    """
    fine, positions = refine_offsets(offsets)
    start = np.asarray(history.start, dtype=float)
    middle = start[None, :] + ((fine[1:] + fine[:-1]) / 2.0)[:, None]  # (J', P)
    basis = np.moveaxis(bspline_basis(middle.T, np.asarray(c["knots"])), 1, 0)  # (J', P, K)
    age_mid = middle if c["time_scale"] == "age" else (
        np.asarray(history.age_at_start)[None, :] + (middle - start[None, :]))
    # Row of the output each step ends on; steps inside an interval write to a spare row.
    slot = np.full(len(fine) - 1, len(offsets))
    slot[positions[1:] - 1] = np.arange(1, len(offsets))
    covariate_term = (draws["beta_event"] @ history.event_covariates.T
                      if "beta_event" in draws else jnp.zeros(()))
    dtype = jnp.result_type(level)
    steps = (jnp.asarray(middle, dtype), jnp.asarray(age_mid, dtype), jnp.asarray(basis, dtype),
             jnp.asarray(np.diff(fine), dtype), jnp.asarray(slot))
    constants = {name: jnp.asarray(c[name], dtype)
                 for name in ("threshold", "floor", "burden_reference", "ldl_reference")}
    sites = {name: draws[name] for name in _INCIDENCE_SITES if name in draws}
    out = _incidence_scan(sites, constants, covariate_term, future_weight, level, slope,
                          excess_start, jnp.asarray(start, dtype),
                          jnp.asarray(history.male, dtype), steps, rows=len(offsets) + 1)
    return jnp.moveaxis(out[:len(offsets)], 0, -1)


@partial(jax.jit, static_argnames=("rows",))
def _incidence_scan(sites, constants, covariate_term, future_weight, level, slope, excess_start,
                    start, male, steps, *, rows):
    """Accumulate the cumulative incidence over `steps` and return it, (rows, D, P).

    Jitted, so that it compiles once per set of sites and array shapes: a
    scan called outside `jax.jit` compiles on every call (about 0.3 s per
    scenario on the 2-core machine).
    """
    def hazards(mid, age, basis_row):
        ldl_mid = jnp.exp(level + slope * mid[None])
        excess_mid = excess_start + future_weight * (
            exp_segment_integral(level, slope, start[None], mid[None])
            - constants["threshold"] * (mid - start)[None])
        log_burden = (sites["log_s"] + jnp.log(smooth_floor(excess_mid, constants["floor"]))
                      - jnp.log(constants["burden_reference"]))
        log_hazard = sites["spline_coef"] @ basis_row.T + covariate_term  # (D, P)
        if "alpha_B" in sites:
            log_hazard = log_hazard + sites["alpha_B"][:, None] * log_burden
        if "alpha_L" in sites:
            log_hazard = log_hazard + sites["alpha_L"][:, None] * (
                ldl_mid - constants["ldl_reference"])
        hazard = jnp.exp(log_hazard)
        if "delta0" not in sites:
            return hazard, jnp.zeros_like(hazard)
        competing = jnp.exp(sites["delta0"][:, None]
                            + sites["delta1"][:, None] * (age[None] - 60.0) / 10.0
                            + sites["delta_male"][:, None] * male[None, :])
        return hazard, competing

    def advance(carry, inputs):
        survival, incidence, out = carry
        mid, age, basis_row, step, row = inputs
        hazard, competing = hazards(mid, age, basis_row)
        total = hazard + competing
        incidence = incidence + hazard / total * survival * -jnp.expm1(-total * step)
        survival = survival * jnp.exp(-total * step)
        return (survival, incidence, out.at[row].set(incidence)), None

    shape = jnp.shape(level)
    dtype = jnp.result_type(level)
    out = jnp.zeros((rows, *shape), dtype=dtype)
    (_, _, out), _ = jax.lax.scan(
        advance, (jnp.ones(shape, dtype), jnp.zeros(shape, dtype), out), steps)
    return out
