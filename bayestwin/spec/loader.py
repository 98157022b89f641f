"""Read a model file (TOML) into a validated, typed `ModelSpec`.

Unknown sections, keys, values and priors are errors that name the key and
the valid options, so a typo never silently switches a block off.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from bayestwin.exceptions import SpecError
from bayestwin.spec.priors import PriorSpec, parse_prior
from bayestwin.spec.schema import BLOCKS, PRIORS, SECTIONS, Key

BUILTIN_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


class Section(Mapping):
    """The validated keys of one model-file section, read as attributes or items."""

    def __init__(self, name: str, values: dict[str, object]) -> None:
        self._name = name
        self._values = dict(values)

    def __getattr__(self, key: str) -> object:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(f"section [{self._name}] has no key {key!r}") from None

    def __getitem__(self, key: str) -> object:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Section({self._name!r}, {self._values!r})"


@dataclass(frozen=True)
class ModelSpec:
    """A validated model file.

    Attributes
    ----------
    name, description, time_scale, reference_age
        From ``[model]``; ``time_scale`` is ``age`` or ``time``.
    blocks
        The blocks switched on, in `BLOCKS` order.
    sections
        Section name -> `Section` with defaults filled in, for every section.
    priors
        Prior name -> `PriorSpec`.
    source
        The file's path, or ``None`` when read from text.
    sha256
        SHA-256 of the file's bytes, recorded in every fit's provenance.
    text
        The file's text, stored in fits so that a fit can be rebuilt.

    """

    name: str
    description: str
    time_scale: str
    reference_age: float
    blocks: tuple[str, ...]
    sections: Mapping[str, Section]
    priors: Mapping[str, PriorSpec]
    source: str | None = None
    sha256: str = ""
    text: str = field(default="", repr=False)

    def with_setting(self, section: str, key: str, value: object) -> ModelSpec:
        """Return a copy with one section key replaced (the text and hash are kept)."""
        sections = dict(self.sections)
        values = dict(sections[section])
        values[key] = value
        sections[section] = Section(section, values)
        return dataclasses.replace(self, sections=MappingProxyType(sections))

    def has(self, block: str) -> bool:
        """Return whether `block` is switched on."""
        if block not in BLOCKS:
            raise SpecError(f"unknown block {block!r}; valid blocks: {', '.join(BLOCKS)}")
        return block in self.blocks

    def section(self, name: str) -> Section:
        """Return the validated section `name` (defaults filled in)."""
        return self.sections[name]

    def prior(self, name: str) -> PriorSpec:
        """Return the prior `name`, or raise a `SpecError` that names where to add it."""
        try:
            return self.priors[name]
        except KeyError:
            raise SpecError(
                f"{self.source or self.name}: prior '{name}' is needed by the blocks switched "
                f"on but is missing from [priors]. Add for example "
                f'{name} = {{ dist = "normal", loc = 0.0, scale = 1.0 }}.'
            ) from None

    @property
    def endpoint_events(self) -> tuple[str, ...]:
        """Event codes that make the endpoint; empty when the file has no [endpoint]."""
        return tuple(self.sections["endpoint"]["events"] or ())

    @property
    def competing_events(self) -> tuple[str, ...]:
        """Event codes that compete with the endpoint."""
        return tuple(self.sections["endpoint"]["competing"])


def _suggest(word: str, options) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _check_value(where: str, key: str, spec: Key, value: object) -> object:
    kind = spec.kind
    if kind == "bool":
        if not isinstance(value, bool):
            raise SpecError(f"{where}: '{key}' must be true or false, got {value!r}.")
        return value
    if kind in ("int", "float"):
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not numeric or (kind == "int" and not isinstance(value, int)):
            expected = "an integer" if kind == "int" else "a number"
            raise SpecError(f"{where}: '{key}' must be {expected}, got {value!r}.")
        if spec.minimum is not None and value < spec.minimum:
            raise SpecError(f"{where}: '{key}' must be at least {spec.minimum}, got {value!r}.")
        return float(value) if kind == "float" else value
    if kind == "str":
        if not isinstance(value, str):
            raise SpecError(f"{where}: '{key}' must be a string, got {value!r}.")
        if spec.choices and value not in spec.choices:
            raise SpecError(f"{where}: '{key}' = {value!r} is invalid. "
                            f"Valid: {', '.join(spec.choices)}.{_suggest(value, spec.choices)}")
        return value
    if kind == "list":
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise SpecError(f"{where}: '{key}' must be a list of strings, got {value!r}.")
        for item in value:
            if spec.choices and item not in spec.choices:
                raise SpecError(f"{where}: '{key}' contains {item!r}, which is invalid. "
                                f"Valid: {', '.join(spec.choices)}.{_suggest(item, spec.choices)}")
        return list(value)
    if kind == "table":
        if not isinstance(value, dict):
            raise SpecError(f"{where}: '{key}' must be a table, got {value!r}.")
        return dict(value)
    raise AssertionError(f"schema kind {kind!r} is not handled")  # a bug in SECTIONS, not input


def _parse_section(where: str, name: str, table: object, *, required: bool = True) -> Section:
    keys = SECTIONS[name]
    if not isinstance(table, dict):
        raise SpecError(f"{where}: [{name}] must be a table, got {table!r}.")
    unknown = sorted(set(table) - set(keys))
    if unknown:
        first = unknown[0]
        raise SpecError(f"{where}: unknown key '{first}' in [{name}]. "
                        f"Valid keys: {', '.join(keys)}.{_suggest(first, keys)}")
    values = {}
    for key, spec in keys.items():
        if key in table:
            values[key] = _check_value(f"{where} [{name}]", key, spec, table[key])
        elif spec.required and required:
            raise SpecError(f"{where}: [{name}] is missing the required key '{key}'.")
        elif spec.required:
            values[key] = None
        else:
            default = spec.default
            values[key] = list(default) if isinstance(default, list) else (
                dict(default) if isinstance(default, dict) else default)
    return Section(name, values)


def parse_spec(text: str, *, source: str | None = None) -> ModelSpec:
    """Parse and validate model-file text.

    Raises
    ------
    SpecError
        Invalid TOML, an unknown section or key, a bad value, or a bad prior.

    """
    where = source or "<model text>"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{where}: invalid TOML: {error}") from None

    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        first = unknown[0]
        raise SpecError(f"{where}: unknown section [{first}]. "
                        f"Valid sections: {', '.join(SECTIONS)}.{_suggest(first, SECTIONS)}")
    if "model" not in raw:
        raise SpecError(f"{where}: the [model] section with at least 'name' is required.")

    switched = _parse_section(where, "blocks", raw.get("blocks", {}))
    blocks = tuple(block for block in BLOCKS if switched[block])
    # A section of a block that is off may be absent; its required keys are then unset.
    sections = {
        name: _parse_section(where, name, raw.get(name, {}),
                             required=name in raw or name in blocks
                             or (name == "endpoint" and "events" in blocks)
                             or (name not in BLOCKS and name != "endpoint"))
        for name in SECTIONS if name != "priors"
    }
    if not blocks:
        raise SpecError(f"{where}: no block is switched on in [blocks]. "
                        f"Set at least one of {', '.join(BLOCKS)} to true.")
    if "events" in blocks and "endpoint" not in raw:
        raise SpecError(f"{where}: the events block needs an [endpoint] section with 'events'.")
    if "treatment" in blocks and "lipids" not in blocks:
        raise SpecError(f"{where}: the treatment block acts on LDL-C, so it needs lipids = true.")
    if "burden" in blocks and "lipids" not in blocks:
        raise SpecError(f"{where}: the burden block integrates LDL-C, so it needs lipids = true.")
    if "burden" in blocks:
        burden = sections["burden"]
        constant = [name for name in burden.time_varying if name not in burden.susceptibility]
        if constant:
            raise SpecError(f"{where}: [burden] time_varying lists {constant[0]!r}, which is not "
                            f"in susceptibility ({', '.join(burden.susceptibility)}). Add it "
                            f"there too: its coefficient is shared.")
    if "lipids" in blocks:
        lipids = sections["lipids"]
        needs_family = [key for key, value in (("family_effects", "integrated"),
                                               ("untested_class", "family"))
                        if lipids[key] == value]
        if needs_family and "family" not in lipids.random_effects:
            raise SpecError(f"{where}: [lipids] {needs_family[0]} = {lipids[needs_family[0]]!r} "
                            f"needs 'family' in random_effects.")
        if (lipids.family_effects == "integrated" and lipids.untested_class != "family"
                and "variant_class" in lipids.covariates):
            raise SpecError(f"{where}: [lipids] family_effects = 'integrated' needs "
                            f"untested_class = 'family' (relatives never genotyped share one "
                            f"class, so that a family's density is a mixture over one class).")
    if "imaging" in blocks and "burden" not in blocks:
        raise SpecError(f"{where}: the imaging block measures the burden, so it needs "
                        "burden = true.")

    prior_table = raw.get("priors", {})
    if not isinstance(prior_table, dict):
        raise SpecError(f"{where}: [priors] must be a table of prior tables.")
    allowed = {name for block in blocks for name in PRIORS[block]}
    priors = {}
    for name, table in prior_table.items():
        if name not in allowed:
            raise SpecError(
                f"{where}: unknown prior '{name}' in [priors] for the blocks switched on "
                f"({', '.join(blocks)}).{_suggest(name, allowed)} "
                f"Valid: {', '.join(sorted(allowed))}."
            )
        priors[name] = parse_prior(name, table, where=f"{where} [priors]")

    model = sections["model"]
    return ModelSpec(
        name=model["name"],
        description=model["description"],
        time_scale=model["time_scale"],
        reference_age=model["reference_age"],
        blocks=blocks,
        sections=MappingProxyType(sections),
        priors=MappingProxyType(priors),
        source=source,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        text=text,
    )


def resolve_model_path(model: str | Path) -> Path:
    """Return the path of a model file, looking up built-in names such as ``fh_twin``."""
    path = Path(model)
    if path.exists():
        return path
    builtin = BUILTIN_MODELS_DIR / (path.name if path.suffix == ".toml" else f"{path.name}.toml")
    if builtin.exists():
        return builtin
    names = sorted(p.stem for p in BUILTIN_MODELS_DIR.glob("*.toml"))
    raise SpecError(f"model file {str(model)!r} not found. Give a path to a .toml file or a "
                    f"built-in model name: {', '.join(names)}.")


def load_spec(model: str | Path) -> ModelSpec:
    """Read and validate a model file given by path or built-in name."""
    path = resolve_model_path(model)
    return parse_spec(path.read_text(encoding="utf-8"), source=str(path))
