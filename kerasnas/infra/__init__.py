"""Infrastructure every stage uses; none of it imports TensorFlow at module level.

* `atomic`: crash-safe writes of state files;
* `quiet`: TensorFlow imported without its start-up noise;
* `lazy`: lazy package attributes (light `import kerasnas`);
* `kt_internals`: the one home of Keras Tuner internals;
* `validation`: argument checks shared by `search`, the CLI and `kerasnas.data`;
* `preflight`: folder and state-file checks before anything touches disk;
* `numbers`: `is_finite_number`, the one check of scores and metrics;
* `moved`: the module paths of before the stage folders, still importable.
"""
