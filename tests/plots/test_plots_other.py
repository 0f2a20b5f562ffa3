"""Slide heatmaps, θ waterfall, attribution bars, benchmark figure and static export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from pathgptomic.errors import InputValidationError
from pathgptomic.plots import (
    StaticExportUnavailable,
    attribution_bar_figure,
    cindex_by_config_figure,
    cindex_summary,
    figure_to_bytes,
    kaleido_available,
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
    top = pd.DataFrame({"feature": ["A_cnv", "B_rnaseq", "C_mut"], "block": ["cnv", "rna", "mut"],
                        "attribution": [0.2, -1.0, 0.5]})
    fig = attribution_bar_figure(top)
    bar = fig.data[0]
    assert list(bar.y) == ["A_cnv (cnv)", "C_mut (mut)", "B_rnaseq (rna)"]  # largest at the top
    assert list(bar.marker.color) == ["#d62728", "#d62728", "#1f77b4"]
    with pytest.raises(InputValidationError, match="attribution"):
        attribution_bar_figure(top.drop(columns="attribution"))


def test_cindex_by_config() -> None:
    res = pd.DataFrame({"config": ["concat"] * 3 + ["gradmod"] * 3, "fold": [0, 1, 2] * 2,
                        "cindex": [0.70, 0.72, 0.74, 0.75, 0.77, 0.79]})
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
