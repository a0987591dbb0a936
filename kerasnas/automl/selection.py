"""Which finished trial `kerasnas.search` returns: on small data, the simplest one within noise of the best.

With a few hundred examples the validation score that ranks the trials is
itself noisy: on scikit-learn's diabetes table (331 training rows, so a
66-example validation split) the best trial's validation MSE has a standard
error of about 17 %, more than the gap between a linear model and the MLPs
that edge it out, and the MLP that wins the split often loses on new data.
The one-standard-error rule (Breiman et al., *Classification and Regression
Trees*, 1984; Hastie et al., *The Elements of Statistical Learning*, 7.10)
returns instead the simplest model (fewest parameters) whose score is within
one standard error of the best score.

`kerasnas.search` applies it when the search saw fewer than
`ONE_SE_BELOW` = 1,000 examples (training + validation); above that the
standard error is small enough that the rule would only break near-ties, and
the highest score is returned as before. The standard error comes from the
objective and the number of examples that scored it (the validation split, or
every example under k-fold selection):

* accuracy `p` over `n` examples: `sqrt(q (1 - q) / (n + 4))` with
  `q = (p n + 2) / (n + 4)` (the binomial error with Agresti and Coull's
  adjustment, 1998: the plain `sqrt(p (1 - p) / n)` collapses near 0 and 1, so
  on an easy small table, where the top trials tie at 84 of 85 validation
  examples, it would call a 1-example gap significant, and at 100 % it is 0);
* mean squared error `m`: `m sqrt(2 / n)` (Gaussian residuals: the squared
  error's variance is twice its squared mean);
* mean absolute error `a`: `a sqrt((pi / 2 - 1) / n)` (Gaussian residuals).

Other objectives (cross-entropy, several objectives, a user's metric) keep
the highest score: their standard error is not known from the score alone.

Example:

>>> round(standard_error("val_accuracy", 0.9, 100), 4)
0.0313
>>> round(standard_error("val_loss", 2500.0, 50, problem="regression"), 1)
500.0
"""

from __future__ import annotations

import math

#: Below this many examples (training + validation) the simplest trial within one standard
#: error of the best is returned; at or above it, the best.
ONE_SE_BELOW = 1000


def standard_error(metric, score, n, problem="classification"):
    """The standard error of `score` (the objective `metric` over `n` examples), or None.

    None when the metric's error is not known from its value alone (see the
    module docstring for the three that are).
    """
    if n < 1 or score is None or not math.isfinite(score):
        return None
    name = metric[4:] if metric.startswith("val_") else metric
    if name == "accuracy":
        adjusted = (score * n + 2.0) / (n + 4.0)
        return math.sqrt(adjusted * (1.0 - adjusted) / (n + 4.0))
    if problem == "regression" and name in ("loss", "mse"):
        return abs(score) * math.sqrt(2.0 / n)
    if problem == "regression" and name == "mae":
        return abs(score) * math.sqrt((math.pi / 2.0 - 1.0) / n)
    return None


def simplest_within_se(trials, objective, n_scored, problem):
    """`(trial, record)`: the trial to return under the one-standard-error rule.

    Args:
        trials: Finished Keras Tuner trials, best score first (their metrics
            hold `params` and, when the budget cut them, `budget_cut`).
        objective: The search's `keras_tuner.Objective` (name and direction).
        n_scored: Examples behind each score (the validation split, or all of
            them under k-fold).
        problem: `"classification"` or `"regression"`.

    Returns:
        The first trial and None when the rule does not apply (unknown
        standard error, no parameter counts, a single trial) or picks the
        best itself; else the simpler trial and a record `{"rule", "best_trial",
        "best_score", "standard_error", "trial", "score", "params",
        "best_params"}` for the `SearchResult`.
    """
    best = trials[0]
    se = standard_error(objective.name, best.score, n_scored, problem)
    if se is None or len(trials) < 2:
        return best, None
    sign = 1.0 if objective.direction == "max" else -1.0

    def params(trial):
        value = _metric(trial, "params")
        return math.inf if value is None else value

    eligible = [t for t in trials if not _metric(t, "budget_cut")
                and sign * (best.score - t.score) <= se]
    if not eligible:
        return best, None
    chosen = min(eligible, key=lambda t: (params(t), -sign * t.score))
    if params(chosen) >= params(best):  # the best itself, or no smaller trial
        return best, None
    return chosen, {"rule": "one standard error", "best_trial": best.trial_id,
                    "best_score": float(best.score), "standard_error": float(se),
                    "trial": chosen.trial_id, "score": float(chosen.score),
                    "params": params(chosen), "best_params": params(best)}


def describe(record) -> str:
    """One line on a `simplest_within_se` record, for the summary, the report and the log."""
    return (f"trial {record['trial']} ({record['params']:,.0f} params, {record['score']:.4f}) is "
            f"the simplest within one standard error ({record['standard_error']:.4f}) of the "
            f"best, trial {record['best_trial']} ({record['best_score']:.4f}); select='best' "
            "returns the best")


def _metric(trial, name):
    try:
        value = trial.metrics.get_last_value(name)
    except (KeyError, ValueError):
        return None
    return None if value is None else float(value)


#: `search(select=...)` values: "auto" applies the rule below `ONE_SE_BELOW` examples,
#: "best" never, "one_se" at any size.
SELECT_CHOICES = ("auto", "best", "one_se")


def check_select(select):
    """`select` if it is one of `SELECT_CHOICES`, else a ValueError naming them."""
    if not isinstance(select, str) or select not in SELECT_CHOICES:
        raise ValueError(f"select must be one of {list(SELECT_CHOICES)}: 'auto' (the simplest "
                         f"trial within one standard error of the best below {ONE_SE_BELOW} "
                         f"examples), 'best' (the highest score) or 'one_se' (that rule at "
                         f"any size); got {select!r}.")
    return select


def choose_trial(oracle, data, folds=None, select="auto"):
    """`(trial, record)`: the finished trial `search` refits, and the rule's record or None.

    Args:
        oracle: The search's oracle (its trials and objective).
        data: The search's `PreparedData` (its split sizes and task).
        folds: The k of k-fold selection, or None for one validation split.
        select: `"auto"`, `"best"` or `"one_se"` (see `SELECT_CHOICES`).
    """
    ranked = [t for t in oracle.get_best_trials(len(oracle.trials))
              if t.score is not None and math.isfinite(t.score)]
    if not ranked:
        return None, None
    n_all = len(data.x_train) + len(data.x_val)
    if select == "best" or (select == "auto" and n_all >= ONE_SE_BELOW):
        return ranked[0], None
    if folds:  # every example is scored once over the folds that ran
        n_scored = n_all * (_metric(ranked[0], "cv_folds") or folds) / folds
    else:
        n_scored = len(data.x_val)
    return simplest_within_se(ranked, oracle.objective, n_scored, data.task.problem)
