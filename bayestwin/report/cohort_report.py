"""The researchers' cohort report: treatment effects by subgroup and LDL-C lowering by drug.

Its inputs are the tables of `bayestwin.compare.cohort`: the ``summary`` of a
`Comparison` (from `summarise`) and the table of `ldl_effects`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

import bayestwin
from bayestwin.report.catalogue import Catalogue
from bayestwin.report.formatting import (
    check_language,
    format_number,
    format_percent,
    format_percent_interval,
    format_probability,
    format_range,
    format_signed,
)
from bayestwin.report.patient import describe_plan
from bayestwin.report.plots import PALETTE, forest_svg
from bayestwin.report.render import template_environment

SUMMARY_COLUMNS = (
    "subgroup", "plan", "patients", "mean_risk", "events_averted", "events_averted_low",
    "events_averted_high", "averted_per_1000", "averted_per_1000_low", "averted_per_1000_high",
    "p_beats_reference",
)
LDL_EFFECT_COLUMNS = ("drug", "class", "dose_mg", "reduction", "reduction_low", "reduction_high",
                      "patient_p10", "patient_p90")


def _require_columns(table: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame; got {type(table).__name__}.")
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ValueError(f"{name} is missing column(s) {', '.join(missing)}; expected the "
                         f"columns {', '.join(columns)} (see bayestwin.compare.cohort).")


def describe_subgroup(label: str, messages: Catalogue) -> str:
    """Name a subgroup of `bayestwin.compare.cohort.subgroup_labels` in the reader's language."""
    for key in (f"cohort.{label}", f"cohort.sex_{label}", f"variant.{label}",
                f"cohort.lpa_{label}"):
        if key in messages:
            return messages(key)
    return label


def _signed_interval(low: float, high: float, decimals: int, language: str) -> str:
    return format_range(format_signed(low, decimals, language),
                        format_signed(high, decimals, language), language)


def _effect_rows(summary: pd.DataFrame, messages: Catalogue) -> list[dict]:
    language = messages.language
    rows = []
    for item in summary.itertuples(index=False):
        is_reference = item.p_beats_reference is None or math.isnan(item.p_beats_reference)
        rows.append({
            "subgroup": describe_subgroup(str(item.subgroup), messages),
            "plan": describe_plan(str(item.plan), messages),
            "is_reference": is_reference,
            "patients": format_number(item.patients, 0, language),
            "mean_risk": format_percent(item.mean_risk, 1, language),
            "events": "—" if is_reference else format_signed(item.events_averted, 1, language),
            "events_ci": "" if is_reference else _signed_interval(
                item.events_averted_low, item.events_averted_high, 1, language),
            "per_1000": "—" if is_reference else format_signed(item.averted_per_1000, 1,
                                                                 language),
            "per_1000_ci": "" if is_reference else _signed_interval(
                item.averted_per_1000_low, item.averted_per_1000_high, 1, language),
            "p_beats": ("—" if is_reference
                        else format_probability(item.p_beats_reference, language)),
        })
    return rows


def _impact_lines(summary: pd.DataFrame, messages: Catalogue) -> list[str]:
    language = messages.language
    lines = []
    for _, group in summary.groupby("subgroup", sort=False):
        reference = describe_plan(str(group["plan"].iloc[0]), messages)
        name = describe_subgroup(str(group["subgroup"].iloc[0]), messages)
        for item in group.iloc[1:].itertuples(index=False):
            line = messages("cohort.impact_line", plan=describe_plan(str(item.plan), messages),
                            reference=reference,
                            events=format_number(item.events_averted, 1, language),
                            patients=format_number(item.patients, 0, language),
                            low=format_number(item.events_averted_low, 1, language),
                            high=format_number(item.events_averted_high, 1, language))
            if group["subgroup"].iloc[0] != "all":
                line = f"{name}{messages('punct.colon')} {line}"
            lines.append(line)
    return lines


def _forest(summary: pd.DataFrame, messages: Catalogue) -> str:
    effects = summary[summary["p_beats_reference"].notna()]
    if effects.empty:
        return ""
    plans = list(dict.fromkeys(effects["plan"]))
    several = effects["subgroup"].nunique() > 1
    labels = [(f"{describe_subgroup(str(s), messages)} · " if several else "")
              + describe_plan(str(p), messages)
              for s, p in zip(effects["subgroup"], effects["plan"], strict=True)]
    colours = [PALETTE[plans.index(plan) % len(PALETTE)] for plan in effects["plan"]]
    return forest_svg(labels, effects["averted_per_1000"].tolist(),
                      effects["averted_per_1000_low"].tolist(),
                      effects["averted_per_1000_high"].tolist(), language=messages.language,
                      xlabel=messages("cohort.forest_axis"), colours=colours)


def _ldl_rows(ldl_effects: pd.DataFrame, messages: Catalogue) -> list[dict]:
    language = messages.language
    rows = []
    for item in ldl_effects.itertuples(index=False):
        drug_key, class_key = f"drug.{item.drug}", f"drug_class.{item[1]}"
        rows.append({
            "drug": messages(drug_key) if drug_key in messages else str(item.drug),
            "class": messages(class_key) if class_key in messages else str(item[1]),
            "dose": f"{format_number(item.dose_mg, 0, language)}\u00a0mg",
            "reduction": format_percent(item.reduction, 0, language),
            "reduction_ci": format_percent_interval(item.reduction_low, item.reduction_high,
                                                    language, decimals=0),
            "spread": format_percent_interval(item.patient_p10, item.patient_p90, language,
                                              decimals=0),
        })
    return rows


def _ldl_forest(ldl_effects: pd.DataFrame, messages: Catalogue) -> str:
    if ldl_effects.empty:
        return ""
    rows = _ldl_rows(ldl_effects, messages)
    classes = list(dict.fromkeys(ldl_effects["class"]))
    colours = [PALETTE[classes.index(name) % len(PALETTE)] for name in ldl_effects["class"]]
    return forest_svg([f"{row['drug']} {row['dose']}" for row in rows],
                      ldl_effects["reduction"].tolist(), ldl_effects["reduction_low"].tolist(),
                      ldl_effects["reduction_high"].tolist(), language=messages.language,
                      xlabel=messages("cohort.ldl_axis"), colours=colours, reference_line=None,
                      percent=True)


def render_cohort_report(summary: pd.DataFrame, ldl_effects: pd.DataFrame,
                         language: str = "en", *, horizon_years: float | None = None) -> str:
    """Render the researchers' cohort report as a self-contained HTML page.

    The page may run over several printed pages. Intervals are read as 90%
    credible intervals, the default mass of `bayestwin.compare.cohort`.

    Parameters
    ----------
    summary
        `Comparison.summary` from `bayestwin.compare.cohort.compare_plans`
        (columns of `SUMMARY_COLUMNS`); in each subgroup the first plan is the
        reference, whose ``p_beats_reference`` is NaN.
    ldl_effects
        The table of `bayestwin.compare.cohort.ldl_effects` (columns of
        `LDL_EFFECT_COLUMNS`); may be empty.
    language
        ``"fr"`` or ``"en"``.
    horizon_years
        Horizon of the comparison, printed in the subtitle.

    """
    messages = Catalogue.load(check_language(language))
    _require_columns(summary, SUMMARY_COLUMNS, "summary")
    _require_columns(ldl_effects, LDL_EFFECT_COLUMNS, "ldl_effects")
    horizon = (messages("cohort.horizon_years", years=format_number(horizon_years, 0, language))
               if horizon_years is not None else messages("cohort.horizon_unknown"))
    template = template_environment().get_template("cohort.html.j2")
    return template.render(
        t=messages, version=bayestwin.__version__, horizon=horizon,
        impact=_impact_lines(summary, messages), forest=_forest(summary, messages),
        effects=_effect_rows(summary, messages), ldl_forest=_ldl_forest(ldl_effects, messages),
        ldl_rows=_ldl_rows(ldl_effects, messages))
