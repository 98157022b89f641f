import math
import re

import pandas as pd
import pytest

from bayestwin.report import render_cohort_report


@pytest.fixture
def summary():
    rows = []
    for group, patients in (("ldlr_null", 120), ("polygenic", 80)):
        rows.append({"subgroup": group, "plan": "current", "patients": patients,
                     "mean_risk": 0.14, "events_averted": 0.0, "events_averted_low": 0.0,
                     "events_averted_high": 0.0, "averted_per_1000": 0.0,
                     "averted_per_1000_low": 0.0, "averted_per_1000_high": 0.0,
                     "p_beats_reference": math.nan})
        rows.append({"subgroup": group, "plan": "esc-goal", "patients": patients,
                     "mean_risk": 0.11, "events_averted": 3.6, "events_averted_low": 1.2,
                     "events_averted_high": 6.1, "averted_per_1000": 30.0,
                     "averted_per_1000_low": 10.0, "averted_per_1000_high": 50.8,
                     "p_beats_reference": 0.993})
    return pd.DataFrame(rows)


@pytest.fixture
def ldl_effects():
    return pd.DataFrame([
        {"drug": "atorvastatin", "class": "statin", "dose_mg": 80.0, "reduction": 0.51,
         "reduction_low": 0.47, "reduction_high": 0.55, "patient_p10": 0.38,
         "patient_p90": 0.62},
        {"drug": "ezetimibe", "class": "ezetimibe", "dose_mg": 10.0, "reduction": 0.21,
         "reduction_low": 0.17, "reduction_high": 0.25, "patient_p10": 0.12,
         "patient_p90": 0.3},
    ])


def test_cohort_report_french(summary, ldl_effects):
    html = render_cohort_report(summary, ldl_effects, "fr", horizon_years=10)
    assert "LDLR, variant nul" in html
    assert "traiter jusqu&#39;à l&#39;objectif ESC" in html
    assert "ézétimibe" in html
    assert "+30,0" in html
    assert "> 99\u202f%" in html.replace("&gt;", ">")
    assert "http" not in html
    assert re.findall(r"url\((?!#)", html) == []
    assert html.count("<svg") == 2


def test_cohort_report_english(summary, ldl_effects):
    html = render_cohort_report(summary, ldl_effects, "en")
    assert "51%" in html
    assert "47 to 55" in html
    assert "Horizon: not stated." in html


def test_cohort_report_missing_column(summary, ldl_effects):
    with pytest.raises(ValueError, match="p_beats_reference"):
        render_cohort_report(summary.drop(columns="p_beats_reference"), ldl_effects)


def test_cohort_report_empty_ldl(summary, ldl_effects):
    html = render_cohort_report(summary, ldl_effects.iloc[0:0], "en")
    assert html.count("<svg") == 1
