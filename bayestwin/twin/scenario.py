"""Treatment scenarios: plans written like ``atorvastatin:80+ezetimibe:10``.

A plan lists drugs with their doses, joined by ``+``. Options follow ``@``:
``@adherence=0.8`` (fraction of doses taken, default 1) and ``@diet=-1``
(change of the standardised diet score). ``current`` keeps the treatment the
patient is on at the start, and ``none`` stops every lipid-lowering drug.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from bayestwin.data.vocabulary import DRUGS, LIPID_LOWERING_CLASSES
from bayestwin.exceptions import ScenarioError

STRATEGIES = ("esc-goal",)
"""Named strategies: rules that pick a plan per patient (see `bayestwin.compare`)."""


@dataclass(frozen=True)
class Plan:
    """A treatment plan from the scenario start onwards.

    Attributes
    ----------
    label
        The text the plan was parsed from, used as the scenario coordinate.
    drugs
        (drug, dose in mg) pairs; dose is the daily dose for oral drugs and
        the dose per injection for injectables.
    adherence
        Fraction of doses taken, in [0, 1].
    diet_change
        Change of the standardised diet score from the start on.
    keep_current
        True for ``current``: the patient's treatment at the start continues.

    """

    label: str
    drugs: tuple[tuple[str, float], ...] = ()
    adherence: float = 1.0
    diet_change: float = 0.0
    keep_current: bool = False
    notes: tuple[str, ...] = field(default=())


def _parse_drug(item: str, text: str) -> tuple[str, float]:
    name, _, dose_text = item.partition(":")
    name = name.strip().lower()
    if name not in DRUGS or DRUGS[name].drug_class not in LIPID_LOWERING_CLASSES:
        close = difflib.get_close_matches(name, list(DRUGS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ScenarioError(
            f"scenario {text!r}: unknown lipid-lowering drug {name!r}.{hint} "
            f"Known drugs: {', '.join(sorted(DRUGS))}.")
    info = DRUGS[name]
    if not dose_text:
        if len(info.doses_mg) == 1:
            return name, float(info.doses_mg[0])
        raise ScenarioError(f"scenario {text!r}: {name} needs a dose in mg, for example "
                            f"{name}:{info.doses_mg[-1]:g} (licensed: "
                            f"{', '.join(f'{d:g}' for d in info.doses_mg)} mg).")
    try:
        dose = float(dose_text)
    except ValueError:
        raise ScenarioError(f"scenario {text!r}: dose {dose_text!r} of {name} is not a number "
                            f"of mg.") from None
    low, high = min(info.doses_mg), max(info.doses_mg)
    if not low <= dose <= high:
        raise ScenarioError(f"scenario {text!r}: {name} {dose:g} mg is outside the licensed "
                            f"range {low:g} to {high:g} mg.")
    return name, dose


def parse_plan(text: str) -> Plan:
    """Parse a scenario string into a `Plan`.

    Raises
    ------
    ScenarioError
        Unknown drug, missing or out-of-range dose, bad option.

    """
    if not isinstance(text, str) or not text.strip():
        raise ScenarioError(f"a scenario must be a non-empty string like "
                            f"'atorvastatin:80+ezetimibe:10', got {text!r}")
    body, *options = text.strip().split("@")
    adherence, diet = 1.0, 0.0
    for option in options:
        key, _, value = option.partition("=")
        try:
            number = float(value)
        except ValueError:
            raise ScenarioError(f"scenario {text!r}: option {option!r} needs a number, "
                                f"like @adherence=0.8 or @diet=-1") from None
        if key == "adherence":
            if not 0.0 <= number <= 1.0:
                raise ScenarioError(f"scenario {text!r}: adherence {number:g} is outside [0, 1].")
            adherence = number
        elif key == "diet":
            diet = number
        else:
            raise ScenarioError(f"scenario {text!r}: unknown option {key!r}; valid: adherence, "
                                f"diet.")
    body = body.strip().lower()
    if body == "current":
        return Plan(label=text.strip(), adherence=adherence, diet_change=diet, keep_current=True)
    if body in ("none", "no_treatment"):
        return Plan(label=text.strip(), adherence=adherence, diet_change=diet)
    drugs = tuple(_parse_drug(item, text) for item in body.split("+"))
    classes = [DRUGS[d].drug_class for d, _ in drugs]
    duplicated = {c for c in classes if classes.count(c) > 1}
    if duplicated:
        raise ScenarioError(f"scenario {text!r}: more than one drug of class "
                            f"{', '.join(sorted(duplicated))}; combine one drug per class.")
    return Plan(label=text.strip(), drugs=drugs, adherence=adherence, diet_change=diet)
