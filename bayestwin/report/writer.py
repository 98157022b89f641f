"""Write a patient's report files: one per language and format."""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bayestwin.data.cohort import Cohort
from bayestwin.report.context import build_report_context, require_converged
from bayestwin.report.formatting import check_language, check_ldl_unit
from bayestwin.report.pdf import find_chromium, render_pdf
from bayestwin.report.render import render_html

if TYPE_CHECKING:
    from bayestwin.inference.gate import GateResult
    from bayestwin.riskscores import RiskProfile
    from bayestwin.twin.api import Twin

FORMATS: tuple[str, ...] = ("html", "pdf")


def report_file_name(patient_id: str, language: str, extension: str) -> str:
    """Return ``report_<patient>_<lang>.<ext>``; characters unsafe in file names become ``_``."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", str(patient_id)).strip(".") or "patient"
    return f"report_{safe}_{language}.{extension}"


def write_reports(
    twin: Twin, *, cohort: Cohort, gate: GateResult, model_name: str, model_sha256: str,
    data_date: datetime.date | str, out_dir: str | os.PathLike,
    languages: Sequence[str] = ("fr", "en"), formats: Sequence[str] = ("html", "pdf"),
    ldl_unit: str | None = None, dose_choice: dict | None = None,
    risk_profile: RiskProfile | None = None, trajectory_panel: str = "burden",
    report_date: datetime.date | None = None, allow_unconverged: bool = False,
    chromium: str | os.PathLike | None = None,
) -> list[Path]:
    """Write the patient report in each language and format.

    Files are named ``report_<patient>_<lang>.<ext>`` in `out_dir`, which is
    created when missing.

    Parameters
    ----------
    twin, cohort, gate, model_name, model_sha256, data_date, dose_choice, risk_profile
        As in `build_report_context`.
    trajectory_panel, report_date
        As in `build_report_context`.
    out_dir
        Folder of the report files.
    languages
        Any of ``"fr"`` and ``"en"``.
    formats
        Any of ``"html"`` and ``"pdf"``; PDF needs headless Chromium.
    ldl_unit
        LDL-C unit for every language; by default g/L in French and mmol/L in English.
    allow_unconverged
        Write reports of a fit that failed the convergence gate, with a
        warning banner on the page (the CLI's ``--allow-unconverged``).
    chromium
        Chromium executable for PDF output; searched on PATH when None.

    Returns
    -------
    list of Path
        The files written, in the order language, then format.

    Raises
    ------
    ConvergenceError
        The fit failed the convergence gate and `allow_unconverged` is False.
    FileNotFoundError
        PDF output was asked for and Chromium is not installed.
    ValueError
        An unknown language, format or LDL-C unit.

    """
    # Check every option and the convergence gate before writing anything.
    languages = [check_language(language) for language in languages]
    formats = list(formats)
    unknown = [name for name in formats if name not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"formats={tuple(formats)!r} is invalid; expected one or more of "
                         f"{', '.join(repr(name) for name in FORMATS)}.")
    if ldl_unit is not None:
        check_ldl_unit(ldl_unit)
    require_converged(gate, twin, model_name=model_name, allow_unconverged=allow_unconverged)
    if "pdf" in formats:
        chromium = find_chromium(chromium)

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for language in languages:
        context = build_report_context(
            twin, cohort=cohort, gate=gate, model_name=model_name, model_sha256=model_sha256,
            data_date=data_date, language=language, ldl_unit=ldl_unit, dose_choice=dose_choice,
            risk_profile=risk_profile, trajectory_panel=trajectory_panel,
            report_date=report_date, allow_unconverged=allow_unconverged)
        html = render_html(context)
        for name in formats:
            path = folder / report_file_name(twin.patient_id, language, name)
            if name == "html":
                path.write_text(html, encoding="utf-8")
            else:
                render_pdf(html, path, chromium=chromium)
            written.append(path)
    return written
