"""The demo: report formats by machine, and the quick run end to end (slow)."""

import pytest

import bayestwin.report
from bayestwin.demo import report_formats, run_demo


def test_formats_without_chromium(monkeypatch):
    def missing():
        raise FileNotFoundError("no chromium")

    monkeypatch.setattr(bayestwin.report, "find_chromium", missing)
    formats, reason = report_formats()
    assert formats == ("html",)
    assert "apt-get install chromium" in reason


def test_formats_with_chromium(monkeypatch):
    monkeypatch.setattr(bayestwin.report, "find_chromium", lambda: "/usr/bin/chromium")
    assert report_formats() == (("html", "pdf"), None)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::bayestwin.exceptions.ConvergenceWarning")
def test_quick_demo_writes_every_report(tmp_path):
    summary = run_demo(tmp_path, quick=True)
    formats, _ = report_formats()
    reports = tmp_path / "reports"
    for extension in formats:
        for language in ("fr", "en"):
            assert len(list(reports.glob(f"report_*_{language}.{extension}"))) == 3
    assert (reports / "cohort_report_en.html").is_file()
    assert (tmp_path / "fit.nc").is_file()
    assert "Reports:" in summary
