"""Baselines a search must beat, and the Keras model returned when it does not.

Two references, fitted the way a statistician would and scored on the search's
own validation data (or on the same folds, when it selects by k-fold):

* **trivial**: the majority class (classification) or the training mean
  (regression);
* **linear**: logistic regression (classification) or ridge regression
  (regression) on the flattened, standardised features, with its
  regularisation chosen by inner cross-validation on the training part only:
  ridge's `alpha` on a log grid (`ridge_alphas`) by leave-one-out, exact and
  cheap for ridge (one eigendecomposition serves every alpha: the closed-form
  solver of `kerasnas.spaces.closed_form`), logistic's `C`
  on `LOGISTIC_CS` by `INNER_FOLDS`-fold log-loss.

Standardisation cannot blow up on a column that is (nearly) constant in
training (`Standardisation`): such a column is dropped (weight 0), and every
other column's divisor is at least `STD_FLOOR` of its reference scale. A
fixed-penalty ridge on standardised columns once scored 20,000 times the
mean's MSE on a small series set; these baselines score near or below the mean.

Scores are in the objective's own metric (`metric_for`): accuracy for
`val_accuracy`, MSE for a regression's `val_loss`, MAE for `val_mae`,
cross-entropy for a classifier's `val_loss`. `compare` words the warnings
when the search's best does not beat a baseline and `fallback_choice` names
the baseline `kerasnas.search` then returns (`search(baseline_fallback=True)`,
the default): `LinearBaseline.keras_model()` is a plain Keras model (Flatten ->
Normalization -> Dense) that holds the fitted coefficients exactly, saves as
`.keras` and exports like any other result model.

Fits stay fast (a second or two on a few thousand examples of a few thousand
features): the regularisation is chosen on at most `MAX_SELECT_ROWS` training
rows, a model on the most rows `MAX_FIT_WORK` allows (`fit_rows`), on at most
`MAX_FEATURES` columns, and scikit-learn's convergence warnings are silenced.

Example:

>>> import numpy as np
>>> x, y = np.random.default_rng(0).normal(size=(60, 4)), np.arange(60) % 2
>>> b = baselines(x[:40], y[:40], x[40:], y[40:], "classification")
>>> sorted(b)
['linear', 'trivial']
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np

from kerasnas.spaces.closed_form import ridge_loo_centred

#: A column whose training standard deviation is at most this share of its reference scale is
#: dropped (weight 0): it is constant in training up to rounding, and dividing by its tiny
#: deviation would blow up any value it takes later.
NEAR_CONSTANT = 1e-4
#: Every kept column is divided by at least this share of its reference scale.
STD_FLOOR = 1e-2
#: Most feature columns a linear baseline uses (evenly spaced over the kept ones beyond it).
MAX_FEATURES = 2048
#: Work of one fit, `rows * features * min(rows, features)` multiply-adds: a baseline is fit on
#: the most rows (a random subset, stratified for classes) that keep under it.
MAX_FIT_WORK = 5e9
#: Most rows a baseline is fit on, whatever the work.
MAX_FIT_ROWS = 100_000
#: Most training rows the inner cross-validation chooses the regularisation on.
MAX_SELECT_ROWS = 500
#: Folds of the inner cross-validation that chooses logistic regression's `C`.
INNER_FOLDS = 3
#: Ridge `alpha` grid points per decade, from `1e-3` to `10 * rows * features`.
ALPHAS_PER_DECADE = 2
#: Inverse regularisation strengths `C` logistic regression chooses from.
LOGISTIC_CS = tuple(float(c) for c in np.logspace(-4, 2, 7))
#: Iterations of each logistic fit (lbfgs; warm-started along the `C` path).
MAX_ITER = 200
#: The logit of a class no training example has (softmax probability ~e^-50).
ABSENT_LOGIT = -50.0
#: BLAS threads of the baselines' linear algebra: one, since many small products (lbfgs
#: steps) run 10x slower when BLAS threads contend with each other on a busy machine.
BLAS_THREADS = 1
#: Keras's probability clip in its cross-entropy (`keras.config.epsilon()`).
_EPSILON = 1e-7
#: Metrics a baseline is scored in; the first two are the problems' defaults.
METRICS = ("accuracy", "mse", "mae", "crossentropy")
_LOWER_IS_BETTER = ("mse", "mae", "crossentropy")
#: `kind` of the models, as `SearchResult.returned` names them (`"baseline:ridge"`, ...).
TRIVIAL_NAMES = {"classification": "majority", "regression": "mean"}
LINEAR_NAMES = {"classification": "logistic", "regression": "ridge"}


def metric_for(objective_name, problem) -> str | None:
    """The metric baselines are compared in for this objective, or None (not comparable)."""
    if objective_name == "val_accuracy" and problem == "classification":
        return "accuracy"
    if objective_name == "val_loss":
        return "mse" if problem == "regression" else "crossentropy"
    if objective_name == "val_mae" and problem == "regression":
        return "mae"
    return None


def default_metric(problem) -> str:
    return "accuracy" if problem == "classification" else "mse"


# ------------------------------------------------------------------- standardisation
@dataclasses.dataclass
class Standardisation:
    """Per-column `(x - mean) / scale` that a (nearly) constant training column cannot blow up.

    A column's reference scale is its root mean square `sqrt(mean^2 + std^2)`;
    with `shared_units` (images, sequences: every column is the same quantity)
    at least the median column standard deviation, so a time step that is ~0 in
    every training series is seen as constant. A column whose standard deviation
    is at most `NEAR_CONSTANT` of the reference is dropped (`keep` False), every
    other is divided by `max(std, STD_FLOOR * reference)`. Beyond `MAX_FEATURES`
    kept columns, an evenly spaced subset is kept.
    """

    mean: np.ndarray
    scale: np.ndarray
    keep: np.ndarray

    @classmethod
    def fit(cls, flat, shared_units=False) -> "Standardisation":
        mean = flat.mean(axis=0)
        std = flat.std(axis=0)
        reference = np.sqrt(mean ** 2 + std ** 2)
        if shared_units:
            moving = std[std > 0]
            reference = np.maximum(reference, float(np.median(moving)) if moving.size else 0.0)
        keep = (std > NEAR_CONSTANT * reference) & (std > 0)
        scale = np.where(keep, np.maximum(std, STD_FLOOR * reference), 1.0)
        kept = np.flatnonzero(keep)
        if len(kept) > MAX_FEATURES:
            keep = np.zeros_like(keep)
            keep[kept[np.linspace(0, len(kept) - 1, MAX_FEATURES).round().astype(int)]] = True
        return cls(mean=np.where(keep, mean, 0.0), scale=scale, keep=keep)

    def __call__(self, flat) -> np.ndarray:
        """The kept columns of `flat`, standardised."""
        return (flat[:, self.keep] - self.mean[self.keep]) / self.scale[self.keep]


# ---------------------------------------------------------------------- the models
@dataclasses.dataclass
class LinearBaseline:
    """A fitted baseline: `Dense(kernel, bias)` on standardised flattened features.

    Attributes:
        kind: `"mean"`, `"majority"` (trivial), `"ridge"` or `"logistic"` (linear).
        problem: `"classification"` (softmax of the logits) or `"regression"`.
        mean, scale: Per flattened feature, the standardisation (`Standardisation`;
            mean 0 and scale 1 for the trivial baselines and dropped columns).
        kernel: `(features, units)` weights on the standardised features (0 rows for
            dropped columns); units are the classes or the regression targets.
        bias: `(units,)`: the intercepts, or the mean / the classes' log-priors.
        regularisation: `{"alpha": ...}` (ridge), `{"C": ...}` (logistic) or `{}`.
    """

    kind: str
    problem: str
    mean: np.ndarray
    scale: np.ndarray
    kernel: np.ndarray
    bias: np.ndarray
    regularisation: dict = dataclasses.field(default_factory=dict)

    @property
    def trivial(self) -> bool:
        return self.kind in TRIVIAL_NAMES.values()

    def describe(self) -> str:
        """E.g. `"ridge, alpha=12.6"` or `"mean"`."""
        return ", ".join([self.kind, *(f"{k}={v:.3g}" for k, v in self.regularisation.items())])

    def outputs(self, x, batch=4096) -> np.ndarray:
        """Probabilities `(N, classes)` or predictions `(N, targets)` in float64 (numpy)."""
        x = np.asarray(x)
        chunks = []
        for start in range(0, len(x), batch):
            flat = np.asarray(x[start:start + batch], np.float64).reshape(
                len(x[start:start + batch]), -1)
            logits = ((flat - self.mean) / self.scale) @ self.kernel + self.bias
            if self.problem == "classification":
                logits = np.exp(logits - logits.max(axis=1, keepdims=True))
                logits /= logits.sum(axis=1, keepdims=True)
            chunks.append(logits)
        return np.concatenate(chunks) if chunks else np.zeros((0, len(self.bias)))

    def keras_model(self, input_shape, *, loss=None, metrics=None):
        """A Keras model of `input_shape` predicting exactly `outputs`: Flatten ->
        Normalization (the standardisation; not for the trivial baselines) -> Dense
        (softmax for classification), compiled with `loss` and `metrics` (Adam)."""
        import keras

        inputs = keras.Input(shape=tuple(input_shape), name="inputs")
        hidden = keras.layers.Flatten(name="flatten")(inputs)
        if not self.trivial:
            hidden = keras.layers.Normalization(axis=-1, mean=self.mean, variance=self.scale ** 2,
                                                name="standardise")(hidden)
        dense = keras.layers.Dense(len(self.bias), name=self.kind,
                                   activation="softmax" if self.problem == "classification"
                                   else None)
        outputs = dense(hidden)
        dense.set_weights([self.kernel.astype(np.float32), self.bias.astype(np.float32)])
        model = keras.Model(inputs, outputs, name=f"baseline_{self.kind}")
        if loss is None:
            loss = ("sparse_categorical_crossentropy" if self.problem == "classification"
                    else "mean_squared_error")
        if metrics is None:
            metrics = ["accuracy"] if self.problem == "classification" else ["mae"]
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, metrics=list(metrics))
        model.optimizer.build(model.trainable_variables)  # saved whole: loads without a warning
        return model


def _blas_threads():
    """Limits BLAS to `BLAS_THREADS` threads (threadpoolctl ships with scikit-learn)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(BLAS_THREADS, user_api="blas")


def _flat(x) -> np.ndarray:
    x = np.asarray(x)
    return np.asarray(x, np.float64).reshape(len(x), -1)


def _targets(y) -> np.ndarray:
    y = np.asarray(y, np.float64)
    return y.reshape(len(y), -1)


def _subset(y, limit, problem, seed) -> np.ndarray | None:
    """Indices of at most `limit` rows (stratified by class), or None for all of them."""
    n = len(y)
    if n <= limit:
        return None
    rng = np.random.default_rng(seed)
    if problem != "classification":
        return np.sort(rng.choice(n, limit, replace=False))
    labels = np.asarray(y).reshape(n, -1)[:, 0]
    chosen = [rng.choice(members, min(len(members), max(1, round(limit * len(members) / n))),
                         replace=False)
              for members in (np.flatnonzero(labels == c) for c in np.unique(labels))]
    chosen = rng.permutation(np.concatenate(chosen))
    return np.sort(chosen[:limit])


def fit_rows(features) -> int:
    """The most rows a linear baseline is fit on: `MAX_FIT_WORK` and `MAX_FIT_ROWS` allow them."""
    features = max(1, min(int(features), MAX_FEATURES))
    if features ** 3 >= MAX_FIT_WORK:
        rows = int(math.sqrt(MAX_FIT_WORK / features))
    else:
        rows = int(MAX_FIT_WORK / features ** 2)
    return max(MAX_SELECT_ROWS, min(MAX_FIT_ROWS, rows))


def fit_trivial(y, problem, *, num_classes=None, features=1) -> LinearBaseline:
    """The majority class (log-priors as logits) or the mean, as a zero-kernel `LinearBaseline`."""
    if problem == "classification":
        y = np.asarray(y).astype(int).reshape(-1)
        k = int(num_classes or (y.max() + 1))
        priors = np.bincount(y, minlength=k)[:k] / max(1, len(y))
        bias = np.where(priors > 0, np.log(np.maximum(priors, 1e-300)), ABSENT_LOGIT)
    else:
        bias = _targets(y).mean(axis=0)
    return LinearBaseline(TRIVIAL_NAMES[problem], problem, np.zeros(features), np.ones(features),
                          np.zeros((features, len(bias))), np.asarray(bias, np.float64))


def ridge_alphas(rows, features) -> np.ndarray:
    """The ridge grid: `ALPHAS_PER_DECADE` per decade from 1e-3 (almost least squares) to
    `10 * rows * features` (almost the mean) on standardised columns."""
    top = math.log10(10.0 * max(rows, 1) * max(features, 1))
    return np.logspace(-3, top, int(math.ceil((top + 3) * ALPHAS_PER_DECADE)) + 1)


def _select_alpha(z, y2) -> float:
    """The `ridge_alphas` value with the lowest leave-one-out MSE (exact, with the intercept):
    `closed_form.ridge_loo_centred` on the centred `z` (one eigendecomposition, every alpha)."""
    alphas = ridge_alphas(*z.shape)
    if len(z) < 3 or z.shape[1] == 0:
        return float(alphas[-1])
    return ridge_loo_centred(z - z.mean(axis=0), y2, alphas).alpha


def _log_loss(probabilities, y) -> float:
    picked = np.clip(probabilities[np.arange(len(y)), y], _EPSILON, 1 - _EPSILON)
    return float(-np.mean(np.log(picked)))


def _full_proba(model, z, num_classes) -> np.ndarray:
    """`model.predict_proba(z)` with one column per class (0 for classes it never saw)."""
    full = np.zeros((len(z), num_classes))
    full[:, model.classes_.astype(int)] = model.predict_proba(z)
    return full


def _logistic(c):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=MAX_ITER, warm_start=True)


def _select_c(z, y, num_classes, seed) -> float:
    """`C` of `LOGISTIC_CS` with the lowest inner `INNER_FOLDS`-fold log-loss (smaller on ties)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    counts = np.bincount(y)
    folds = min(INNER_FOLDS, len(y))
    if folds < 2:
        return LOGISTIC_CS[len(LOGISTIC_CS) // 2]
    split = StratifiedKFold(folds, shuffle=True, random_state=seed) \
        if counts[counts > 0].min() >= folds else KFold(folds, shuffle=True, random_state=seed)
    losses = np.zeros(len(LOGISTIC_CS))
    for train, val in split.split(z, y):
        if len(np.unique(y[train])) < 2:
            priors = np.bincount(y[train], minlength=num_classes) / len(train)
            losses += _log_loss(np.tile(priors, (len(val), 1)), y[val]) * len(val)
            continue
        model = _logistic(LOGISTIC_CS[0])  # warm-started from the strongest penalty up
        for i, c in enumerate(LOGISTIC_CS):
            model.set_params(C=c)
            model.fit(z[train], y[train])
            losses[i] += _log_loss(_full_proba(model, z[val], num_classes), y[val]) * len(val)
    return float(LOGISTIC_CS[int(np.argmin(losses))])


def fit_linear(x, y, problem, *, num_classes=None, regularisation=None, shared_units=False,
               seed=0) -> LinearBaseline:
    """Ridge (regression) or logistic regression (classification) on standardised features.

    Args:
        x: Examples of any shape (flattened); y: class indices or targets.
        regularisation: `alpha` (ridge) or `C` (logistic) to use, or None (default) to
            choose it by inner cross-validation on `x` (at most `MAX_SELECT_ROWS` rows).
        shared_units: Every column is the same quantity (images, sequences); see
            `Standardisation`.

    Returns:
        A `LinearBaseline` (the majority class when `y` has a single class).
    """
    flat_all = np.asarray(x)
    y = np.asarray(y)
    keep_rows = _subset(y, fit_rows(int(np.prod(flat_all.shape[1:], dtype=np.int64))), problem,
                        seed)
    if keep_rows is not None:
        flat_all, y = flat_all[keep_rows], y[keep_rows]
    flat = _flat(flat_all)
    standard = Standardisation.fit(flat, shared_units=shared_units)
    z = standard(flat)
    features = flat.shape[1]
    select = _subset(y, MAX_SELECT_ROWS, problem, seed + 1)
    z_select, y_select = (z, y) if select is None else (z[select], y[select])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence and small-fold warnings on tiny data
        if problem == "classification":
            y = y.astype(int).reshape(-1)
            k = int(num_classes or (y.max() + 1))
            if len(np.unique(y)) < 2:
                return fit_trivial(y, problem, num_classes=k, features=features)
            c = regularisation if regularisation is not None else _select_c(
                z_select, y_select.astype(int).reshape(-1), k, seed)
            model = _logistic(float(c))
            model.set_params(warm_start=False)
            model.fit(z, y)
            kernel = np.zeros((features, k))
            bias = np.full(k, ABSENT_LOGIT)
            classes = model.classes_.astype(int)
            if len(classes) == 2:  # sigmoid(z) == softmax([0, z])
                bias[classes[0]] = 0.0
                kernel[standard.keep, classes[1]] = model.coef_[0]
                bias[classes[1]] = model.intercept_[0]
            else:
                kernel[np.ix_(standard.keep, classes)] = model.coef_.T
                bias[classes] = model.intercept_
            return LinearBaseline("logistic", problem, standard.mean, standard.scale, kernel,
                                  bias, {"C": float(c)})
        from sklearn.linear_model import Ridge

        y2 = _targets(y)
        alpha = regularisation if regularisation is not None else _select_alpha(
            z_select, _targets(y_select))
        if z.shape[1] == 0:  # every column constant: the mean
            return dataclasses.replace(fit_trivial(y2, problem, features=features), kind="ridge",
                                       regularisation={"alpha": float(alpha)})
        model = Ridge(alpha=float(alpha)).fit(z, y2)
    kernel = np.zeros((features, y2.shape[1]))
    kernel[standard.keep] = np.asarray(model.coef_).reshape(y2.shape[1], -1).T
    return LinearBaseline("ridge", problem, standard.mean, standard.scale, kernel,
                          np.asarray(model.intercept_, np.float64).reshape(-1),
                          {"alpha": float(alpha)})


def score(model: LinearBaseline, x, y, metric) -> float:
    """`model`'s `metric` on `(x, y)` (Keras's definitions: MSE over all targets, ...)."""
    outputs = model.outputs(x)
    if metric == "accuracy":
        return float(np.mean(np.argmax(outputs, axis=1) == np.asarray(y).reshape(-1)))
    if metric == "crossentropy":
        return _log_loss(outputs / outputs.sum(axis=1, keepdims=True),
                         np.asarray(y).astype(int).reshape(-1))
    error = outputs - _targets(y).reshape(outputs.shape)
    return float(np.mean(error ** 2) if metric == "mse" else np.mean(np.abs(error)))


# -------------------------------------------------------------------- the record
@dataclasses.dataclass
class Baselines:
    """The baselines' validation scores and how they were fit.

    Attributes:
        scores: `{"trivial": ..., "linear": ...}` in `metric` (the fold mean with folds).
        metric: `"accuracy"`, `"mse"`, `"mae"` or `"crossentropy"`.
        models: `{"trivial": {"model": "mean"}, "linear": {"model": "ridge", "alpha": ...}}`;
            with folds, the regularisation is the geometric median of the folds' choices.
    """

    scores: dict
    metric: str
    models: dict

    def describe(self, key) -> str:
        info = dict(self.models.get(key, {}))
        name = info.pop("model", key)
        return ", ".join([name, *(f"{k}={v:.3g}" for k, v in info.items())])


def evaluate(x_train, y_train, x_val, y_val, problem, *, folds=None, metric=None,
             num_classes=None, shared_units=False) -> Baselines:
    """Fits both baselines on the training part and scores them on the validation part.

    With `folds` (a list of `(train_index, val_index)` over train + validation
    together, the folds the search used), each score is the mean over the folds
    and each fold chooses its own regularisation on its training part.
    """
    with _blas_threads():
        return _evaluate(x_train, y_train, x_val, y_val, problem, folds=folds, metric=metric,
                         num_classes=num_classes, shared_units=shared_units)


def _evaluate(x_train, y_train, x_val, y_val, problem, *, folds, metric, num_classes,
              shared_units) -> Baselines:
    metric = metric or default_metric(problem)
    if metric not in METRICS:
        raise ValueError(f"Unknown baseline metric {metric!r}; choose from {METRICS}.")
    if problem == "classification" and num_classes is None:
        num_classes = int(max(np.max(y_train), np.max(y_val))) + 1
    if folds:
        x_all = np.concatenate([x_train, x_val])
        y_all = np.concatenate([y_train, y_val])
        pairs = [(x_all[t], y_all[t], x_all[v], y_all[v]) for t, v in folds]
    else:
        pairs = [(x_train, y_train, x_val, y_val)]
    per_fold = {"trivial": [], "linear": []}
    chosen = []
    for xt, yt, xv, yv in pairs:
        features = int(np.prod(np.shape(xt)[1:], dtype=np.int64))
        trivial = fit_trivial(yt, problem, num_classes=num_classes, features=features)
        linear = fit_linear(xt, yt, problem, num_classes=num_classes, shared_units=shared_units)
        per_fold["trivial"].append(score(trivial, xv, yv, metric))
        per_fold["linear"].append(score(linear, xv, yv, metric))
        chosen.append(linear.regularisation)
    models = {"trivial": {"model": TRIVIAL_NAMES[problem]},
              "linear": {"model": LINEAR_NAMES[problem]}}
    keys = {k for c in chosen for k in c}
    for key in keys:
        values = [c[key] for c in chosen if key in c]
        models["linear"][key] = float(np.exp(np.median(np.log(values))))
    return Baselines({k: float(np.mean(v)) for k, v in per_fold.items()}, metric, models)


def fit_baseline(key, found: Baselines, x, y, problem, *, num_classes=None,
                 shared_units=False) -> LinearBaseline:
    """Baseline `key` (`"trivial"` / `"linear"`) fit on `(x, y)` with the regularisation
    `found` chose (what `kerasnas.search` returns when the search did not beat it)."""
    features = int(np.prod(np.shape(x)[1:], dtype=np.int64))
    if key == "trivial":
        return fit_trivial(y, problem, num_classes=num_classes, features=features)
    info = found.models.get("linear", {})
    regularisation = info.get("alpha", info.get("C"))
    with _blas_threads():
        return fit_linear(x, y, problem, num_classes=num_classes, regularisation=regularisation,
                          shared_units=shared_units)


def baselines(x_train, y_train, x_val, y_val, problem, folds=None, metric=None) -> dict:
    """`{"trivial": score, "linear": score}` on the validation data (see `evaluate`).

    Scores are accuracy (classification) or MSE (regression) unless `metric` says.
    """
    return evaluate(x_train, y_train, x_val, y_val, problem, folds=folds, metric=metric).scores


# ------------------------------------------------------------------ the verdict
def _not_beaten(score_, found: dict, metric) -> dict:
    if metric in _LOWER_IS_BETTER:
        return {k: v for k, v in found.items() if score_ >= v}
    return {k: v for k, v in found.items() if score_ <= v}


def fallback_choice(score_, found: dict, metric) -> str | None:
    """The best baseline (`"trivial"` on a tie: simpler) when `score_` does not beat every
    baseline in `metric`, else None (the search's model stands)."""
    if score_ is None or not found or metric is None or not math.isfinite(score_):
        return None
    if not _not_beaten(score_, found, metric):
        return None
    sign = 1.0 if metric in _LOWER_IS_BETTER else -1.0
    return min(found, key=lambda k: (sign * found[k], k != "trivial"))


def compare(score_, found: dict[str, float], objective_name: str,
            problem: str = "regression") -> list[str]:
    """Warnings for every baseline `score_` does not beat (empty when it beats all).

    Only objectives the baselines measure are compared (`metric_for`):
    `val_accuracy` (higher is better), `val_loss` (a regression's MSE, a
    classifier's cross-entropy) and a regression's `val_mae` (lower is better).
    """
    metric = metric_for(objective_name, problem)
    if score_ is None or not found or metric is None:
        return []
    unit = {"accuracy": "accuracy", "mse": "MSE", "mae": "MAE",
            "crossentropy": "cross-entropy"}[metric]
    names = {"trivial": "the trivial baseline (majority class / mean)",
             "linear": "a linear model on the same features (ridge / logistic regression)"}
    return [f"The best architecture ({unit} {score_:.4f}) is no better than {names[k]} "
            f"({unit} {v:.4f}): more data, a longer budget or another space may be needed."
            for k, v in _not_beaten(score_, found, metric).items()]
