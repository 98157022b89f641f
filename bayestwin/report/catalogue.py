"""Message catalogues: every word the reports print, in French and English.

The catalogues are TOML files in ``bayestwin/report/locales`` (``fr.toml``,
``en.toml``). Nested tables flatten into dotted keys (``[risk] heading`` is
``risk.heading``), and a message may hold ``str.format`` fields such as
``{years}``. Keys ending in ``.one`` and ``.other`` are the plural forms of
one message, chosen by `Catalogue.plural`.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

from bayestwin.report.formatting import check_language, plural_form


def _flatten(table: dict, prefix: str = "") -> dict[str, str]:
    messages = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            messages.update(_flatten(value, name + "."))
        elif isinstance(value, str):
            messages[name] = value
        else:
            raise TypeError(f"catalogue entry {name!r} must be a string or a table; "
                            f"got {type(value).__name__}.")
    return messages


class Catalogue:
    """The messages of one language, looked up by dotted key.

    Parameters
    ----------
    language
        ``"fr"`` or ``"en"``.
    messages
        Message text by dotted key.

    """

    def __init__(self, language: str, messages: dict[str, str]) -> None:
        self.language = check_language(language)
        self.messages = dict(messages)

    @classmethod
    def load(cls, language: str) -> Catalogue:
        """Read the packaged catalogue of `language`."""
        return _load(check_language(language))

    def __contains__(self, key: str) -> bool:
        return key in self.messages

    def __call__(self, key: str, **values: object) -> str:
        """Return the message `key`, with `values` filled into its fields."""
        try:
            text = self.messages[key]
        except KeyError:
            raise KeyError(f"message {key!r} is missing from the {self.language!r} "
                           f"catalogue (bayestwin/report/locales/{self.language}.toml)."
                           ) from None
        text = text.format(**values) if values else text
        return french_spacing(text) if self.language == "fr" else text

    def for_endpoint(self, endpoint: str) -> Catalogue:
        """Return a copy worded for `endpoint` (``mace``, ``cvd`` or ``other``).

        The messages name MACE by default. The catalogue table
        ``endpoint_wording.ENDPOINT`` replaces them for another endpoint.
        """
        prefix = f"endpoint_wording.{endpoint}."
        messages = dict(self.messages)
        messages.update({key[len(prefix):]: text for key, text in self.messages.items()
                         if key.startswith(prefix)})
        return Catalogue(self.language, messages)

    def plural(self, key: str, number: float, **values: object) -> str:
        """Return the form of `key` that agrees with `number`: ``key.one`` or ``key.other``."""
        return self(f"{key}.{plural_form(self.language, number)}", **values)


_FRENCH_SPACES = ((" :", "\u00a0:"), (" ;", "\u202f;"), (" ?", "\u202f?"), (" !", "\u202f!"),
                  (" %", "\u202f%"), ("« ", "«\u00a0"), (" »", "\u00a0»"))


def french_spacing(text: str) -> str:
    """Replace the plain space before ``: ; ? ! %`` and inside ``« »`` with a no-break space.

    French typography keeps these signs on the line of the word before them;
    the catalogues are written with plain spaces so that they stay readable.
    """
    for plain, fixed in _FRENCH_SPACES:
        text = text.replace(plain, fixed)
    return text


@functools.cache
def _load(language: str) -> Catalogue:
    source = resources.files("bayestwin.report").joinpath("locales", f"{language}.toml")
    with source.open("rb") as handle:
        return Catalogue(language, _flatten(tomllib.load(handle)))
