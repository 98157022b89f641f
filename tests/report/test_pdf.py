"""PDF output through headless Chromium: one A4 page, in both languages."""

import datetime
import subprocess

import pytest

from bayestwin.report import write_reports
from bayestwin.report.pdf import find_chromium, render_pdf

REPORT_DATE = datetime.date(2025, 3, 12)


def pdf_info(path):
    output = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True,
                            check=True).stdout
    return dict(line.split(":", 1) for line in output.splitlines() if ":" in line)


def test_find_chromium_missing_names_tool():
    with pytest.raises(FileNotFoundError, match="chromium"):
        find_chromium("no-such-chromium-binary")


def test_render_pdf_missing_chromium(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install chromium"):
        render_pdf("<p>x</p>", tmp_path / "x.pdf", chromium="no-such-chromium-binary")


def test_reports_fit_one_a4_page(tmp_path, twin, cohort, gate, model_info, chromium, poppler):
    paths = write_reports(twin, cohort=cohort, gate=gate, out_dir=tmp_path,
                          report_date=REPORT_DATE, chromium=chromium, **model_info)
    assert [path.name for path in paths] == [
        "report_P0042_fr.html", "report_P0042_fr.pdf",
        "report_P0042_en.html", "report_P0042_en.pdf"]
    for path in paths[1::2]:
        info = pdf_info(path)
        assert info["Pages"].strip() == "1", path.name
        # A4 is 595 x 842 points.
        assert "A4" in info["Page size"], info["Page size"]


def test_worst_case_report_fits_one_page(tmp_path, twin_factory, cohort, gate_factory,
                                         model_info, chromium, poppler):
    # Five plans, a failed gate (banner and marked cells): the longest page we expect.
    scenarios = ["current", "atorvastatin:80", "atorvastatin:80+ezetimibe:10",
                 "rosuvastatin:40+ezetimibe:10+evolocumab:140",
                 "pravastatin:40+ezetimibe:10@adherence=0.8"]
    twin = twin_factory(scenarios=scenarios, converged=False)
    paths = write_reports(twin, cohort=cohort, gate=gate_factory(passed=False),
                          out_dir=tmp_path, formats=("pdf",), allow_unconverged=True,
                          dose_choice={"best_dose_label": "atorvastatin:80", "p_best": 0.71},
                          chromium=chromium, **model_info)
    for path in paths:
        assert pdf_info(path)["Pages"].strip() == "1", path.name


def test_pdf_converts_to_one_png(tmp_path, twin, cohort, gate, model_info, chromium, poppler):
    [pdf] = write_reports(twin, cohort=cohort, gate=gate, out_dir=tmp_path, languages=("fr",),
                          formats=("pdf",), report_date=REPORT_DATE, chromium=chromium,
                          **model_info)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(tmp_path / "page")],
                   check=True, capture_output=True)
    pngs = sorted(tmp_path.glob("page*.png"))
    assert len(pngs) == 1
    assert pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
