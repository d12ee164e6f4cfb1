"""The article's pictures (``plogp plot``, extra ``[plot]``: matplotlib).

Two figures, each computed with plogp's own functions:

- ``binary_cross_entropy``: the loss of one prediction p for the target y = 1 (−log p) and for
  y = 0 (−log(1 − p)), over p in (0, 1). Confident wrong answers cost without bound.
- ``cross_entropy``: H(p, q_t) for a fixed distribution p while q_t = (1 − t)·p + t·u moves
  along a straight path towards another distribution u, next to the flat line H(p). The two
  touch at t = 0 (q = p), and the gap between them is KL(p ‖ q_t) ≥ 0 (Gibbs' inequality).

:func:`figure_data` returns the plotted numbers (no matplotlib needed); :func:`draw` turns them
into matplotlib Figures (Agg canvas, no pyplot, no display); :func:`save` writes PNG files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Union

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: File stem of each figure written by :func:`save`.
FIGURE_NAMES = ("binary_cross_entropy", "cross_entropy")


@dataclass(frozen=True)
class FigureData:
    """The numbers behind the two figures.

    ``p`` and ``loss_y1`` / ``loss_y0`` are the binary cross-entropy curves; ``t``,
    ``cross_entropy`` (H(p, q_t)) and ``entropy`` (H(p), one float) are the second figure,
    for the distribution ``p_dist`` moving towards ``u_dist``. All in nats.
    """

    p: np.ndarray
    loss_y1: np.ndarray
    loss_y0: np.ndarray
    p_dist: np.ndarray
    u_dist: np.ndarray
    t: np.ndarray
    cross_entropy: np.ndarray
    entropy: float
    kl_divergence: np.ndarray = field(repr=False)


def figure_data(points: int = 999) -> FigureData:
    """Compute both figures' curves with plogp (``points`` samples per curve)."""
    import plogp

    if points < 2:
        raise ValueError(f"points must be at least 2, got {points}")
    # Open interval: the end points would be infinite losses.
    p = np.linspace(0.0, 1.0, points + 2)[1:-1]
    ones = np.ones_like(p)
    zeros = np.zeros_like(p)
    loss_y1 = plogp.binary_cross_entropy(ones, p, eps=0.0, reduction="none")
    loss_y0 = plogp.binary_cross_entropy(zeros, p, eps=0.0, reduction="none")

    p_dist = np.array([0.5, 0.3, 0.15, 0.05])
    u_dist = np.array([0.05, 0.15, 0.3, 0.5])
    t = np.linspace(0.0, 1.0, points)
    q = (1.0 - t)[:, None] * p_dist + t[:, None] * u_dist
    rows = np.broadcast_to(p_dist, q.shape)
    return FigureData(
        p=p,
        loss_y1=np.asarray(loss_y1),
        loss_y0=np.asarray(loss_y0),
        p_dist=p_dist,
        u_dist=u_dist,
        t=t,
        cross_entropy=np.asarray(plogp.cross_entropy(rows, q)),
        entropy=float(plogp.entropy(p_dist)),
        kl_divergence=np.asarray(plogp.kl_divergence(rows, q)),
    )


def _new_figure() -> "Figure":
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plogp.plot needs matplotlib: pip install 'plogp[plot]'") from None
    figure = Figure(figsize=(6.4, 4.4), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _format(values: np.ndarray) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"


def draw(data: Optional[FigureData] = None) -> Dict[str, "Figure"]:
    """The two figures as matplotlib Figures, keyed by :data:`FIGURE_NAMES`.

    The first line of each axes is the plotted curve named in its legend: on the binary figure
    −log p (y = 1) then −log(1 − p) (y = 0); on the cross-entropy figure H(p, q_t) then H(p).
    """
    if data is None:
        data = figure_data()
    figures: Dict[str, "Figure"] = {}

    figure = _new_figure()
    ax = figure.add_subplot()
    ax.plot(data.p, data.loss_y1, label="y = 1:  −log p", color="tab:blue")
    ax.plot(data.p, data.loss_y0, label="y = 0:  −log(1 − p)", color="tab:orange")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 5.0)
    ax.set_xlabel("predicted probability of class 1, p")
    ax.set_ylabel("binary cross-entropy (nats)")
    ax.set_title("The loss of one prediction")
    ax.grid(True, alpha=0.3)
    ax.legend()
    figures["binary_cross_entropy"] = figure

    figure = _new_figure()
    ax = figure.add_subplot()
    ax.plot(data.t, data.cross_entropy, label="cross-entropy H(p, q)", color="tab:blue")
    ax.plot(
        data.t,
        np.full_like(data.t, data.entropy),
        label="entropy H(p)",
        color="black",
        linestyle="--",
    )
    ax.fill_between(
        data.t,
        data.entropy,
        data.cross_entropy,
        color="tab:blue",
        alpha=0.15,
        label="gap = KL(p ‖ q)",
    )
    ax.annotate(
        "q = p:  H(p, q) = H(p)",
        xy=(0.0, data.entropy),
        xytext=(0.08, data.entropy + 0.35 * (data.cross_entropy[-1] - data.entropy)),
        arrowprops={"arrowstyle": "->"},
    )
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel(
        f"t, with q = (1 − t)·p + t·u,  p = {_format(data.p_dist)}, u = {_format(data.u_dist)}"
    )
    ax.set_ylabel("nats")
    ax.set_title("Cross-entropy is never below entropy")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left")
    figures["cross_entropy"] = figure
    return figures


def save(out_dir: Union[str, "os.PathLike[str]"] = ".", *, dpi: int = 120) -> List[Path]:
    """Draw both figures and write them as ``<out_dir>/<name>.png``; returns the paths."""
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, figure in draw().items():
        path = directory / f"{name}.png"
        figure.savefig(path, dpi=dpi)
        paths.append(path)
    return paths
