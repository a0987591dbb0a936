"""See the search: architecture drawings, search plots and notebook display, as inline SVG.

Nothing here imports TensorFlow or a plotting library: pictures are written as
SVG strings (`svg.py`), so reports stay one self-contained HTML file and work
on machines without a display or Graphviz.

* `draw_architecture(arch)`: a `Drawing` of any space's `Architecture` (`draw.py`).
* `trajectory_plot`, `cost_plot`, `learning_curves_plot`: plots of a
  `SearchResult` (`plots.py`).
* `result_html(result)`: the notebook summary `SearchResult._repr_html_` shows
  (`notebook.py`).

Example:

>>> from kerasnas.viz import draw_architecture
>>> draw_architecture(result.architecture).save("best.svg")      # doctest: +SKIP
'best.svg'
"""

from kerasnas.infra.lazy import lazy_attributes

_LAZY = {
    "draw_architecture": "kerasnas.viz.draw",
    "register_drawer": "kerasnas.viz.draw",
    "Drawing": "kerasnas.viz.svg",
    "trajectory_plot": "kerasnas.viz.plots",
    "cost_plot": "kerasnas.viz.plots",
    "learning_curves_plot": "kerasnas.viz.plots",
    "result_html": "kerasnas.viz.notebook",
    "alpha_plot": "kerasnas.viz.alpha",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
