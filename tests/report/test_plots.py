import matplotlib
import numpy as np
import pytest

from bayestwin.report.plots import (
    clean_svg,
    forest_svg,
    icon_array_svg,
    scenario_styles,
    trajectory_svg,
)


def test_icon_array_counts():
    svg = icon_array_svg(13, 2)
    assert svg.count("<circle") == 100
    assert svg.count('fill="#d55e00"') == 2 * 13  # head and body of each event
    assert svg.count('stroke="#009e73"') == 2 * 2


def test_icon_array_rejects_too_many():
    with pytest.raises(ValueError, match="events"):
        icon_array_svg(90, 20)


def test_trajectory_svg_is_inline_ready():
    rng = np.random.default_rng(7)
    draws = rng.lognormal(0.0, 0.1, size=(2, 13, 50))
    svg = trajectory_svg(np.linspace(0, 1, 13), draws, scenario_styles(2), language="fr",
                         title="LDL", xlabel="t", ylabel="y", goal=(1.0, "goal"))
    assert svg.startswith("<svg")
    assert "<?xml" not in svg
    assert "http" not in svg
    assert "<metadata" not in svg


def test_plots_leave_backend_alone():
    backend = matplotlib.get_backend()
    forest_svg(["a", "b"], [1.0, 2.0], [0.5, 1.0], [1.5, 3.0], language="en", xlabel="x",
               title="t")
    assert matplotlib.get_backend() == backend


def test_clean_svg_prefixes_ids():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg"><defs><path id="g1"/></defs>'
           '<use xlink:href="#g1"/><g clip-path="url(#c1)"/></svg>')
    cleaned = clean_svg(svg, prefix="f9-")
    assert 'id="f9-g1"' in cleaned
    assert 'href="#f9-g1"' in cleaned
    assert "url(#f9-c1)" in cleaned
    assert "http" not in cleaned


def test_scenario_styles_reference_grey():
    styles = scenario_styles(8)
    assert styles[0].colour == "#4d4d4d"
    assert len({(style.colour, style.line_style) for style in styles}) == 8
