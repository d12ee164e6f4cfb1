"""`plogp plot`: the plotted curves are the article's (read back from the matplotlib lines),
and the command writes two readable PNG files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from plogp import cli, plot

ULP = np.finfo(np.float64).eps


@pytest.fixture(scope="module")
def figures() -> dict:
    return plot.draw(plot.figure_data(points=301))


def _lines(figure) -> list:
    (ax,) = figure.axes
    return ax.get_lines()


def test_binary_curves_are_minus_log_p_and_minus_log_one_minus_p(figures: dict) -> None:
    y1, y0 = _lines(figures["binary_cross_entropy"])
    p = np.asarray(y1.get_xdata(), dtype=np.float64)
    assert np.array_equal(p, np.asarray(y0.get_xdata()))
    assert 0.0 < p.min() and p.max() < 1.0 and len(p) == 301
    want1 = np.array([-math.log(v) for v in p])
    want0 = np.array([-math.log1p(-v) for v in p])
    np.testing.assert_allclose(y1.get_ydata(), want1, rtol=4 * ULP, atol=0)
    np.testing.assert_allclose(y0.get_ydata(), want0, rtol=4 * ULP, atol=0)
    # A confident wrong prediction costs more than a confident right one.
    assert y1.get_ydata()[0] > 4 > y1.get_ydata()[-1]
    assert y0.get_ydata()[-1] > 4 > y0.get_ydata()[0]


def test_cross_entropy_is_above_entropy_equal_at_q_equals_p_and_grows(figures: dict) -> None:
    data = plot.figure_data(points=301)
    cross, flat = _lines(figures["cross_entropy"])
    t = np.asarray(cross.get_xdata())
    h_pq = np.asarray(cross.get_ydata())
    h_p = np.asarray(flat.get_ydata())
    assert t[0] == 0.0 and t[-1] == 1.0
    assert np.all(h_p == h_p[0])  # the flat H(p) line
    exact_h_p = -math.fsum(v * math.log(v) for v in data.p_dist)
    assert h_p[0] == pytest.approx(exact_h_p, rel=4 * ULP, abs=0)
    assert h_pq[0] == pytest.approx(h_p[0], rel=4 * ULP, abs=0)  # q = p
    assert np.all(h_pq >= h_p * (1 - 4 * ULP))  # Gibbs' inequality
    assert np.all(np.diff(h_pq[1:]) > 0)  # moves up as q leaves p
    assert h_pq[-1] > h_p[0] + 0.5
    # Each plotted value is H(p, q_t) of the stated path.
    for i in (0, 100, 300):
        q = (1 - t[i]) * data.p_dist + t[i] * data.u_dist
        want = -math.fsum(a * math.log(b) for a, b in zip(data.p_dist, q))
        assert h_pq[i] == pytest.approx(want, rel=8 * ULP)
    np.testing.assert_allclose(data.kl_divergence, h_pq - h_p, atol=1e-14)


def test_plot_command_writes_png_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "new" / "dir"
    assert cli.main(["plot", "--out", str(out), "--dpi", "40"]) == 0
    written = {Path(line) for line in capsys.readouterr().out.split()}
    assert written == {out / f"{name}.png" for name in plot.FIGURE_NAMES}
    from matplotlib.image import imread

    for path in written:
        image = imread(path)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
        assert image.std() > 0.01  # not a blank canvas
