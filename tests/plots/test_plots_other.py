"""Slide heatmaps, θ waterfall, attribution bars, benchmark figure and static export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from pathgptomic.errors import InputValidationError
from pathgptomic.plots import (
    StaticExportUnavailable,
    add_survival_band,
    attribution_bar_figure,
    cindex_by_config_figure,
    cindex_summary,
    figure_to_bytes,
    kaleido_available,
    modality_shares_figure,
    risk_decomposition_figure,
    slide_tiles_figure,
    tile_heatmap_figure,
    tile_outlines,
    tile_score_grid,
)


def test_tile_score_grid_places_scores() -> None:
    coords = np.array([[1000, 2000], [1512, 2000], [1000, 2512], [2024, 3024], [1000, 2000]])
    scores = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    grid = tile_score_grid(coords, scores, patch_size=512, downsample=(16.0, 8.0))
    assert grid.z.shape == (3, 3)
    assert grid.z[0, 0] == 3.0  # two tiles at the same corner are averaged
    assert grid.z[0, 1] == 2.0 and grid.z[1, 0] == 3.0 and grid.z[2, 2] == 4.0
    assert np.isnan(grid.z[1, 1])
    assert grid.x0 == pytest.approx((1000 + 256) / 16) and grid.y0 == pytest.approx((2000 + 256) / 8)
    assert grid.dx == 32.0 and grid.dy == 64.0
    with pytest.raises(InputValidationError, match="coords"):
        tile_score_grid(coords, scores[:3], 512, 16)
    with pytest.raises(InputValidationError, match="downsample"):
        tile_score_grid(coords, scores, 512, 0)


def test_tile_outlines_corners() -> None:
    xs, ys = tile_outlines([[160, 320]], patch_size=160, downsample=16)
    assert xs == [10, 20, 20, 10, 10, None] and ys == [20, 20, 30, 30, 20, None]


def test_slide_figures_build() -> None:
    thumb = np.full((40, 60, 3), 230, dtype=np.uint8)
    mask = np.zeros((20, 30), dtype=bool)
    mask[5:15, 5:25] = True
    coords = np.array([[160, 160], [320, 160]])
    fig = slide_tiles_figure(thumb, mask, coords, 160, 16)
    assert [type(t).__name__ for t in fig.data] == ["Image", "Heatmap", "Scatter"]
    assert fig.data[1].z.shape == (40, 60)  # mask resampled to the thumbnail
    assert fig.data[0].source.startswith("data:image/png;base64,")
    heat = tile_heatmap_figure(thumb, coords, 160, 16, [0.2, -0.1], score_name="IG")
    assert len(heat.data) == 2 and heat.data[1].zmid == 0.0
    att = tile_heatmap_figure(thumb, coords, 160, 16, [0.3, 0.7], score_name="attention")
    assert att.data[1].colorscale[0][1] != heat.data[1].colorscale[0][1]
    assert len(slide_tiles_figure(thumb, None, coords, 160, 16).data) == 2
    with pytest.raises(InputValidationError, match="thumbnail"):
        slide_tiles_figure(np.zeros((4, 4, 5)), None, coords, 160, 16)


def test_risk_decomposition_waterfall() -> None:
    fig = risk_decomposition_figure(0.8, -0.3, 0.1, theta=0.6)
    (trace,) = fig.data
    assert isinstance(trace, go.Waterfall)
    assert list(trace.y) == [0.1, 0.8, -0.3, pytest.approx(0.6)]
    assert list(trace.measure) == ["relative", "relative", "relative", "total"]
    with pytest.raises(InputValidationError, match="θ"):
        risk_decomposition_figure(0.8, -0.3, 0.1, theta=2.0)
    kron = risk_decomposition_figure(np.nan, np.nan, 0.1, theta=0.4)
    assert isinstance(kron.data[0], go.Bar) and "kronecker" in kron.layout.annotations[0].text
    with pytest.raises(InputValidationError, match="one number"):
        risk_decomposition_figure([0.1, 0.2], [0.1, 0.2], 0.0)


def test_attribution_bars_sorted_and_coloured() -> None:
    top = pd.DataFrame({"feature": ["A_cnv", "B_rnaseq", "C_mut"], "block": ["cnv", "rna", "mut"], "attribution": [0.2, -1.0, 0.5]})
    fig = attribution_bar_figure(top)
    bar = fig.data[0]
    assert list(bar.y) == ["A_cnv (cnv)", "C_mut (mut)", "B_rnaseq (rna)"]  # largest at the top
    assert list(bar.marker.color) == ["#d62728", "#d62728", "#1f77b4"]
    with pytest.raises(InputValidationError, match="attribution"):
        attribution_bar_figure(top.drop(columns="attribution"))


def test_cindex_by_config() -> None:
    res = pd.DataFrame({"config": ["concat"] * 3 + ["gradmod"] * 3, "fold": [0, 1, 2] * 2, "cindex": [0.70, 0.72, 0.74, 0.75, 0.77, 0.79]})
    s = cindex_summary(res)
    assert list(s["config"]) == ["concat", "gradmod"]
    np.testing.assert_allclose(s["mean"], [0.72, 0.77])
    np.testing.assert_allclose(s["sd"], [0.02, 0.02])
    fig = cindex_by_config_figure(res, references={"MCAT": 0.817})
    assert len(fig.data) == 3
    with pytest.raises(InputValidationError, match="cindex"):
        cindex_summary(res.drop(columns="cindex"))


def test_figure_to_bytes() -> None:
    fig = go.Figure(go.Scatter(x=[0, 1], y=[1, 0]))
    with pytest.raises(InputValidationError, match="fmt"):
        figure_to_bytes(fig, "gif")
    if not kaleido_available():
        with pytest.raises(StaticExportUnavailable, match="kaleido"):
            figure_to_bytes(fig, "png")
    else:
        try:
            data = figure_to_bytes(fig, "svg")
        except StaticExportUnavailable as err:
            assert "Chrome" in str(err)
        else:
            assert b"<svg" in data[:500]


def test_tile_heatmap_cells_in_thumbnail_pixels() -> None:
    """One tile = 224 level-0 px = 56 thumbnail px at downsample 4 (the Explain page's tiling)."""
    coords = np.array([[0, 0], [224, 0], [0, 224]])
    fig = tile_heatmap_figure(
        np.zeros((112, 112, 3), np.uint8), coords, 224, (4.0, 4.0), [0.5, -0.25, 1.0], score_name="IG", diverging=True
    )
    z = np.asarray(fig.data[-1].z, dtype=float)
    assert z.shape == (2, 2) and z[0, 0] == 0.5 and z[0, 1] == -0.25 and z[1, 0] == 1.0 and np.isnan(z[1, 1])
    assert fig.data[-1].dx == 56.0 and fig.data[-1].zmid == 0.0


def test_attribution_bars_grouped_by_block() -> None:
    table = pd.DataFrame(
        {"feature": ["a_rnaseq", "b_cnv", "c_rnaseq", "d_cnv"], "block": ["rna", "cnv", "rna", "cnv"], "attribution": [0.9, -0.8, 0.1, 0.2]}
    )
    fig = attribution_bar_figure(table, by_block=True)
    labels = list(fig.data[0].y)[::-1]  # top to bottom
    assert labels == ["b_cnv (cnv)", "d_cnv (cnv)", "a_rnaseq (rna)", "c_rnaseq (rna)"]
    assert list(fig.layout.yaxis.categoryarray)[::-1] == labels  # the legend traces do not reorder the rows


def test_attribution_bars_colour_by_the_sign_column_with_a_legend() -> None:
    """A cohort summary: bar length = mean |IG| (>= 0), colour = sign of the mean IG, as the legend reads."""
    summary = pd.DataFrame(
        {
            "feature": ["A_cnv", "B_rnaseq", "C_mut"],
            "block": ["cnv", "rna", "mut"],
            "mean_abs_attribution": [0.3, 0.2, 0.1],
            "mean_attribution": [-0.25, 0.1, -0.01],
        }
    )
    fig = attribution_bar_figure(summary, value="mean_abs_attribution", sign="mean_attribution")
    bar = fig.data[0]
    assert list(bar.y) == ["C_mut (mut)", "B_rnaseq (rna)", "A_cnv (cnv)"]
    assert list(bar.x) == [0.1, 0.2, 0.3]
    assert list(bar.marker.color) == ["#1f77b4", "#d62728", "#1f77b4"]  # not all red
    legend = {t.name: t.marker.color for t in fig.data if t.showlegend}
    assert legend == {"raises risk (mean_attribution > 0)": "#d62728", "lowers risk (mean_attribution < 0)": "#1f77b4"}
    assert fig.layout.legend.yref == "container"
    with pytest.raises(InputValidationError, match="mean_attribution"):
        attribution_bar_figure(summary.drop(columns="mean_attribution"), value="mean_abs_attribution", sign="mean_attribution")


def test_modality_shares_figure() -> None:
    shares = pd.DataFrame({"genomic_share": [0.7], "image_share": [0.2], "bias_share": [0.1]})
    fig = modality_shares_figure(shares)
    assert [t.name for t in fig.data] == ["genomic", "image", "bias"]
    assert [t.x[0] for t in fig.data] == [0.7, 0.2, 0.1] and fig.layout.barmode == "stack"
    kron = modality_shares_figure(pd.DataFrame({"genomic_share": [np.nan], "image_share": [np.nan], "bias_share": [np.nan]}))
    assert all(t.text is None for t in kron.data)
    with pytest.raises(InputValidationError, match="empty"):
        modality_shares_figure(shares.iloc[:0])


def test_add_survival_band() -> None:
    curve = pd.DataFrame({"lower": [0.9, 0.7], "upper": [0.95, 0.8]}, index=[1.0, 2.0])
    fig = add_survival_band(go.Figure(), curve, colour="#1f77b4")
    upper, lower = fig.data
    assert list(upper.y) == [0.95, 0.8] and list(lower.y) == [0.9, 0.7] and lower.fill == "tonexty"
    assert lower.fillcolor == "rgba(31,119,180,0.18)" and not upper.showlegend
    with pytest.raises(InputValidationError, match="upper"):
        add_survival_band(go.Figure(), curve.drop(columns="upper"))
