r"""True MACE and competing-death hazards, cumulative hazards and cumulative incidence.

The MACE hazard on the age time scale is

.. math::
    h_i(t) = e^{\omega}\,(\text{age}/60)^{k - 1}
             \exp\big(\mathbf x_i^\top\boldsymbol\beta + \alpha_B \log B^+_i(t)
             + \alpha_L (L_i(t) - L_\text{ref})\big)

(a Weibull baseline in age, with :math:`\omega` = `weibull_log_rate` and
:math:`k` = `weibull_shape`), and non-cardiovascular death has the Gompertz
hazard :math:`\exp(\delta_0 + \delta_1(\text{age} - 60)/10 + \delta_\text{male})`.
`HazardGrid` cuts each patient's window into cells no longer than a grid
step, with a cell boundary at every treatment change because LDL-C jumps
there. It integrates the MACE hazard over each cell by 3-point
Gauss-Legendre and the death hazard in closed form. Event times come from inverting the
cumulative hazard cell by cell, and cumulative incidence from the cell
hazards, so neither is sampled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayestwin.simulate.latent import Trajectories

_GAUSS_NODES = np.array([-np.sqrt(0.6), 0.0, np.sqrt(0.6)])
_GAUSS_WEIGHTS = np.array([5.0, 8.0, 5.0]) / 9.0
_KEY_STRIDE = 1000.0
_KEY_OFFSET = 200.0


def _keys(patient: np.ndarray, time: np.ndarray) -> np.ndarray:
    return patient * _KEY_STRIDE + (time + _KEY_OFFSET)


def _block_first(block: np.ndarray) -> np.ndarray:
    """Return, for each element of a sorted block label array, the index where its block starts."""
    return np.searchsorted(block, block, side="left")


def _block_cumsum(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Return the inclusive running sum of `values` restarted at each block start."""
    running = np.cumsum(values)
    return running - (running[first] - values[first])


def _shift_in_block(inclusive: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Return the running sum before each element (0 at a block start)."""
    before = np.concatenate([[0.0], inclusive[:-1]])
    before[first == np.arange(len(first))] = 0.0
    return before


def mace_log_hazard(
    trajectories: Trajectories,
    patient: np.ndarray,
    time: np.ndarray,
    linear_predictor: np.ndarray,
    *,
    segment: np.ndarray | None = None,
    ldl_shift: float = 0.0,
    shift_from: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Return the log MACE hazard (per year) at years since entry `time`.

    Parameters
    ----------
    trajectories
        LDL-C and burden paths.
    patient, time
        Patient positions and times, broadcast together.
    linear_predictor
        x_i beta for every patient (indexed by `patient`).
    segment
        Segment of each (patient, time), when the caller knows it.
    ldl_shift
        LDL-C lowering in mmol/L applied from `shift_from` onwards; the burden
        then drops by s_i * ldl_shift * (time - shift_from). Used to check the
        CTT relation; 0 leaves the paths as they are.
    shift_from
        Time from which `ldl_shift` applies.

    """
    params = trajectories.params
    seg = trajectories.segment_of(patient, time) if segment is None else segment
    age = trajectories.latents.age_at_entry[patient] + time
    ldl = np.exp(trajectories.log_ldl(patient, time, segment=seg))
    burden = trajectories.burden(patient, time, segment=seg)
    if ldl_shift:
        elapsed = np.maximum(time - shift_from, 0.0)
        ldl = ldl - ldl_shift * (time >= shift_from)
        burden = burden - np.exp(trajectories.latents.log_s[patient]) * ldl_shift * elapsed
    eps = params.burden_floor
    log_burden = np.log(eps * np.logaddexp(0.0, burden / eps))
    return (
        params.weibull_log_rate
        + (params.weibull_shape - 1.0) * np.log(age / 60.0)
        + linear_predictor[patient]
        + params.alpha_B * log_burden
        + params.alpha_L * (ldl - params.ldl_ref)
    )


def death_cumulative_hazard(
    age0: np.ndarray, age1: np.ndarray, male: np.ndarray, params
) -> np.ndarray:
    """Return the Gompertz non-cardiovascular death hazard integrated from age0 to age1."""
    level = np.exp(params.delta0 + params.delta_male * male)
    rate = params.delta1 / 10.0
    return level / rate * (np.exp(rate * (age1 - 60.0)) - np.exp(rate * (age0 - 60.0)))


def death_time(
    age_from: np.ndarray, male: np.ndarray, exponential_draws: np.ndarray, params
) -> np.ndarray:
    """Return the years from `age_from` to death, inverting the Gompertz cumulative hazard."""
    level = np.exp(params.delta0 + params.delta_male * male)
    rate = params.delta1 / 10.0
    target = np.exp(rate * (age_from - 60.0)) + exponential_draws * rate / level
    return np.log(target) / rate + 60.0 - age_from


@dataclass
class HazardGrid:
    """Cells of each patient's window with their MACE and death cumulative hazards.

    Attributes
    ----------
    patient, t0, t1
        Cell owner (patient position) and bounds, years since entry; cells of
        one patient are contiguous and in time order.
    mace, death
        Hazard integrated over each cell.
    window_start, window_end
        Per-patient window (indexed by patient position; NaN for patients
        without a window).

    """

    patient: np.ndarray
    t0: np.ndarray
    t1: np.ndarray
    mace: np.ndarray
    death: np.ndarray
    window_start: np.ndarray
    window_end: np.ndarray

    def __post_init__(self) -> None:
        self._first = _block_first(self.patient)
        self._cell_keys = _keys(self.patient, self.t0)
        self.mace_cumulative = _block_cumsum(self.mace, self._first)
        self.death_cumulative = _block_cumsum(self.death, self._first)
        total = self.mace + self.death
        survival_start = np.exp(-(self.mace_cumulative + self.death_cumulative - total))
        # Within a cell the ratio of the two hazards is taken as constant, so the
        # MACE share of the cell's exits is exact for proportional cells.
        share = np.divide(self.mace, total, out=np.zeros_like(total), where=total > 0)
        self.incidence_increment = share * survival_start * -np.expm1(-total)
        self.incidence_cumulative = _block_cumsum(self.incidence_increment, self._first)

    def _locate(self, patient: np.ndarray, time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        patient = np.asarray(patient, dtype=int)
        time = np.asarray(time, dtype=float)
        outside = (time < self.window_start[patient] - 1e-9) | (
            time > self.window_end[patient] + 1e-9
        )
        if np.any(outside):
            raise ValueError("a requested time lies outside the patient's hazard window")
        cell = np.searchsorted(self._cell_keys, _keys(patient, time), side="right") - 1
        width = self.t1[cell] - self.t0[cell]
        fraction = np.clip(
            np.divide(time - self.t0[cell], width, out=np.zeros_like(width), where=width > 0),
            0.0,
            1.0,
        )
        return cell, fraction

    def _at(self, cumulative: np.ndarray, increment: np.ndarray, patient, time) -> np.ndarray:
        cell, fraction = self._locate(patient, time)
        before = _shift_in_block(cumulative, self._first)[cell]
        return np.where(fraction >= 1.0, cumulative[cell], before + increment[cell] * fraction)

    def mace_cumulative_at(self, patient: np.ndarray, time: np.ndarray) -> np.ndarray:
        """Return the MACE cumulative hazard from the window start to `time`."""
        return self._at(self.mace_cumulative, self.mace, patient, time)

    def incidence_at(self, patient: np.ndarray, time: np.ndarray) -> np.ndarray:
        """Return the cumulative incidence of MACE, with competing death, at `time`.

        The incidence is conditional on being alive and free of MACE at the
        window start. Between cell bounds it is interpolated linearly.
        """
        return self._at(self.incidence_cumulative, self.incidence_increment, patient, time)

    def first_passage(self, targets: np.ndarray) -> np.ndarray:
        """Return, per patient, the time the MACE cumulative hazard reaches `targets`.

        Parameters
        ----------
        targets
            One unit exponential draw per patient position; the result is inf
            where the window ends first, and NaN for patients without a window.

        """
        result = np.where(np.isnan(self.window_start), np.nan, np.inf)
        reached = np.flatnonzero(self.mace_cumulative >= targets[self.patient])
        if reached.size == 0:
            return result
        owners, first_index = np.unique(self.patient[reached], return_index=True)
        cell = reached[first_index]
        before = _shift_in_block(self.mace_cumulative, self._first)[cell]
        fraction = (targets[owners] - before) / self.mace[cell]
        result[owners] = self.t0[cell] + fraction * (self.t1[cell] - self.t0[cell])
        return result


def build_hazard_grid(
    trajectories: Trajectories,
    *,
    linear_predictor: np.ndarray,
    male: np.ndarray,
    window_start: np.ndarray,
    window_end: np.ndarray,
    step: float,
    extra_times: tuple[np.ndarray, np.ndarray] | None = None,
    ldl_shift: float = 0.0,
) -> HazardGrid:
    """Integrate the MACE and death hazards over each patient's window.

    Parameters
    ----------
    trajectories
        LDL-C and burden paths.
    linear_predictor
        x_i beta per patient position.
    male
        1 for men, 0 for women, per patient position.
    window_start, window_end
        Window in years since entry per patient position; NaN skips a patient.
    step
        Maximum cell width, years.
    extra_times
        (patient, time) pairs that must be cell bounds, for example 5 and 10
        years, so values there are exact.
    ldl_shift
        LDL-C lowering (mmol/L) from the window start on, passed to
        `mace_log_hazard`.

    """
    params = trajectories.params
    active = np.flatnonzero(np.isfinite(window_start) & np.isfinite(window_end))
    start = window_start[active]
    end = window_end[active]
    if np.any(end < start):
        raise ValueError("a hazard window ends before it starts")

    # Cell bounds: a regular grid from each window start, the window end, the
    # treatment changes inside the window and any requested times.
    count = np.floor((end - start) / step).astype(int) + 1
    grid_patient = np.repeat(active, count)
    offsets = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    grid_time = np.repeat(start, count) + offsets * step
    seg_patient = trajectories.seg_patient
    lower = np.full(len(window_start), np.inf)
    upper = np.full(len(window_start), -np.inf)
    lower[active] = start
    upper[active] = end
    inside = (trajectories.seg_t0 > lower[seg_patient]) & (trajectories.seg_t0 < upper[seg_patient])
    patients = [grid_patient, active, seg_patient[inside]]
    times = [grid_time, end, trajectories.seg_t0[inside]]
    if extra_times is not None:
        extra_patient, extra_time = (np.asarray(x) for x in extra_times)
        keep = (extra_time > lower[extra_patient]) & (extra_time < upper[extra_patient])
        patients.append(extra_patient[keep])
        times.append(extra_time[keep])
    keys = np.unique(_keys(np.concatenate(patients), np.concatenate(times)))
    point_patient = np.floor(keys / _KEY_STRIDE).astype(int)
    point_time = keys - point_patient * _KEY_STRIDE - _KEY_OFFSET
    same = point_patient[1:] == point_patient[:-1]
    cell_patient = point_patient[:-1][same]
    t0 = point_time[:-1][same]
    t1 = point_time[1:][same]

    # Gauss-Legendre over each cell; the segment is that of the cell midpoint
    # because no cell straddles a treatment change.
    segment = trajectories.segment_of(cell_patient, 0.5 * (t0 + t1))
    half = 0.5 * (t1 - t0)
    mace = np.zeros(len(t0))
    shift_from = np.zeros(len(window_start))
    shift_from[active] = start
    for node, weight in zip(_GAUSS_NODES, _GAUSS_WEIGHTS, strict=True):
        time = t0 + half * (node + 1.0)
        log_hazard = mace_log_hazard(
            trajectories,
            cell_patient,
            time,
            linear_predictor,
            segment=segment,
            ldl_shift=ldl_shift,
            shift_from=shift_from[cell_patient],
        )
        mace += weight * half * np.exp(log_hazard)
    age = trajectories.latents.age_at_entry[cell_patient]
    death = death_cumulative_hazard(age + t0, age + t1, male[cell_patient], params)

    full_start = np.full(len(window_start), np.nan)
    full_end = np.full(len(window_start), np.nan)
    full_start[active] = start
    full_end[active] = end
    return HazardGrid(cell_patient, t0, t1, mace, death, full_start, full_end)
