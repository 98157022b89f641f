"""Published calibration targets of the simulator, each with its accepted range.

Each `Target` names a published figure, its source, the sub-population it
was measured in and the range a simulated cohort must hit, with the reason
for the range's width. `bayestwin.simulate.calibration` computes the
simulated counterparts.
"""

from __future__ import annotations

from dataclasses import dataclass

HIGH_INTENSITY = (
    ("atorvastatin", 40.0),
    ("atorvastatin", 80.0),
    ("rosuvastatin", 20.0),
    ("rosuvastatin", 40.0),
)
MODERATE_INTENSITY = (
    ("atorvastatin", 10.0),
    ("atorvastatin", 20.0),
    ("rosuvastatin", 5.0),
    ("rosuvastatin", 10.0),
    ("simvastatin", 40.0),
    ("pravastatin", 80.0),
    ("fluvastatin", 80.0),
    ("pitavastatin", 2.0),
    ("pitavastatin", 4.0),
)
"""ACC/AHA moderate-intensity doses that the Emax curve keeps in the 30-50% band.

Simvastatin 20 mg, pravastatin 40 mg and pitavastatin 1 mg (5 mg of
atorvastatin) fall to 26.7%, under the band; see `PopulationParameters`.
"""


@dataclass(frozen=True)
class Target:
    """A published figure, the sub-population it describes and the accepted simulated range.

    Attributes
    ----------
    key
        Identifier of the statistic in `simulated_values`.
    name, source, subpopulation
        What was measured, where it was published, and in whom (the
        simulated statistic uses the same patients).
    published
        The published value, in `unit`.
    low, high
        Accepted range for the simulated value.
    reason
        Why the range is that wide.
    unit
        Unit of the value; empty for a fraction or a ratio.

    """

    key: str
    name: str
    source: str
    subpopulation: str
    published: float
    low: float
    high: float
    reason: str
    unit: str = ""


_CENTRE_SHIFT = "centre effects shift the cohort mean (SD about 0.11 mmol/L at any size); 3 SD"
TARGETS: tuple[Target, ...] = (
    Target(
        "ldl_null",
        "untreated LDL-C, LDLR null",
        "Paquette, EJPC 2022",
        "true class ldlr_null, at entry",
        7.90,
        7.55,
        8.25,
        _CENTRE_SHIFT,
        "mmol/L",
    ),
    Target(
        "ldl_defective",
        "untreated LDL-C, LDLR defective",
        "Paquette, EJPC 2022",
        "true class ldlr_defective, at entry",
        6.73,
        6.40,
        7.05,
        _CENTRE_SHIFT,
        "mmol/L",
    ),
    Target(
        "ldl_sd",
        "untreated LDL-C SD within class",
        "Ahmad 2012 (7.6 +/- 1.2 in LDLR carriers)",
        "LDLR carriers by class, at entry",
        1.2,
        1.0,
        1.4,
        "4 Monte Carlo SD (0.05) at 2,000 patients",
        "mmol/L",
    ),
    Target(
        "variant_found",
        "variant found in clinical FH",
        "Futema",
        "index cases",
        0.40,
        0.35,
        0.45,
        "3.5 binomial SE at about 1,200 index cases",
    ),
    Target(
        "ldlr_share",
        "LDLR share of carriers",
        "UK FH (scite FDB report)",
        "index cases with a variant",
        0.93,
        0.89,
        0.97,
        "3 binomial SE at about 500 carriers",
    ),
    Target(
        "apob_share",
        "APOB share of carriers",
        "UK FH (scite FDB report)",
        "index cases with a variant",
        0.05,
        0.02,
        0.08,
        "3 binomial SE at about 500 carriers",
    ),
    Target(
        "lpa_median",
        "Lp(a) median",
        "Varvel, ATVB 2016",
        "all patients",
        17.0,
        15.0,
        19.0,
        "3 Monte Carlo SD (0.64 mg/dL) at 2,000 patients",
        "mg/dL",
    ),
    Target(
        "lpa_above_50",
        "Lp(a) above 50 mg/dL",
        "Varvel, ATVB 2016",
        "all patients",
        0.24,
        0.20,
        0.28,
        "4 binomial SE at 2,000 patients",
    ),
    Target(
        "lpa_above_30",
        "Lp(a) above 30 mg/dL",
        "Varvel, ATVB 2016",
        "all patients",
        0.35,
        0.31,
        0.39,
        "4 binomial SE at 2,000 patients",
    ),
    Target(
        "atorvastatin_10",
        "atorvastatin 10 mg LDL-C reduction",
        "NICE CG181",
        "full adherence, typical response",
        0.37,
        0.36,
        0.38,
        "the Emax curve passes through it",
    ),
    Target(
        "high_intensity_min",
        "weakest high-intensity dose",
        "ACC/AHA intensity bands",
        "full adherence, typical response",
        0.50,
        0.50,
        0.60,
        "high intensity means >= 50%",
    ),
    Target(
        "moderate_min",
        "weakest moderate-intensity dose kept in band",
        "ACC/AHA intensity bands",
        "full adherence, typical response",
        0.30,
        0.30,
        0.50,
        "moderate intensity means 30-49%",
    ),
    Target(
        "moderate_max",
        "strongest moderate-intensity dose",
        "ACC/AHA intensity bands",
        "full adherence, typical response",
        0.49,
        0.30,
        0.50,
        "moderate intensity means 30-49%",
    ),
    Target(
        "ezetimibe",
        "ezetimibe on a statin, mean reduction",
        "ODYSSEY COMBO II",
        "all patients, full adherence",
        0.207,
        0.19,
        0.23,
        "the spread of responsiveness moves the mean about 1 point off the typical fraction",
    ),
    Target(
        "pcsk9",
        "PCSK9 antibody, mean reduction",
        "ODYSSEY COMBO II; GLAGOV",
        "all patients, full adherence",
        0.61,
        0.58,
        0.64,
        "the spread of responsiveness moves the mean about 1 point off the typical fraction",
    ),
    Target(
        "jupiter_50",
        "rosuvastatin 20 mg: reduction >= 50%",
        "JUPITER (Ridker, EHJ 2016)",
        "all patients, own adherence, true reduction",
        0.463,
        0.42,
        0.51,
        "4 binomial SE at 2,000 patients",
    ),
    Target(
        "jupiter_none",
        "rosuvastatin 20 mg: no reduction (true reduction < 10%)",
        "JUPITER (Ridker, EHJ 2016)",
        "all patients, own adherence, true reduction",
        0.108,
        0.08,
        0.14,
        "4 binomial SE at 2,000 patients",
    ),
    Target(
        "cac0_46",
        "CAC = 0",
        "Mszar (pooled HeFH, mean age 46)",
        "no prior ASCVD, entry age 36-56",
        0.463,
        0.337,
        0.589,
        "published 95% CI",
    ),
    Target(
        "cac0_54",
        "CAC = 0",
        "Kanazawa HeFH cohort (n = 622, age 54)",
        "entry age 44-64",
        0.455,
        0.375,
        0.535,
        "binomial 95% CI at n = 622 (+/- 0.04), doubled for the "
        "compromise with the younger pooled estimate",
    ),
    Target(
        "cac_low_54",
        "CAC 1-100",
        "Kanazawa HeFH cohort (n = 622, age 54)",
        "entry age 44-64",
        0.418,
        0.338,
        0.498,
        "as for CAC = 0",
    ),
    Target(
        "cac_high_54",
        "CAC > 100",
        "Kanazawa HeFH cohort (n = 622, age 54)",
        "entry age 44-64",
        0.127,
        0.07,
        0.19,
        "binomial 95% CI at n = 622, doubled",
    ),
    Target(
        "rate_cac0",
        "MACE rate, CAC = 0",
        "Kanazawa HeFH cohort",
        "entry age 44-64",
        1.2,
        0.3,
        3.0,
        "Poisson 95% CI of about 4 events in about 3,700 person-years",
        "/1000 PY",
    ),
    Target(
        "rate_cac_low",
        "MACE rate, CAC 1-100",
        "Kanazawa HeFH cohort",
        "entry age 44-64",
        17.0,
        12.5,
        22.5,
        "Poisson 95% CI of about 58 events",
        "/1000 PY",
    ),
    Target(
        "rate_cac_high",
        "MACE rate, CAC > 100",
        "Kanazawa HeFH cohort",
        "entry age 44-64",
        78.8,
        40.0,
        100.0,
        "compromise with the HR of 32 below, which pulls the rate to about 55",
        "/1000 PY",
    ),
    Target(
        "ratio_cac",
        "MACE rate ratio, CAC > 100 vs CAC = 0",
        "SAFEHEART + REFERCHOL, JACC Imaging 2021 (HR 32, 10-102)",
        "entry age 44-64",
        32.0,
        10.0,
        102.0,
        "published 95% CI",
    ),
    Target(
        "rate_treated",
        "MACE rate, treated FH",
        "SAFEHEART",
        "all patients, follow-up",
        10.0,
        8.0,
        12.0,
        "Poisson 95% CI of 134 events (+/- 17%)",
        "/1000 PY",
    ),
    Target(
        "ctt",
        "RR per 1 mmol/L lower LDL-C over 5 years",
        "CTT, Lancet 2010",
        "entry LDL-C >= 2 mmol/L, 5 years from entry",
        0.78,
        0.76,
        0.80,
        "published 95% CI",
    ),
    Target(
        "ratio_null",
        "MACE rate ratio, LDLR null vs defective",
        "Paquette, EJPC 2022 (HR 2.09, 1.44-3.05)",
        "LDLR carriers, follow-up",
        2.09,
        1.2,
        3.05,
        "published 95% CI, lower end widened by 3 Monte Carlo SD (0.08) at 20,000 patients",
    ),
    Target(
        "ratio_monogenic",
        "MACE rate ratio, monogenic vs variant-negative",
        "Trinder, JACC 2019 (HR 1.96, 1.24-3.12)",
        "index cases, follow-up",
        1.96,
        1.24,
        3.12,
        "published 95% CI",
    ),
    Target(
        "microbiome_share",
        "share of log LDL-C variance from the microbiome factors",
        "Fu, Circ Res 2015 (about 4.5% of lipid variance, LDL-C weakest)",
        "all patients, untreated at entry",
        0.045,
        0.0,
        0.045,
        "LDL-C is the weakest of the lipids, so at most the average",
    ),
)
