import datetime
import re

import pytest

from bayestwin.exceptions import ConvergenceError
from bayestwin.report import build_report_context, render_html, write_reports
from bayestwin.report.catalogue import Catalogue
from bayestwin.riskscores import RiskProfile

REPORT_DATE = datetime.date(2025, 3, 12)


def build(twin, cohort, gate, model_info, **options):
    return build_report_context(twin, cohort=cohort, gate=gate, report_date=REPORT_DATE,
                                **model_info, **options)


def test_catalogues_same_keys_and_fields():
    french, english = Catalogue.load("fr"), Catalogue.load("en")
    assert set(french.messages) == set(english.messages)
    for key, text in english.messages.items():
        assert text.strip(), f"empty English message {key}"
        assert french.messages[key].strip(), f"empty French message {key}"
        fields_en = set(re.findall(r"{(\w+)}", text))
        fields_fr = set(re.findall(r"{(\w+)}", french.messages[key]))
        assert fields_en == fields_fr, key


def test_catalogue_missing_key_names_file():
    with pytest.raises(KeyError, match="fr.toml"):
        Catalogue.load("fr")("no.such.key")


def test_context_patient_rows_french(twin, cohort, gate, model_info):
    context = build(twin, cohort, gate, model_info, language="fr")
    rows = dict(context.patient)
    assert rows["Âge, sexe"] == "47 ans, femme"
    assert rows["Variant HF"] == "LDLR, variant défectif"
    # 3.42 mmol/L x 0.3867 = 1.32 g/L, measured 0.2 years before the start.
    assert rows["Dernier LDL-cholestérol"] == "1,32\u00a0g/L (il y a 2 mois)"
    assert rows["Score calcique coronaire"].startswith("1\u202f234\u00a0UA")
    assert rows["Traitement actuel"] == "atorvastatine 40\u00a0mg"
    assert "HTA\u00a0: oui" in rows["Antécédents"]


def test_context_ldl_unit_choice(twin, cohort, gate, model_info):
    mg = dict(build(twin, cohort, gate, model_info, language="en", ldl_unit="mg/dL").patient)
    mmol = dict(build(twin, cohort, gate, model_info, language="en").patient)
    assert mg["Latest LDL-C"].startswith("132\u00a0mg/dL")
    assert mmol["Latest LDL-C"].startswith("3.42\u00a0mmol/L")


def test_context_goal_uses_published_values(twin, cohort, gate, model_info):
    assert build(twin, cohort, gate, model_info, language="fr").goal_value == "< 0,55\u00a0g/L"
    assert build(twin, cohort, gate, model_info, language="en").goal_value == "< 1.4\u00a0mmol/L"
    context = build(twin, cohort, gate, model_info, language="en", ldl_unit="mg/dL")
    assert context.goal_value == "< 55\u00a0mg/dL"


def test_context_options_follow_risk_table(twin, cohort, gate, model_info):
    context = build(twin, cohort, gate, model_info, language="en")
    assert [row.code for row in context.options] == list(twin.trajectories["scenario"].values)
    assert context.options[0].is_reference
    assert context.options[0].arr.value == "—"
    ten = twin.risks[twin.risks["horizon"] == 10.0].set_index("scenario")
    lowest = ten["risk"].iloc[1:].idxmin()
    assert [row.code for row in context.options if row.is_lowest] == [lowest]
    last = context.options[-1]
    assert last.risks[1].value == f"{100 * ten.loc[last.code, 'risk']:.1f}%"
    assert last.nnt.value.startswith("NNTB ")


def test_context_french_nnt_and_labels(twin, cohort, gate, model_info):
    context = build(twin, cohort, gate, model_info, language="fr")
    assert context.options[-1].nnt.value.startswith("NST ")
    assert context.options[2].label == "atorvastatine 80\u00a0mg + ézétimibe 10\u00a0mg"
    assert context.category == "très haut risque"


def test_context_dose_choice(twin, cohort, gate, model_info):
    absent = build(twin, cohort, gate, model_info, language="en")
    assert absent.dose == "not computed."
    chosen = build(twin, cohort, gate, model_info, language="fr",
                   dose_choice={"best_dose_label": "atorvastatin:80", "p_best": 0.71})
    assert "atorvastatine 80\u00a0mg" in chosen.dose
    assert "71\u202f%" in chosen.dose


def test_context_dose_choice_invalid(twin, cohort, gate, model_info):
    with pytest.raises(ValueError, match="p_best"):
        build(twin, cohort, gate, model_info, dose_choice={"best_dose_label": "x"})
    with pytest.raises(ValueError, match="probability"):
        build(twin, cohort, gate, model_info,
              dose_choice={"best_dose_label": "x", "p_best": 1.5})


def test_context_rejects_bad_options(twin, cohort, gate, model_info):
    with pytest.raises(ValueError, match="language"):
        build(twin, cohort, gate, model_info, language="de")
    with pytest.raises(ValueError, match="ldl_unit"):
        build(twin, cohort, gate, model_info, ldl_unit="mg/L")
    with pytest.raises(ValueError, match="trajectory_panel"):
        build(twin, cohort, gate, model_info, trajectory_panel="plaque")


def test_population_scores_fh_reason(twin, cohort, gate, model_info):
    context = build(twin, cohort, gate, model_info, language="en")
    assert context.population[0].is_twin
    assert context.population[0].endpoint == "MACE"
    grouped = context.population[1]
    assert grouped.equations.startswith("SCORE2, SCORE2-OP")
    assert grouped.result.startswith("not applicable")
    assert "familial hypercholesterolaemia" in context.population_reasons[0]


def test_population_scores_with_profile(twin, cohort, gate, model_info):
    # A person without FH or ASCVD: SCORE2 applies (its published example, 5.9%).
    profile = RiskProfile(age=50, sex="male", race="white", risk_region="low",
                          smoking="current", diabetes=False, on_bp_treatment=False,
                          systolic_bp=140, total_cholesterol=5.5, hdl_cholesterol=1.3)
    context = build(twin, cohort, gate, model_info, language="en", risk_profile=profile)
    score2 = [row for row in context.population if row.equations == "SCORE2"]
    assert len(score2) == 1
    assert score2[0].result == "5.9%, 10 y"
    assert score2[0].endpoint == "CV death, non-fatal MI or non-fatal stroke"


def test_unconverged_rejected_names_option(twin, cohort, gate_factory, model_info):
    with pytest.raises(ConvergenceError, match="--allow-unconverged"):
        build(twin, cohort, gate_factory(passed=False), model_info)


def test_unconverged_twin_flag_rejected(twin_factory, cohort, gate, model_info):
    with pytest.raises(ConvergenceError, match="--allow-unconverged"):
        build(twin_factory(converged=False), cohort, gate, model_info)


def test_write_reports_unconverged_writes_nothing(tmp_path, twin, cohort, gate_factory,
                                                  model_info):
    with pytest.raises(ConvergenceError, match="--allow-unconverged"):
        write_reports(twin, cohort=cohort, gate=gate_factory(passed=False), out_dir=tmp_path,
                      formats=("html",), **model_info)
    assert list(tmp_path.iterdir()) == []


def test_unconverged_banner_when_allowed(twin, cohort, gate_factory, model_info):
    for language, title in (("fr", "n'a pas passé le contrôle de convergence"),
                            ("en", "did not pass the convergence gate")):
        context = build(twin, cohort, gate_factory(passed=False), model_info,
                        language=language, allow_unconverged=True)
        html = render_html(context)
        assert 'class="banner"' in html
        assert title in html.replace("&#39;", "'")
        assert "1,087 ✗" in html if language == "fr" else "1.087 ✗" in html


def test_converged_page_has_no_banner(twin, cohort, gate, model_info):
    html = render_html(build(twin, cohort, gate, model_info, language="en"))
    assert 'class="banner"' not in html
    assert "Convergence gate: passed" in html


def test_write_reports_html_names(tmp_path, twin, cohort, gate, model_info):
    paths = write_reports(twin, cohort=cohort, gate=gate, out_dir=tmp_path / "out",
                          formats=("html",), report_date=REPORT_DATE, **model_info)
    assert [path.name for path in paths] == ["report_P0042_fr.html", "report_P0042_en.html"]
    assert all(path.is_file() for path in paths)


def test_write_reports_rejects_format(tmp_path, twin, cohort, gate, model_info):
    with pytest.raises(ValueError, match="formats"):
        write_reports(twin, cohort=cohort, gate=gate, out_dir=tmp_path, formats=("docx",),
                      **model_info)


def test_context_without_event_block(twin_factory, cohort, gate, model_info):
    # A lipid-only model: no cumulative incidence and an empty risk table.
    twin = twin_factory()
    twin.trajectories = twin.trajectories.drop_vars("cumulative_incidence")
    twin.risks = twin.risks.iloc[0:0]
    context = build(twin, cohort, gate, model_info, language="en")
    assert context.headline == []
    assert context.icons == []
    assert len(context.figures) == 2
    assert context.options[1].risks == []
    html = render_html(context)
    assert "not computed: this model has no event block" in html


def test_context_cac_panel(twin, cohort, gate, model_info):
    context = build(twin, cohort, gate, model_info, language="fr", trajectory_panel="cac")
    assert [figure.title for figure in context.figures] == [
        "LDL-cholestérol", "Score calcique coronaire", "Incidence cumulée des MACE"]
