"""The patient page: self-contained, localised, and rendered by a real browser."""

import datetime
import re
import subprocess

import pytest

import bayestwin
from bayestwin.report import build_report_context, render_html

REPORT_DATE = datetime.date(2025, 3, 12)


@pytest.fixture(scope="module")
def pages(twin, cohort, gate, model_info):
    return {language: render_html(build_report_context(
        twin, cohort=cohort, gate=gate, language=language, report_date=REPORT_DATE,
        dose_choice={"best_dose_label": "atorvastatin:80", "p_best": 0.71}, **model_info))
        for language in ("fr", "en")}


def visible_text(html):
    without_svg = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    without_style = re.sub(r"<style>.*?</style>", " ", without_svg, flags=re.S)
    return re.sub(r"<[^>]+>", " ", without_style)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_page_loads_nothing_external(pages, language):
    html = pages[language]
    for marker in ("http://", "https://", "src=", "@import", "<link", "<script"):
        assert marker not in html, marker
    # The only url() and href values are references to ids inside the page.
    assert re.findall(r"url\((?!#)", html) == []
    assert re.findall(r'href="(?!#)', html) == []


@pytest.mark.parametrize("language", ["fr", "en"])
def test_page_ids_unique(pages, language):
    ids = re.findall(r'\bid="([^"]+)"', pages[language])
    assert len(ids) == len(set(ids))


def test_page_is_a4_print_layout(pages):
    assert "@page { size: A4 portrait; margin: 10mm; }" in pages["fr"]


def test_french_page_terms_and_decimal_comma(pages):
    text = visible_text(pages["fr"])
    for term in ("LDL-cholestérol", "intervalle de crédibilité à 90\u202f%",
                 "Risque d'événement cardiovasculaire majeur (MACE)",
                 "réduction absolue du risque", "nombre de sujets à traiter",
                 "Objectif ESC", "Score calcique coronaire", "très haut risque",
                 "n'est pas un dispositif médical certifié", "NST"):
        assert term.lower() in text.replace("&#39;", "'").lower(), term
    assert re.search(r"\d,\d\u202f%", text)
    assert re.search(r"\d,\d\d\u00a0g/L", text)
    # Every number but the package version uses the decimal comma.
    assert not re.search(r"\d\.\d", text.replace(f"bayestwin {bayestwin.__version__}", ""))


def test_english_page_decimal_point(pages):
    text = visible_text(pages["en"])
    assert re.search(r"\d\.\d%", text)
    assert not re.search(r"\d,\d\d?%", text)
    assert "is not a certified medical device" in text
    assert "The twin&#39;s MACE is not SCORE2&#39;s endpoint" in text
    for french in ("LDL-cholestérol", "risque", "NST"):
        assert french not in text


def test_page_states_endpoint_assumption_and_provenance(pages, model_info):
    text = visible_text(pages["en"])
    assert "myocardial infarction, stroke, cardiovascular death" in text
    assert "only through LDL-C and the atherosclerotic burden" in text
    assert model_info["model_sha256"] in text
    assert "fh_twin.toml" in text


def test_page_renders_in_chromium(tmp_path, pages, chromium):
    page = tmp_path / "report_fr.html"
    page.write_text(pages["fr"], encoding="utf-8")
    profile = tmp_path / "profile"
    profile.mkdir()
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Options de traitement" in result.stdout
    assert result.stdout.count("<svg") >= 5
