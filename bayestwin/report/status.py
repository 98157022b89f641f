"""The model-status block of the patient report: the convergence gate as a small table."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bayestwin.report.catalogue import Catalogue
from bayestwin.report.formatting import format_number

if TYPE_CHECKING:
    from bayestwin.inference.gate import GateResult


@dataclass(frozen=True)
class GateCell:
    """One check of the convergence gate: its worst value, threshold and outcome."""

    label: str
    value: str
    threshold: str
    passed: bool


@dataclass(frozen=True)
class GateTable:
    """The convergence gate: one row per group of variables, then the sampler checks."""

    passed: bool
    columns: list[GateCell]
    groups: list[tuple[str, list[GateCell]]]
    sampler: list[GateCell]


def _number(value: float, decimals: int, language: str) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return format_number(value, decimals, language)


def gate_table(gate: GateResult, messages: Catalogue) -> GateTable:
    """Format a `GateResult` for the report, in the reader's language.

    Each group (population parameters, per-patient quantities) shows its worst
    R-hat and its smallest bulk and tail ESS; divergent transitions and the
    smallest E-BFMI over chains follow.
    """
    language = messages.language
    limits = gate.thresholds
    columns = [
        GateCell(messages("model.rhat"), "", f"≤ {_number(limits.rhat_max, 2, language)}", True),
        GateCell(messages("model.ess_bulk"), "",
                 f"≥ {_number(limits.ess_bulk_min, 0, language)}", True),
        GateCell(messages("model.ess_tail"), "",
                 f"≥ {_number(limits.ess_tail_min, 0, language)}", True),
    ]
    groups = []
    for group in gate.groups:
        key = f"model.group_{group.name}"
        name = messages(key) if key in messages else group.name
        cells = [
            GateCell(columns[0].label, _number(group.rhat_max, 3, language), columns[0].threshold,
                     group.rhat_max <= limits.rhat_max),
            GateCell(columns[1].label, _number(group.ess_bulk_min, 0, language),
                     columns[1].threshold, group.ess_bulk_min >= limits.ess_bulk_min),
            GateCell(columns[2].label, _number(group.ess_tail_min, 0, language),
                     columns[2].threshold, group.ess_tail_min >= limits.ess_tail_min),
        ]
        groups.append((name, cells))
    sampler = [
        GateCell(messages("model.divergences"), _number(gate.divergences, 0, language),
                 f"≤ {_number(limits.divergences_max, 0, language)}",
                 gate.divergences <= limits.divergences_max),
        GateCell(messages("model.bfmi"), _number(gate.bfmi_min, 2, language),
                 f"≥ {_number(limits.bfmi_min, 1, language)}", gate.bfmi_min >= limits.bfmi_min),
    ]
    return GateTable(passed=bool(gate.passed), columns=columns, groups=groups, sampler=sampler)
