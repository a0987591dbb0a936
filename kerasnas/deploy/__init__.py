"""What a search hands over: the result, its exported artifacts and its report.

`result` (`SearchResult`: leaderboard, refit model, save / load) ->
`ensemble` (top-k models as one) -> `export` (`.keras`, TF Serving SavedModel,
TFLite) and `report` (one HTML file).

Example:

>>> from kerasnas.deploy import SearchResult, export_model
>>> result = SearchResult.load("runs/demo/result")            # doctest: +SKIP
>>> export_model(result.model, "export")           # doctest: +SKIP
"""

from kerasnas.infra.lazy import lazy_attributes

_LAZY = {
    "SearchResult": "kerasnas.deploy.result",
    "TrialRecord": "kerasnas.deploy.result",
    "export_model": "kerasnas.deploy.export",
    "next_version": "kerasnas.deploy.export",
    "build_ensemble": "kerasnas.deploy.ensemble",
    "write_report": "kerasnas.deploy.report",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
