"""Figures of the reports, returned as SVG text to embed inline in the HTML page.

Figures are built with matplotlib's object API (`matplotlib.figure.Figure`,
never `pyplot`), so making one selects no backend and leaves the caller's
pyplot state alone. Style settings apply only inside `matplotlib.rc_context`.
Text is drawn as paths, so a figure looks the same on a machine without the
DejaVu fonts, and every SVG id gets a per-figure prefix so that several
figures can share one HTML page.
"""

from __future__ import annotations

import html
import io
import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, MaxNLocator

from bayestwin.report.formatting import format_number

# Okabe and Ito's colour-blind-safe palette; the reference scenario is dark grey.
REFERENCE_COLOUR = "#4d4d4d"
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9")
LINE_STYLES = ("solid", "dashed", "dashdot", "dotted")
_DASH_ARRAYS = {"solid": "", "dashed": "4 2", "dashdot": "5 2 1 2", "dotted": "1 2"}

EVENT_COLOUR = "#d55e00"
AVOIDED_COLOUR = "#009e73"
NO_EVENT_COLOUR = "#d9d9d9"

_STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 7.0,
    "axes.titlesize": 7.5,
    "axes.labelsize": 7.0,
    "xtick.labelsize": 6.5,
    "ytick.labelsize": 6.5,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e3e3e3",
    "grid.linewidth": 0.5,
    "svg.fonttype": "path",
    "svg.hashsalt": "bayestwin",
}

_figure_numbers = itertools.count(1)


@dataclass(frozen=True)
class SeriesStyle:
    """Colour and line style of one scenario, shared by every figure and the table swatch."""

    colour: str
    line_style: str

    @property
    def dash_array(self) -> str:
        """The line style as an SVG ``stroke-dasharray`` (empty for a solid line)."""
        return _DASH_ARRAYS[self.line_style]


def scenario_styles(count: int) -> list[SeriesStyle]:
    """Return the style of each of `count` scenarios; the first (reference) is dark grey."""
    styles = [SeriesStyle(REFERENCE_COLOUR, "solid")]
    for index in range(count - 1):
        styles.append(SeriesStyle(PALETTE[index % len(PALETTE)],
                                  LINE_STYLES[(index + 1) % len(LINE_STYLES)]))
    return styles


class LocaleFormatter(Formatter):
    """Tick labels with the decimals the tick step needs and the language's separators."""

    def __init__(self, language: str, *, scale: float = 1.0, suffix: str = "") -> None:
        self.language = language
        self.scale = scale
        self.suffix = suffix
        self.decimals = 0

    def set_locs(self, locs) -> None:
        """Choose the number of decimals from the spacing of the tick locations."""
        super().set_locs(locs)
        values = np.sort(np.asarray(locs, dtype=float) * self.scale)
        steps = np.diff(values)
        steps = steps[steps > 0]
        if steps.size == 0:
            self.decimals = 0
            return
        self.decimals = max(0, -math.floor(math.log10(steps.min()) + 1e-9))

    def __call__(self, x: float, pos: int | None = None) -> str:
        """Format the tick value `x`; `pos` (the tick index) is not used."""
        return format_number(x * self.scale, self.decimals, self.language) + self.suffix


def _value_formatter(language: str, percent: bool) -> LocaleFormatter:
    """Return tick labels for plain values, or for fractions shown as percentages."""
    if not percent:
        return LocaleFormatter(language)
    suffix = "\u202f%" if language == "fr" else "%"
    return LocaleFormatter(language, scale=100.0, suffix=suffix)


def _svg_text(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return clean_svg(buffer.getvalue(), prefix=f"fig{next(_figure_numbers)}-")


def clean_svg(svg: str, *, prefix: str) -> str:
    """Make matplotlib's SVG file fit for inline use in an HTML page.

    Removes the XML declaration, the DOCTYPE, the RDF metadata and the
    namespace declarations (HTML parses inline SVG without them, and they hold
    ``http://`` identifiers that look like links), and prefixes every id and
    every reference to one so that ids stay unique across figures.
    """
    svg = re.sub(r"<\?xml[^>]*\?>\s*", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>\s*", "", svg, flags=re.S)
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    return svg.strip()


def _quantile_band(values: np.ndarray, mass: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the median and the equal-tailed `mass` interval over the last axis."""
    tail = (1.0 - mass) / 2.0
    low, median, high = np.quantile(values, [tail, 0.5, 1.0 - tail], axis=-1)
    return median, low, high


def trajectory_svg(times: np.ndarray, draws: np.ndarray, styles: Sequence[SeriesStyle], *,
                   language: str, title: str, xlabel: str, ylabel: str, mass: float = 0.9,
                   transform: Callable[[np.ndarray], np.ndarray] | None = None,
                   percent: bool = False, log_scale: bool = False,
                   goal: tuple[float, str] | None = None,
                   bands: Sequence[int] | None = None,
                   size_mm: tuple[float, float] = (62.0, 37.0)) -> str:
    """Draw posterior trajectories of one quantity with their credible bands.

    Parameters
    ----------
    times
        Years after the scenario start, shape (time,).
    draws
        Posterior draws, shape (scenario, time, draw).
    styles
        One `SeriesStyle` per scenario, the reference first.
    language
        ``"fr"`` or ``"en"``, for the tick labels.
    title, xlabel, ylabel
        Texts of the figure, already in the reader's language.
    mass
        Credible mass of the shaded band (0.9: 90% credible interval).
    transform
        Applied to the draws before summarising, for example a unit conversion.
    percent
        Show the values (fractions) as percentages on the y axis.
    log_scale
        Use a symmetric-log y axis (linear below 1), for CAC in Agatston units.
    goal
        A horizontal reference line: (value in the plotted unit, label).
    bands
        Indices of the scenarios whose credible band is shaded; all when None.
        Overlapping bands of many scenarios hide each other.
    size_mm
        Width and height of the figure in millimetres.

    """
    values = np.asarray(draws, dtype=float)
    if transform is not None:
        values = transform(values)
    with rc_context(_STYLE):
        figure = Figure(figsize=(size_mm[0] / 25.4, size_mm[1] / 25.4))
        axes = figure.add_subplot()
        # Bands first, then lines, so no band hides another scenario's median.
        summaries = [_quantile_band(values[index], mass) for index in range(len(values))]
        shaded = range(len(values)) if bands is None else bands
        for index in shaded:
            _, low, high = summaries[index]
            axes.fill_between(times, low, high, color=styles[index].colour, alpha=0.14,
                              linewidth=0)
        for (median, _, _), style in zip(summaries, styles, strict=True):
            axes.plot(times, median, color=style.colour, linestyle=style.line_style,
                      linewidth=1.3)
        if goal is not None:
            axes.axhline(goal[0], color="#222222", linewidth=0.8, linestyle=(0, (6, 2)))
            axes.annotate(goal[1], xy=(1.0, goal[0]), xycoords=("axes fraction", "data"),
                          xytext=(-2, 2), textcoords="offset points", ha="right", va="bottom",
                          fontsize=6.2, color="#222222")
        if log_scale:
            axes.set_yscale("symlog", linthresh=1.0)
            axes.set_ylim(bottom=0.0)
            axes.yaxis.set_major_formatter(LocaleFormatter(language))
        else:
            axes.set_ylim(bottom=0.0)
            axes.yaxis.set_major_locator(MaxNLocator(nbins=5))
            axes.yaxis.set_major_formatter(_value_formatter(language, percent))
        axes.set_xlim(times[0], times[-1])
        axes.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        axes.xaxis.set_major_formatter(LocaleFormatter(language))
        axes.set_title(title, loc="left", fontweight="bold", pad=3)
        axes.set_xlabel(xlabel, labelpad=1.5)
        axes.set_ylabel(ylabel, labelpad=2)
        figure.tight_layout(pad=0.3)
        return _svg_text(figure)


def forest_svg(labels: Sequence[str], estimates: Sequence[float], lows: Sequence[float],
               highs: Sequence[float], *, language: str, xlabel: str, title: str = "",
               colours: Sequence[str] | None = None, reference_line: float | None = 0.0,
               percent: bool = False, width_mm: float = 170.0) -> str:
    """Draw a forest plot: one row per label, a point estimate and its interval.

    Rows are drawn top to bottom in the order given; an empty `title` draws none.
    """
    count = len(labels)
    height_mm = 14.0 + 5.2 * count
    positions = np.arange(count)[::-1]
    colours = list(colours) if colours is not None else [PALETTE[0]] * count
    with rc_context(_STYLE):
        figure = Figure(figsize=(width_mm / 25.4, height_mm / 25.4))
        axes = figure.add_subplot()
        axes.grid(axis="y", visible=False)
        for position, estimate, low, high, colour in zip(
                positions, estimates, lows, highs, colours, strict=True):
            axes.plot([low, high], [position, position], color=colour, linewidth=1.4)
            axes.plot([estimate], [position], marker="s", markersize=4, color=colour)
        if reference_line is not None:
            axes.axvline(reference_line, color="#222222", linewidth=0.8)
        axes.set_yticks(positions, labels)
        axes.set_ylim(-0.7, count - 0.3)
        axes.xaxis.set_major_locator(MaxNLocator(nbins=7))
        axes.xaxis.set_major_formatter(_value_formatter(language, percent))
        axes.set_xlabel(xlabel, labelpad=1.5)
        if title:
            axes.set_title(title, loc="left", fontweight="bold", pad=3)
        axes.tick_params(axis="y", length=0)
        figure.tight_layout(pad=0.3)
        return _svg_text(figure)


def _person(x: float, y: float, colour: str, *, outline: bool = False) -> str:
    """Draw one person icon in the 1 x 1 cell whose top-left corner is (x, y)."""
    fill = "none" if outline else colour
    stroke = f' stroke="{colour}" stroke-width="0.09"' if outline else ""
    head = f'<circle cx="{x + 0.5:.2f}" cy="{y + 0.24:.2f}" r="0.17" fill="{fill}"{stroke}/>'
    body = (f'<path d="M{x + 0.22:.2f} {y + 0.92:.2f} L{x + 0.22:.2f} {y + 0.62:.2f} '
            f'Q{x + 0.22:.2f} {y + 0.45:.2f} {x + 0.5:.2f} {y + 0.45:.2f} '
            f'Q{x + 0.78:.2f} {y + 0.45:.2f} {x + 0.78:.2f} {y + 0.62:.2f} '
            f'L{x + 0.78:.2f} {y + 0.92:.2f} Z" fill="{fill}"{stroke}/>')
    return head + body


def icon_array_svg(events: int, avoided: int = 0, *, total: int = 100, columns: int = 10,
                   label: str = "") -> str:
    """Draw an icon array of `total` people: `events` with the event, then `avoided`.

    Events come first in reading order (filled, vermillion), then the events
    avoided against the reference (green outline), then people without the
    event (light grey).
    """
    if not 0 <= events <= total or avoided < 0 or events + avoided > total:
        raise ValueError(f"icon array needs 0 <= events + avoided <= total; got "
                         f"events={events}, avoided={avoided}, total={total}.")
    rows = math.ceil(total / columns)
    parts = []
    for index in range(total):
        x, y = index % columns, index // columns
        if index < events:
            parts.append(_person(x, y, EVENT_COLOUR))
        elif index < events + avoided:
            parts.append(_person(x, y, AVOIDED_COLOUR, outline=True))
        else:
            parts.append(_person(x, y, NO_EVENT_COLOUR))
    aria = f' aria-label="{html.escape(label, quote=True)}"' if label else ""
    return (f'<svg class="icons" viewBox="0 0 {columns} {rows}" role="img"{aria}>'
            + "".join(parts) + "</svg>")
