"""Gather everything the patient report shows, formatted for one language.

`build_report_context` turns a `Twin`, the cohort, the convergence gate and
the model's provenance into a `ReportContext`: display-ready text, table rows
and inline SVG figures. `bayestwin.report.render.render_html` only lays it out.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

import bayestwin
from bayestwin.data.cohort import Cohort
from bayestwin.exceptions import ConvergenceError
from bayestwin.report.catalogue import Catalogue
from bayestwin.report.formatting import (
    DEFAULT_LDL_UNIT,
    check_language,
    check_ldl_unit,
    format_date,
    format_esc_goal,
    format_number,
    format_percent,
    format_percent_interval,
    format_probability,
    format_range,
    format_signed,
    ldl_from_mmol,
)
from bayestwin.report.patient import describe_plan, patient_rows
from bayestwin.report.plots import SeriesStyle, icon_array_svg, scenario_styles, trajectory_svg
from bayestwin.report.scores import PopulationRow, population_rows
from bayestwin.report.status import GateTable, gate_table
from bayestwin.twin.effects import NNT

if TYPE_CHECKING:
    from bayestwin.inference.gate import GateResult
    from bayestwin.riskscores import RiskProfile
    from bayestwin.twin.api import Twin

MACE_EVENTS = ("mi", "stroke", "cv_death", "revascularisation", "unstable_angina")
CREDIBLE_MASS = 0.9
"""Mass of every credible interval on the report; the twin's risk table uses the same."""


@dataclass(frozen=True)
class Cell:
    """A table cell: the estimate, and its credible interval on a second line."""

    value: str
    interval: str = ""


@dataclass(frozen=True)
class OptionRow:
    """One treatment option of the table, in the order of the twin's scenarios."""

    code: str
    label: str
    style: SeriesStyle
    is_reference: bool
    is_lowest: bool
    ldl_1y: str
    goal: Cell
    risks: list[Cell]
    arr: Cell
    p_benefit: str
    p_relevant: str
    nnt: Cell


@dataclass(frozen=True)
class Figure:
    """One inline SVG figure with its accessible title."""

    title: str
    svg: str


@dataclass(frozen=True)
class IconPanel:
    """One icon array (100 people) with its caption."""

    plan: str
    caption: str
    svg: str


@dataclass
class ReportContext:
    """Everything the patient report shows, as display-ready text and inline SVG.

    Build it with `build_report_context`; `render_html` lays it out. Fields
    hold text already formatted for `language` (numbers, units, labels).
    """

    language: str
    messages: Catalogue = field(repr=False)
    patient_id: str
    report_date: str
    data_date: str
    ldl_unit: str
    marker_key: str
    converged: bool
    patient: list[tuple[str, str]]
    category: str
    goal_value: str
    goal: str
    endpoint: str
    competing: str
    horizons: list[str]
    main_horizon: str
    reference_plan: str
    headline: list[tuple[str, Cell]]
    options: list[OptionRow]
    dose: str
    icons: list[IconPanel]
    figures: list[Figure]
    population: list[PopulationRow]
    population_reasons: list[str]
    gate: GateTable
    model_name: str
    model_sha256: str
    version: str = bayestwin.__version__


def require_converged(gate: GateResult, twin: Twin, *, model_name: str,
                      allow_unconverged: bool) -> bool:
    """Return whether the fit converged; raise ConvergenceError unless allowed.

    The fit counts as converged only when the gate passed and
    ``twin.info["converged"]`` is not False, so a mismatch counts as a failure.
    """
    converged = bool(gate.passed) and bool(twin.info.get("converged", True))
    if converged or allow_unconverged:
        return converged
    failures = "; ".join(getattr(gate, "failures", []) or []) or "see the gate table"
    raise ConvergenceError(
        f"the fit of model {model_name!r} did not pass the convergence gate ({failures}), "
        f"so no report is written for patient {twin.patient_id!r}. Refit with more warm-up "
        f"or more draws, or pass --allow-unconverged (allow_unconverged=True) to write the "
        f"report with a warning banner.")


def _check_dose_choice(dose_choice: dict | None) -> dict | None:
    if dose_choice is None:
        return None
    missing = [key for key in ("best_dose_label", "p_best") if key not in dose_choice]
    if missing:
        raise ValueError(f"dose_choice={dose_choice!r} is missing {', '.join(missing)}; "
                         f"expected {{'best_dose_label': str, 'p_best': float in [0, 1]}}.")
    probability = float(dose_choice["p_best"])
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"dose_choice['p_best']={probability!r} is invalid; expected a "
                         f"probability in [0, 1].")
    return {"best_dose_label": str(dose_choice["best_dose_label"]), "p_best": probability}


def _as_date(value: datetime.date | str) -> datetime.date | str:
    """Read an ISO date string as a date, so that it is shown in the reader's format."""
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _horizon_text(horizon: float, language: str) -> str:
    return format_number(horizon, 0 if float(horizon).is_integer() else 1, language)


def _risk_cell(row: pd.Series, language: str) -> Cell:
    return Cell(format_percent(row["risk"], 1, language),
                format_percent_interval(row["risk_low"], row["risk_high"], language))


def _nnt_cell(row: pd.Series, language: str) -> Cell:
    """Split ``NNTB 12 (8 to 25)`` into the estimate and its interval."""
    if row["arr_low"] == 0 and row["arr_high"] == 0:
        return Cell("—")
    text = NNT(float(row["arr"]), float(row["arr_low"]), float(row["arr_high"])).text(
        language=language)
    value, _, interval = text.partition(" (")
    return Cell(value, interval.removesuffix(")"))


def _probability_statement(probability: float, language: str) -> str:
    """Return ``P = 92 %``, or ``P > 99 %`` when the probability is shown as a bound."""
    text = format_probability(probability, language)
    return f"P {text}" if text[0] in "<>" else f"P = {text}"


def _event_list(codes: list[str], messages: Catalogue) -> str:
    return ", ".join(messages(f"event.{code}") if f"event.{code}" in messages else code
                     for code in codes)


def _value_at(ldl: np.ndarray, times: np.ndarray, year: float) -> np.ndarray:
    return ldl[:, int(np.argmin(np.abs(times - year))), :]


def _option_rows(twin: Twin, labels: list[str], styles: list[SeriesStyle], *, main: float | None,
                 horizons: list[float], lowest: str | None, messages: Catalogue,
                 ldl_unit: str) -> list[OptionRow]:
    language = messages.language
    times = twin.trajectories["time"].values
    ldl_1y = np.median(_value_at(twin.trajectories["ldl"].values, times, 1.0), axis=-1)
    goals = twin.goals.set_index("scenario") if len(twin.goals) else pd.DataFrame()
    rows = []
    for index, (code, style) in enumerate(zip(labels, styles, strict=True)):
        goal = Cell("—")
        if code in goals.index:
            p_goal = float(goals.loc[code, "p_goal"])
            goal = Cell(messages("options.goal_yes" if p_goal >= 0.5 else "options.goal_no"),
                        _probability_statement(p_goal, language))
        risks, arr, p_benefit, p_relevant, nnt = [], Cell("—"), "—", "—", Cell("—")
        for horizon in horizons:
            row = twin.risks[(twin.risks["scenario"] == code)
                             & np.isclose(twin.risks["horizon"], horizon)].iloc[0]
            risks.append(_risk_cell(row, language))
            if horizon != main or index == 0:
                continue
            arr = Cell(f"{format_signed(100 * row['arr'], 1, language)}\u00a0"
                       f"{messages('options.arr_unit')}",
                       format_range(format_signed(100 * row["arr_low"], 1, language),
                                    format_signed(100 * row["arr_high"], 1, language), language))
            p_benefit = format_probability(row["p_benefit"], language)
            p_relevant = format_probability(row["p_relevant"], language)
            nnt = _nnt_cell(row, language)
        rows.append(OptionRow(
            code=code, label=describe_plan(code, messages), style=style,
            is_reference=index == 0, is_lowest=code == lowest,
            ldl_1y=format_number(ldl_from_mmol(float(ldl_1y[index]), ldl_unit),
                                 0 if ldl_unit == "mg/dL" else 2, language),
            goal=goal, risks=risks, arr=arr, p_benefit=p_benefit, p_relevant=p_relevant,
            nnt=nnt))
    return rows


def _lowest_risk_plan(twin: Twin, labels: list[str], main: float | None) -> str | None:
    if main is None or len(labels) < 2:
        return None
    at_main = twin.risks[np.isclose(twin.risks["horizon"], main)].set_index("scenario")
    candidates = [label for label in labels[1:] if label in at_main.index]
    if not candidates:
        return None
    return min(candidates, key=lambda label: float(at_main.loc[label, "risk"]))


def _icon_panels(twin: Twin, reference: str, lowest: str | None, main: float | None,
                 messages: Catalogue) -> list[IconPanel]:
    if main is None:
        return []
    at_main = twin.risks[np.isclose(twin.risks["horizon"], main)].set_index("scenario")
    reference_events = int(round(100 * float(at_main.loc[reference, "risk"])))
    panels = [IconPanel(describe_plan(reference, messages),
                        messages.plural("risk.icons_count", reference_events,
                                        count=reference_events),
                        icon_array_svg(reference_events,
                                       label=describe_plan(reference, messages)))]
    if lowest is not None:
        events = int(round(100 * float(at_main.loc[lowest, "risk"])))
        avoided = max(reference_events - events, 0)
        caption = messages.plural("risk.icons_count", events, count=events)
        if avoided:
            caption += " · " + messages("risk.icons_avoided", count=avoided)
        panels.append(IconPanel(describe_plan(lowest, messages), caption,
                                icon_array_svg(events, avoided,
                                               label=describe_plan(lowest, messages))))
    return panels


def _figures(twin: Twin, styles: list[SeriesStyle], *, goal_mmol: float | None,
             messages: Catalogue, ldl_unit: str, panel: str, bands: list[int],
             marker_key: str = "ldl") -> list[Figure]:
    """Draw LDL-C (every band), then burden or CAC and incidence (bands of `bands` only)."""
    language = messages.language
    data = twin.trajectories
    times = data["time"].values
    time_axis = messages("plots.time_axis")
    figures = []
    goal = None
    if goal_mmol is not None:
        goal = (ldl_from_mmol(goal_mmol, ldl_unit),
                messages("plots.goal_label", goal=format_esc_goal(goal_mmol, ldl_unit, language)))
    title = messages(f"plots.{marker_key}_title")
    figures.append(Figure(title, trajectory_svg(
        times, data["ldl"].values, styles, language=language, title=title, xlabel=time_axis,
        ylabel=messages(f"plots.{marker_key}_axis", unit=ldl_unit), mass=CREDIBLE_MASS,
        transform=lambda values: ldl_from_mmol(values, ldl_unit), goal=goal)))
    if panel == "cac" and "cac" in data:
        title = messages("plots.cac_title")
        figures.append(Figure(title, trajectory_svg(
            times, data["cac"].values, styles, language=language, title=title,
            xlabel=time_axis, ylabel=messages("plots.cac_axis"), mass=CREDIBLE_MASS,
            log_scale=True, bands=bands)))
    elif "burden" in data:
        title = messages("plots.burden_title")
        figures.append(Figure(title, trajectory_svg(
            times, data["burden"].values, styles, language=language, title=title,
            xlabel=time_axis, ylabel=messages("plots.burden_axis"), mass=CREDIBLE_MASS,
            bands=bands)))
    if "cumulative_incidence" in data:
        title = messages("plots.incidence_title")
        figures.append(Figure(title, trajectory_svg(
            times, data["cumulative_incidence"].values, styles, language=language, title=title,
            xlabel=time_axis, ylabel=messages("plots.incidence_axis"), mass=CREDIBLE_MASS,
            percent=True, bands=bands)))
    return figures


def build_report_context(
    twin: Twin, *, cohort: Cohort, gate: GateResult, model_name: str, model_sha256: str,
    data_date: datetime.date | str, language: str = "fr", ldl_unit: str | None = None,
    dose_choice: dict | None = None, risk_profile: RiskProfile | None = None,
    trajectory_panel: str = "burden", report_date: datetime.date | None = None,
    allow_unconverged: bool = False,
) -> ReportContext:
    """Gather what the one-page patient report shows, formatted for `language`.

    Parameters
    ----------
    twin
        The patient's twin; its first scenario is the reference of every
        absolute risk reduction.
    cohort
        The cohort holding the patient, for age, sex, variant, latest
        measurements, current treatment and history.
    gate
        The fit's convergence gate (`bayestwin.inference.gate.GateResult`).
    model_name, model_sha256
        The model file and its SHA-256 hash, shown as provenance.
    data_date
        Date the data were extracted, shown as given when a string.
    language
        ``"fr"`` or ``"en"``.
    ldl_unit
        ``"g/L"``, ``"mmol/L"`` or ``"mg/dL"``; default g/L in French and
        mmol/L in English.
    dose_choice
        ``{"best_dose_label": str, "p_best": float}``: the suggested dose and
        the probability that it is the best; the report shows "not computed"
        when None.
    risk_profile
        The patient's risk factors for the published population equations.
        When None the patient is taken to have familial hypercholesterolaemia,
        as in an FH twin cohort, and every equation is reported as not
        applicable with the ESC/EAS reason.
    trajectory_panel
        Second figure: ``"burden"`` (latent atherosclerotic burden) or
        ``"cac"`` (posterior predictive coronary artery calcium score).
    report_date
        Date printed on the report; today when None.
    allow_unconverged
        Build the context of a fit that failed the convergence gate; the page
        then carries a warning banner.

    Raises
    ------
    ConvergenceError
        The fit failed the convergence gate and `allow_unconverged` is False.
    ValueError
        An invalid language, LDL-C unit, trajectory panel or dose choice.

    """
    # Options and refusal first, before any work.
    language = check_language(language)
    ldl_unit = check_ldl_unit(ldl_unit or DEFAULT_LDL_UNIT[language])
    if trajectory_panel not in ("burden", "cac"):
        raise ValueError(f"trajectory_panel={trajectory_panel!r} is invalid; expected "
                         f"'burden' or 'cac'.")
    dose_choice = _check_dose_choice(dose_choice)
    converged = require_converged(gate, twin, model_name=model_name,
                                  allow_unconverged=allow_unconverged)
    endpoint_codes = list(twin.info.get("endpoint", MACE_EVENTS))
    wording = ("mace" if set(endpoint_codes) == set(MACE_EVENTS)
               else "cvd" if endpoint_codes == ["cvd"] else "other")
    messages = Catalogue.load(language).for_endpoint(wording)

    # Scenarios, horizons and the plan with the lowest risk.
    labels = [str(label) for label in twin.trajectories["scenario"].values]
    styles = scenario_styles(len(labels))
    horizons = (sorted({float(h) for h in twin.risks["horizon"]}) if len(twin.risks) else [])
    main = horizons[-1] if horizons else None
    lowest = _lowest_risk_plan(twin, labels, main)
    start = float(twin.info.get("start", twin.trajectories.attrs.get(
        "start_years_since_entry", 0.0)))

    # Risk category, goal and endpoint. The lipid marker is LDL-C or total cholesterol.
    marker_key = "ldl" if twin.info.get("marker", "ldl_c") == "ldl_c" else "total_c"
    category = str(twin.info.get("category", "high"))
    goal_mmol = (float(twin.goals["goal_mmol_l"].iloc[0])
                 if len(twin.goals) and "goal_mmol_l" in twin.goals else None)
    goal_text = f"< {format_esc_goal(goal_mmol, ldl_unit, language)}" if goal_mmol else "—"
    goal_line = (messages("category.goal", goal=goal_text) if goal_mmol
                 else messages("category.no_goal"))
    events = _event_list(endpoint_codes, messages)
    endpoint = (messages("risk.endpoint_mace", events=events)
                if set(endpoint_codes) == set(MACE_EVENTS)
                else messages("risk.endpoint_other", events=events))
    competing_codes = list(twin.info.get("competing", []))
    competing = (messages("risk.competing", events=_event_list(competing_codes, messages))
                 if competing_codes else "")

    # Headline risks under the reference plan.
    headline = []
    for horizon in horizons:
        row = twin.risks[(twin.risks["scenario"] == labels[0])
                         & np.isclose(twin.risks["horizon"], horizon)].iloc[0]
        headline.append((messages("risk.at_horizon", years=_horizon_text(horizon, language)),
                         _risk_cell(row, language)))

    # Dose suggestion.
    if dose_choice is None:
        dose = messages("options.dose_not_computed")
    else:
        dose = messages("options.dose_line",
                        plan=describe_plan(dose_choice["best_dose_label"], messages),
                        p=format_probability(dose_choice["p_best"], language))

    population, reasons = population_rows(cohort, twin.patient_id, twin=twin, main=main,
                                          risk_profile=risk_profile, messages=messages)
    return ReportContext(
        language=language, messages=messages, patient_id=twin.patient_id,
        report_date=format_date(report_date or datetime.date.today(), language),
        data_date=format_date(_as_date(data_date), language), ldl_unit=ldl_unit,
        marker_key=marker_key, converged=converged,
        patient=patient_rows(cohort, twin.patient_id, start=start, messages=messages,
                             ldl_unit=ldl_unit),
        category=messages(f"category.{category}"), goal_value=goal_text,
        goal=goal_line,
        endpoint=endpoint, competing=competing,
        horizons=[_horizon_text(h, language) for h in horizons],
        main_horizon=_horizon_text(main, language) if main is not None else "",
        reference_plan=describe_plan(labels[0], messages),
        headline=headline,
        options=_option_rows(twin, labels, styles, main=main, horizons=horizons, lowest=lowest,
                             messages=messages, ldl_unit=ldl_unit),
        dose=dose,
        icons=_icon_panels(twin, labels[0], lowest, main, messages),
        figures=_figures(twin, styles, goal_mmol=goal_mmol, messages=messages,
                         ldl_unit=ldl_unit, panel=trajectory_panel, marker_key=marker_key,
                         bands=[0] + ([labels.index(lowest)] if lowest else [])),
        population=population, population_reasons=reasons,
        gate=gate_table(gate, messages),
        model_name=str(model_name), model_sha256=str(model_sha256),
    )
