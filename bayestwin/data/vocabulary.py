"""Shared vocabulary: markers and units, drugs, event codes and variant classes.

Every part of bayestwin (reader, simulator, model, twins, reports) takes its
names from this module, so extend these tables rather than writing a second
list elsewhere.

Unit conversions. Cholesterol (LDL-C, HDL-C, total and non-HDL cholesterol):
1 mmol/L = 38.67 mg/dL; triglycerides: 1 mmol/L = 88.57 mg/dL; 1 g/L =
100 mg/dL for every mass concentration. Lp(a) is kept in the unit family it
was measured in (mass, mg/dL, or molar, nmol/L) because no fixed factor links
them: the ratio depends on the apolipoprotein(a) isoform size.

Statin potency. Doses convert to atorvastatin-equivalent milligrams with the
factors below, read from the NICE lipid-modification table of percent LDL-C
reduction by statin and dose (NICE CG181, derived from Law et al., BMJ
2003;326:1423): each doubling of a statin dose adds about 6 percentage points
of reduction, so a factor is 2 to the power of the dose-matched gap divided
by 6. Rosuvastatin 10 mg and atorvastatin 20 mg both lower LDL-C by about 43%
(factor 2); simvastatin 40 mg and atorvastatin 10 mg both by about 37% (0.25);
pravastatin 40 mg by 29% (0.125); fluvastatin 80 mg by 33% (0.08). Pitavastatin
and lovastatin, absent from that table, take the dose bands of the UCSF
Hospital Handbook statin-equivalency table (pitavastatin 2 mg with
atorvastatin 10 mg: 5; lovastatin with pravastatin: 0.125).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

CHOLESTEROL_MG_DL_PER_MMOL_L = 38.67
TRIGLYCERIDES_MG_DL_PER_MMOL_L = 88.57
MG_DL_PER_G_L = 100.0


@dataclass(frozen=True)
class MarkerInfo:
    """A measured marker, its accepted units and its plausible range.

    Attributes
    ----------
    name
        Marker code used in the `measurements` table (for example ``ldl_c``).
    label
        Human-readable English name.
    units
        Accepted unit -> (canonical unit, factor); value in the canonical
        unit = value x factor.
    plausible
        Canonical unit -> (low, high): a value outside is an error, because it
        is almost surely a unit or typing mistake.
    typical
        Canonical unit -> (low, high): a value outside but plausible is kept
        with a warning.

    """

    name: str
    label: str
    units: dict[str, tuple[str, float]]
    plausible: dict[str, tuple[float, float]]
    typical: dict[str, tuple[float, float]] = field(default_factory=dict)

    def canonical(self, unit: str) -> tuple[str, float]:
        """Return the canonical unit and the conversion factor for `unit`."""
        return self.units[unit]


def _cholesterol(name: str, label: str, plausible: tuple, typical: tuple) -> MarkerInfo:
    factor = 1.0 / CHOLESTEROL_MG_DL_PER_MMOL_L
    return MarkerInfo(
        name,
        label,
        {
            "mmol/L": ("mmol/L", 1.0),
            "mg/dL": ("mmol/L", factor),
            "g/L": ("mmol/L", MG_DL_PER_G_L * factor),
        },
        {"mmol/L": plausible},
        {"mmol/L": typical},
    )


_TG_FACTOR = 1.0 / TRIGLYCERIDES_MG_DL_PER_MMOL_L

_MARKER_LIST = [
    _cholesterol("ldl_c", "LDL cholesterol", (0.05, 30.0), (0.15, 15.0)),
    _cholesterol("hdl_c", "HDL cholesterol", (0.05, 6.0), (0.3, 3.5)),
    _cholesterol("total_c", "Total cholesterol", (0.5, 35.0), (2.0, 18.0)),
    _cholesterol("non_hdl_c", "Non-HDL cholesterol", (0.1, 33.0), (0.5, 16.0)),
    MarkerInfo(
        "tg",
        "Triglycerides",
        {
            "mmol/L": ("mmol/L", 1.0),
            "mg/dL": ("mmol/L", _TG_FACTOR),
            "g/L": ("mmol/L", MG_DL_PER_G_L * _TG_FACTOR),
        },
        {"mmol/L": (0.05, 100.0)},
        {"mmol/L": (0.2, 20.0)},
    ),
    MarkerInfo(
        "apob",
        "Apolipoprotein B",
        {"g/L": ("g/L", 1.0), "mg/dL": ("g/L", 1.0 / MG_DL_PER_G_L)},
        {"g/L": (0.05, 6.0)},
        {"g/L": (0.2, 3.5)},
    ),
    MarkerInfo(
        "lpa",
        "Lipoprotein(a)",
        {"mg/dL": ("mg/dL", 1.0), "g/L": ("mg/dL", MG_DL_PER_G_L), "nmol/L": ("nmol/L", 1.0)},
        {"mg/dL": (0.0, 500.0), "nmol/L": (0.0, 1200.0)},
        {"mg/dL": (0.0, 250.0), "nmol/L": (0.0, 600.0)},
    ),
    MarkerInfo("cac", "Coronary artery calcium score", {"AU": ("AU", 1.0)},
               {"AU": (0.0, 20000.0)}, {"AU": (0.0, 5000.0)}),
    MarkerInfo("plaque_volume", "Coronary plaque volume (CCTA)", {"mm3": ("mm3", 1.0)},
               {"mm3": (0.0, 5000.0)}, {"mm3": (0.0, 2500.0)}),
    MarkerInfo("cimt", "Carotid intima-media thickness", {"mm": ("mm", 1.0)},
               {"mm": (0.2, 5.0)}, {"mm": (0.3, 2.0)}),
    MarkerInfo("sbp", "Systolic blood pressure", {"mmHg": ("mmHg", 1.0)},
               {"mmHg": (50.0, 300.0)}, {"mmHg": (80.0, 220.0)}),
    MarkerInfo("dbp", "Diastolic blood pressure", {"mmHg": ("mmHg", 1.0)},
               {"mmHg": (20.0, 200.0)}, {"mmHg": (40.0, 140.0)}),
    MarkerInfo("bmi", "Body-mass index", {"kg/m2": ("kg/m2", 1.0)},
               {"kg/m2": (8.0, 100.0)}, {"kg/m2": (15.0, 60.0)}),
    MarkerInfo("hba1c", "Glycated haemoglobin", {"%": ("%", 1.0), "mmol/mol": ("%", None)},
               {"%": (2.0, 25.0)}, {"%": (4.0, 14.0)}),
    MarkerInfo("egfr", "Estimated glomerular filtration rate",
               {"mL/min/1.73m2": ("mL/min/1.73m2", 1.0)},
               {"mL/min/1.73m2": (1.0, 250.0)}, {"mL/min/1.73m2": (10.0, 150.0)}),
]

MARKERS: MappingProxyType[str, MarkerInfo] = MappingProxyType({m.name: m for m in _MARKER_LIST})
"""Built-in markers by code. A cohort may declare others in its `markers` table."""

UNITS: tuple[str, ...] = (
    "mmol/L", "mg/dL", "g/L", "nmol/L", "AU", "mm3", "mm", "mmHg", "kg/m2", "%",
    "mmol/mol", "mL/min/1.73m2",
)
"""Unit spellings known to bayestwin. Declared markers may use other units."""

LIPID_MARKERS: tuple[str, ...] = ("ldl_c", "hdl_c", "total_c", "non_hdl_c", "tg", "apob", "lpa")


def hba1c_mmol_mol_to_percent(value: float) -> float:
    """Convert HbA1c from IFCC mmol/mol to NGSP percent (IFCC-NGSP master equation)."""
    return value / 10.929 + 2.15


# Drugs ----------------------------------------------------------------------

DrugClass = Literal[
    "statin", "ezetimibe", "pcsk9_antibody", "pcsk9_sirna", "bempedoic_acid",
    "antihypertensive", "trial_arm", "placebo", "other",
]


@dataclass(frozen=True)
class DrugInfo:
    """A lipid-lowering drug in the built-in catalogue.

    Attributes
    ----------
    name
        International non-proprietary name in lower case.
    drug_class
        Pharmacological class; decides which treatment-response block applies.
    route
        ``oral`` (dose is the daily dose in mg) or ``injection`` (dose per
        injection in mg).
    doses_mg
        Licensed doses. The reader keeps another dose with a warning when
        it lies between them, below the smallest or up to twice the largest,
        and rejects a dose above twice the largest.
    atorvastatin_equivalence
        Statins only: atorvastatin-equivalent mg per mg of this drug.

    """

    name: str
    drug_class: DrugClass
    route: Literal["oral", "injection"]
    doses_mg: tuple[float, ...]
    atorvastatin_equivalence: float | None = None


_DRUG_LIST = [
    DrugInfo("atorvastatin", "statin", "oral", (10, 20, 40, 80), 1.0),
    DrugInfo("rosuvastatin", "statin", "oral", (5, 10, 20, 40), 2.0),
    DrugInfo("simvastatin", "statin", "oral", (10, 20, 40, 80), 0.25),
    DrugInfo("pravastatin", "statin", "oral", (10, 20, 40, 80), 0.125),
    DrugInfo("fluvastatin", "statin", "oral", (20, 40, 80), 0.08),
    DrugInfo("pitavastatin", "statin", "oral", (1, 2, 4), 5.0),
    DrugInfo("lovastatin", "statin", "oral", (10, 20, 40, 80), 0.125),
    DrugInfo("ezetimibe", "ezetimibe", "oral", (10,)),
    DrugInfo("evolocumab", "pcsk9_antibody", "injection", (140, 420)),
    DrugInfo("alirocumab", "pcsk9_antibody", "injection", (75, 150, 300)),
    DrugInfo("inclisiran", "pcsk9_sirna", "injection", (284,)),
    DrugInfo("bempedoic_acid", "bempedoic_acid", "oral", (180,)),
]

DRUGS: MappingProxyType[str, DrugInfo] = MappingProxyType({d.name: d for d in _DRUG_LIST})
"""Built-in drug catalogue by name. Other drugs go in the cohort's `drugs` table."""

DECLARABLE_DRUG_CLASSES: tuple[str, ...] = ("antihypertensive", "trial_arm", "placebo", "other")
"""Classes a cohort's `drugs` table may give a drug that is not in the catalogue."""

LIPID_LOWERING_CLASSES: tuple[str, ...] = (
    "statin", "ezetimibe", "pcsk9_antibody", "pcsk9_sirna", "bempedoic_acid",
)


# Events ---------------------------------------------------------------------

EVENTS: MappingProxyType[str, str] = MappingProxyType({
    "mi": "myocardial infarction",
    "stroke": "stroke",
    "cv_death": "cardiovascular death",
    "revascularisation": "coronary revascularisation",
    "unstable_angina": "unstable angina",
    "chd": "coronary heart disease (angina, MI or coronary death)",
    "cvd": "cardiovascular disease (Framingham definition)",
    "death_other": "death from non-cardiovascular causes",
    "death": "death from any cause",
    "transplant": "transplantation",
})
"""Event codes with their meaning. A model file lists which make its endpoint."""

MACE: tuple[str, ...] = ("mi", "stroke", "cv_death", "revascularisation", "unstable_angina")
"""Event codes that make the default MACE endpoint."""


# Genomics -------------------------------------------------------------------

VARIANT_CLASSES: tuple[str, ...] = (
    "ldlr_null", "ldlr_defective", "ldlr_unknown", "apob", "pcsk9", "polygenic",
    "none_found", "not_tested",
)
"""FH variant classes; ``not_tested`` is a missing value that the model marginalises."""

SMOKING: tuple[str, ...] = ("current", "former", "never", "not_current")
"""Smoking status at entry; ``not_current`` where former and never smokers are not distinguished."""
SEXES: tuple[str, ...] = ("F", "M")
