"""Tabular benchmarks: evaluate search strategies by lookup instead of training."""

from kerasnas.bench.nb201 import (
    NB201HyperModel,
    NB201Lookup,
    NB201LookupTuner,
    best_at,
    best_so_far,
    load_nb201_table,
    run_search,
    trial_results,
)

__all__ = [
    "NB201HyperModel",
    "NB201Lookup",
    "NB201LookupTuner",
    "best_at",
    "best_so_far",
    "load_nb201_table",
    "run_search",
    "trial_results",
]
