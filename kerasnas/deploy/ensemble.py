"""Ensembles: several trained models as one Keras model that averages their outputs.

`build_ensemble(models)` wires the members behind one shared input and averages
their outputs with `keras.layers.Average`: class probabilities for classifiers
(the members' softmax outputs, so the average is again a distribution),
predictions for regressors. The result is an ordinary functional Keras model:
it saves as one `.keras` file that reloads with `keras.saving.load_model` (no
custom objects beyond the members' own layers), and `kerasnas.deploy.export` writes it
as one SavedModel (`serving_default`) and one TFLite model like a single model.

`kerasnas.search(..., ensemble=k)` refits the k best architectures
(`kerasnas.automl.refit.refit_top`) and returns their ensemble.

Example:

>>> from kerasnas.deploy.ensemble import build_ensemble
>>> model = build_ensemble([model_a, model_b, model_c])     # doctest: +SKIP
>>> model.predict(x)  # the mean of the three members' outputs   # doctest: +SKIP
"""

from __future__ import annotations

#: Name of the averaging layer; `ensemble_members` recognises an ensemble by it.
AVERAGE_LAYER = "ensemble_average"
#: Members are renamed `member_0`, `member_1`, ... (functional models need unique layer names).
MEMBER_PREFIX = "member_"


def build_ensemble(models, name="kerasnas_ensemble"):
    """One Keras model whose output is the mean of `models`' outputs.

    Args:
        models: A list of built single-input, single-output Keras models that
            take the same input shape and give the same output shape: all
            classifiers (softmax outputs) or all regressors. Best first, by
            convention. The members are renamed `member_0`, `member_1`, ...
            (Keras needs unique layer names; models built from one search
            space share theirs); a member sharing a layer object with an
            earlier one (a search space's adapted `Normalization`) is replaced
            by a copy with the same weights, so the `.keras` file reloads.
            A single model is returned unchanged.
        name: Name of the ensemble model (default `"kerasnas_ensemble"`).

    Returns:
        A functional `keras.Model` with one input (named `"inputs"`, in the
        members' input shape and dtype) and one output, the elementwise
        average of the members' outputs.

    Raises:
        TypeError: if `models` is not a non-empty list of Keras models.
        ValueError: if the members disagree on input or output shape, or
            mix classifiers and regressors, or one model appears twice.

    Example:

    >>> ensemble = build_ensemble([m1, m2, m3], name="digits_top3")   # doctest: +SKIP
    >>> ensemble.save("digits_top3.keras")                            # doctest: +SKIP
    """
    import keras

    models = _check_members(models, keras)
    if len(models) == 1:
        return models[0]
    first = models[0]
    input_shape = tuple(first.inputs[0].shape[1:])
    output_shape = tuple(first.outputs[0].shape[1:])
    classifier = is_classifier(first)
    for k, model in enumerate(models[1:], start=1):
        shape = tuple(model.inputs[0].shape[1:])
        if shape != input_shape:
            raise ValueError(f"Ensemble members must take the same input shape: member 0 takes "
                             f"{input_shape}, member {k} takes {shape}.")
        shape = tuple(model.outputs[0].shape[1:])
        if shape != output_shape:
            raise ValueError(f"Ensemble members must give the same output shape: member 0 gives "
                             f"{output_shape}, member {k} gives {shape}.")
        if is_classifier(model) != classifier:
            raise ValueError("Ensemble members must be all classifiers (softmax outputs) or all "
                             f"regressors; member 0 is a {_kind(classifier)}, member {k} a "
                             f"{_kind(not classifier)}.")
    models = _unshared(models, keras)
    for k, model in enumerate(models):
        model.name = f"{MEMBER_PREFIX}{k}"
    inputs = keras.Input(input_shape, dtype=first.inputs[0].dtype, name="inputs")
    average = keras.layers.Average(name=AVERAGE_LAYER)([model(inputs) for model in models])
    return keras.Model(inputs, average, name=name)


def ensemble_members(model):
    """The member models of an ensemble made by `build_ensemble`, or None for any other model.

    Example:

    >>> [m.name for m in ensemble_members(ensemble)]   # doctest: +SKIP
    ['member_0', 'member_1', 'member_2']
    """
    layers = getattr(model, "layers", None)
    if not layers or layers[-1].name != AVERAGE_LAYER:
        return None
    members = [layer for layer in layers[:-1] if getattr(layer, "layers", None)]
    return members or None


def is_classifier(model) -> bool:
    """True if the model's output layer applies a softmax.

    Looks inside a wrapped model; an ensemble made by `build_ensemble` is a
    classifier when its members are. `kerasnas.deploy.export` uses it to
    choose the SavedModel's outputs (`probabilities` and `label`, or
    `predictions`).
    """
    members = ensemble_members(model)
    if members:
        return all(is_classifier(member) for member in members)
    last = model.layers[-1]
    if hasattr(last, "layers") and last.layers:
        return is_classifier(last)
    activation = getattr(last, "activation", None)
    return getattr(activation, "__name__", "") == "softmax"


def _unshared(models, keras):
    """`models` where no layer object belongs to two members.

    Models built by one search space share its adapted `Normalization` layer;
    a `.keras` file stores a shared layer once, and the second member then
    fails to load ("expected 3 variables, but received 0"). A member sharing a
    layer with an earlier one is replaced by a copy with the same weights.
    """
    seen, result = set(), []
    for model in models:
        layers = {id(layer) for layer in _all_layers(model)}
        if layers & seen:
            copy = keras.models.clone_model(model)
            copy.set_weights(model.get_weights())
            for layer in _all_layers(copy):  # Normalization derives its mean / variance here
                if hasattr(layer, "finalize_state"):
                    layer.finalize_state()
            model, layers = copy, {id(layer) for layer in _all_layers(copy)}
        seen |= layers
        result.append(model)
    return result


def _all_layers(model):
    stack, found = list(model.layers), []
    while stack:
        layer = stack.pop()
        found.append(layer)
        stack.extend(getattr(layer, "layers", ()))
    return found


def _check_members(models, keras):
    if isinstance(models, keras.Model) or not isinstance(models, (list, tuple)):
        raise TypeError("build_ensemble needs a list of Keras models, e.g. "
                        f"build_ensemble([model_a, model_b]); got {type(models).__name__}.")
    models = list(models)
    if not models:
        raise TypeError("build_ensemble needs at least one model; got an empty list.")
    for k, model in enumerate(models):
        if not isinstance(model, keras.Model):
            raise TypeError(f"Ensemble member {k} is a {type(model).__name__}, not a Keras model.")
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise ValueError(f"Ensemble member {k} has {len(model.inputs)} inputs and "
                             f"{len(model.outputs)} outputs; members need one of each.")
    if len({id(m) for m in models}) != len(models):
        raise ValueError("The same model object appears twice in the ensemble; pass distinct "
                         "trained models (refit an architecture again to average two copies).")
    return models


def _kind(classifier):
    return "classifier" if classifier else "regressor"


__all__ = ["build_ensemble", "ensemble_members", "is_classifier"]
