"""The published population scores shown beside the twin, with why they do not apply.

Rows come from `bayestwin.riskscores.applicable_scores`. Each equation that
applies gets a row with its endpoint. Those that do not apply share one row
per reason, and each reason is printed once, as a numbered note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bayestwin.data.cohort import Cohort
from bayestwin.report.catalogue import Catalogue
from bayestwin.report.formatting import format_number, format_percent
from bayestwin.riskscores import RiskResult, applicable_scores
from bayestwin.riskscores.select import FH_REASON, SCORE_SPECS, SECONDARY_PREVENTION_REASON

if TYPE_CHECKING:
    from bayestwin.riskscores import RiskProfile
    from bayestwin.twin.api import Twin

_MISSING_PREFIX = "missing input: "


@dataclass(frozen=True)
class PopulationRow:
    """One row of the population-score table."""

    equations: str
    endpoint: str
    result: str
    is_twin: bool = False


def _superscript(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


def _reason_text(reason: str, messages: Catalogue) -> str:
    if reason == FH_REASON:
        return messages("population.reason_fh")
    if reason == SECONDARY_PREVENTION_REASON:
        return messages("population.reason_secondary")
    if reason.startswith(_MISSING_PREFIX):
        return messages("population.reason_missing", inputs=reason[len(_MISSING_PREFIX):])
    # The equations' own range messages are in English; French readers get the gist.
    return reason if messages.language == "en" else messages("population.reason_other")


def fh_results(prior_ascvd: bool) -> list[RiskResult]:
    """Return what `applicable_scores` returns for a person with FH, without a full profile.

    Secondary prevention comes first, as in `applicable_scores`; every other
    FH patient gets the ESC/EAS reason. The equations' inputs are not needed.
    """
    reason = SECONDARY_PREVENTION_REASON if prior_ascvd else FH_REASON
    return [spec.not_applicable(reason) for spec in SCORE_SPECS]


def population_rows(cohort: Cohort, patient_id: str, *, twin: Twin, main: float | None,
                    risk_profile: RiskProfile | None,
                    messages: Catalogue) -> tuple[list[PopulationRow], list[str]]:
    """Return the table rows (the twin's own risk first) and the numbered reasons.

    Parameters
    ----------
    cohort, patient_id
        The cohort and the patient, for the history of ASCVD.
    twin
        The patient's twin, whose reference risk fills the first row.
    main
        Horizon in years of the twin's risk in the first row; None when the
        twin has no event risk.
    risk_profile
        The patient's risk factors; None for an FH patient (see `fh_results`).
    messages
        Catalogue of the reader's language.

    """
    language = messages.language
    rows = []
    if main is not None:
        risk = twin.risks[(twin.risks["scenario"] == twin.risks["scenario"].iloc[0])
                          & np.isclose(twin.risks["horizon"], main)].iloc[0]
        years = format_number(main, 0, language)
        rows.append(PopulationRow(
            messages("population.twin"), messages("endpoint.mace"),
            f"{format_percent(risk['risk'], 1, language)}, "
            f"{messages('population.horizon', years=years)}", is_twin=True))

    if risk_profile is not None:
        results = applicable_scores(risk_profile)
    elif twin.info.get("category") == "not_assessed":  # not FH: the inputs are missing
        from bayestwin.riskscores.from_cohort import missing_inputs

        missing = missing_inputs(cohort, patient_id, at=twin.info.get("start"))
        reason = _MISSING_PREFIX + (", ".join(missing) or "risk factors")
        results = [spec.not_applicable(reason) for spec in SCORE_SPECS]
    else:
        prior = bool(cohort.patients.loc[patient_id].get("prior_ascvd", False))
        results = fh_results(prior)

    # Equations that do not apply are grouped by reason, because their endpoints
    # no longer matter once the score cannot be used.
    reasons: list[str] = []
    groups: dict[tuple[str, str], list[str]] = {}
    for result in results:
        if result.applicable:
            key = f"endpoint.{result.endpoint}"
            endpoint = messages(key) if key in messages else result.endpoint
            text = (f"{format_percent(result.risk, 1, language)}, "
                    f"{messages('population.horizon', years=result.horizon_years)}")
        else:
            reason = _reason_text(result.reason, messages)
            if reason not in reasons:
                reasons.append(reason)
            endpoint = "—"
            note = _superscript(reasons.index(reason) + 1)
            text = f"{messages('population.not_applicable')} {note}"
        names = groups.setdefault((endpoint, text), [])
        if result.equation not in names:
            names.append(result.equation)
    rows += [PopulationRow(", ".join(names), endpoint, text)
             for (endpoint, text), names in groups.items()]
    return rows, reasons
