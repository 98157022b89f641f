"""Clinician and researcher reports, with their plots and message catalogues.

The clinician report shows one patient on one A4 page, as HTML and PDF, in
French or English; the cohort report compares treatments for researchers.
bayestwin is research software, not a certified medical device; every report states it.
"""

from bayestwin.report.catalogue import Catalogue
from bayestwin.report.cohort_report import render_cohort_report
from bayestwin.report.context import ReportContext, build_report_context
from bayestwin.report.pdf import find_chromium, render_pdf
from bayestwin.report.render import render_html
from bayestwin.report.writer import report_file_name, write_reports

__all__ = [
    "Catalogue",
    "ReportContext",
    "build_report_context",
    "find_chromium",
    "render_cohort_report",
    "render_html",
    "render_pdf",
    "report_file_name",
    "write_reports",
]
