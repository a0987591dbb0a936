"""`ReinforceController`: an LSTM controller trained by policy gradient.

Zoph & Le (2017): a recurrent controller emits one token per architectural
decision, each from its own softmax, feeding the previous token back as the
next input; it is trained with REINFORCE on the evaluated accuracy, using an
exponential-moving-average baseline and an entropy bonus. `ppo=True` swaps
REINFORCE for proximal policy optimisation's clipped surrogate, as NASNet
(Zoph et al., 2018) did.

Every decision of the space's `Encoding` is one step; decisions that an
architecture leaves inactive (layers past `num_layers`, say) are masked out of
the gradient, since they did not influence the reward.

Reward shaping. Accuracies of a space crowd into a narrow band at the top
(NAS-Bench-201: 10-94.4, most good cells within 1 point), so the raw reward
hardly separates 94.3 from 93.5. With `reward="normalized"` (the default) the
advantage is `(fitness - b) / s`, clipped to `±advantage_clip`, where `b` is
the moving-average baseline and `s` a moving average of the absolute
deviation: as the policy improves, the band it samples narrows, `s` shrinks
and the same 0.8-point gap weighs more. `reward="raw"` uses
`fitness * reward_scale - b` instead.

Topology reward (IRLAS; Guo et al., 2019). With `expert=` (an architecture,
its string, or `"auto"`: the space's ResNet-like design, see
`kerasnas.oracles.mirror`), each result's advantage also gets IRLAS's mirror
stimuli reward, how much the architecture's topology resembles the expert's
(m(x) in [0, 1], 1 for the expert's own), against its own moving average m_b:

    A = A_accuracy + mirror_weight * (m(x) - m_b)

where A_accuracy is the advantage above (clipped in "normalized" mode; the
mirror term is not). In "normalized" mode `mirror_weight` is in units of the
fitness's moving absolute deviation, so it means the same on any metric; the
mirror stimuli function learns its feature weights from the architectures the
controller proposes (IRLAS's feature matching). `expert=None` (the default)
leaves the reward, and the saved state, exactly as without the option.

The controller's weights, Adam's variables, the baseline statistics and the
PPO batch in progress are part of the oracle's saved state (with `expert=`,
the mirror baseline and feature statistics too), so a search resumed with
`overwrite=False` continues the same policy and makes exactly the proposals
an uninterrupted run would have made.

Example:

>>> import keras_tuner
>>> from kerasnas.oracles import ReinforceController
>>> oracle = ReinforceController(objective="val_accuracy", max_trials=50, seed=1)
>>> ppo = ReinforceController(objective="val_accuracy", max_trials=50, ppo=True, seed=1)
>>> irlas = ReinforceController(objective="val_accuracy", expert="auto", seed=1)
"""

from __future__ import annotations

import numpy as np

from kerasnas.oracles.base import ArchitectureOracle

_REWARDS = ("normalized", "raw")

#: Proposals per trial before a random unseen architecture is taken instead (the base
#: class's default is 100). A converged policy keeps proposing cells it has evaluated; every
#: `batch_size` cached answers cost a policy update (PPO: 4 steps of the NumPy network, ~5 ms
#: on a loaded 2-core CPU; it was ~10 ms with TensorFlow), so 100 tries would cost 12 updates,
#: ~60 ms per trial late in a search, and end in the random fallback all the same. 32 (four
#: sample batches) bounds that at four updates per trial.
DEFAULT_MAX_COLLISIONS = 32

#: lambda of the mirror stimuli reward (`expert=`): a perfect topology match is worth this many
#: moving absolute deviations of the fitness ("normalized" reward) over an average match. On
#: NAS-Bench-201 seeds 1000-1019 no weight of 0.3-10 measured better than another (all within
#: noise; benchmarks/README.md, "IRLAS"); 1 gives the term the scale of one deviation.
DEFAULT_MIRROR_WEIGHT = 1.0


class ReinforceController(ArchitectureOracle):
    """Policy-gradient search with an LSTM controller (REINFORCE, or PPO with `ppo=True`).

    Args:
        objective, max_trials, space, seed: See `ArchitectureOracle`.
        max_collisions: See `ArchitectureOracle` (default `DEFAULT_MAX_COLLISIONS`, 32).
        learning_rate: Adam step size of the controller (default 0.02).
        entropy_weight: Weight of the entropy bonus (default 1e-3).
        baseline_decay: Decay of the moving-average baseline and deviation (default 0.9).
        reward: `"normalized"` (default) or `"raw"`; see the module docstring.
        reward_scale: Multiplies the fitness when `reward="raw"` (default 1.0).
        advantage_clip: Bound on the absolute normalized advantage (default 3.0).
        units: LSTM width (default 32).
        embedding_dim: Token embedding size (default 32).
        temperature: Softmax temperature of the controller (default 1.0).
        tanh_constant: Logits are squashed to `±tanh_constant`, which keeps every
            choice at least a little likely; None turns it off (default 2.5, as in ENAS).
        ppo: Train with PPO's clipped surrogate instead of REINFORCE (default False).
        ppo_clip: PPO's clipping range epsilon (default 0.2).
        ppo_epochs: Gradient steps per PPO batch (default 4).
        batch_size: Observations per PPO update (default 8). REINFORCE updates
            before every proposal that follows a new result.
        sample_size: Architectures drawn per controller call (default 8). When
            the policy proposes architectures already evaluated, the base class
            answers them from its cache for free; those answers are trained on
            together, in one step per `sample_size` proposals, which bounds the
            controller's cost per trial.
        expert: IRLAS's expert for the topology reward: an `Architecture` of the
            space, its string, or `"auto"` (the space's ResNet-like design; a
            space without one raises `ValueError`). Default None: no topology
            reward. See the module docstring.
        mirror_weight: lambda, the weight of the mirror stimuli reward (default
            `DEFAULT_MIRROR_WEIGHT`, 1.0); used only with `expert`.
        **kwargs: Passed to `ArchitectureOracle` / `keras_tuner.Oracle`.

    Example:

    >>> from kerasnas.spaces.encodings import NB201Encoding
    >>> oracle = ReinforceController(objective="accuracy", space=NB201Encoding(), seed=0)
    >>> arch = oracle.propose()
    >>> oracle.observe(arch, 91.5)
    """

    def __init__(self, objective=None, max_trials=100, space=None, seed=None,
                 learning_rate=0.02, entropy_weight=1e-3, baseline_decay=0.9,
                 reward="normalized", reward_scale=1.0, advantage_clip=3.0, units=32,
                 embedding_dim=32, temperature=1.0, tanh_constant=2.5, ppo=False,
                 ppo_clip=0.2, ppo_epochs=4, batch_size=8, sample_size=8,
                 max_collisions=DEFAULT_MAX_COLLISIONS, expert=None,
                 mirror_weight=DEFAULT_MIRROR_WEIGHT, **kwargs):
        if reward not in _REWARDS:
            raise ValueError(f"reward must be one of {_REWARDS}, got {reward!r}.")
        if not 0.0 <= baseline_decay < 1.0:
            raise ValueError(f"baseline_decay must be in [0, 1), got {baseline_decay}.")
        for name, value in (("learning_rate", learning_rate), ("advantage_clip", advantage_clip),
                            ("temperature", temperature), ("ppo_clip", ppo_clip)):
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}.")
        for name, value in (("units", units), ("embedding_dim", embedding_dim),
                            ("ppo_epochs", ppo_epochs), ("batch_size", batch_size),
                            ("sample_size", sample_size)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if entropy_weight < 0:
            raise ValueError(f"entropy_weight must be >= 0, got {entropy_weight}.")
        if isinstance(mirror_weight, bool) or not isinstance(mirror_weight, (int, float)) \
                or not np.isfinite(mirror_weight) or mirror_weight < 0:
            raise ValueError(f"mirror_weight must be a finite number >= 0, got "
                             f"{mirror_weight!r}.")
        if expert is not None and not isinstance(expert, str) \
                and getattr(expert, "encoding", None) is None:
            raise ValueError(f"expert must be None, an Architecture of the space, its string or "
                             f"'auto'; got {expert!r}.")
        super().__init__(objective=objective, max_trials=max_trials, space=space, seed=seed,
                         max_collisions=max_collisions, **kwargs)
        self.learning_rate = float(learning_rate)
        self.entropy_weight = float(entropy_weight)
        self.baseline_decay = float(baseline_decay)
        self.reward = reward
        self.reward_scale = float(reward_scale)
        self.advantage_clip = float(advantage_clip)
        self.units = int(units)
        self.embedding_dim = int(embedding_dim)
        self.temperature = float(temperature)
        self.tanh_constant = tanh_constant
        self.ppo = bool(ppo)
        self.ppo_clip = float(ppo_clip)
        self.ppo_epochs = int(ppo_epochs)
        self.batch_size = int(batch_size)
        self.sample_size = int(sample_size)
        self._network = None
        self._pending_network_state = None
        self._baseline = None  # moving average of the (scaled) reward
        self._deviation = None  # moving average of |reward - baseline|
        self._batch: list[dict] = []  # observations awaiting the next policy update
        self._queue: list[list[int]] = []  # token sequences sampled but not proposed yet
        self._update_due = False
        self._observed: set[str] = set()  # str(arch) of every architecture observed
        self.updates = 0  # gradient steps taken
        self._saved_network = None  # (updates, encoded weights) of the last save
        self.expert = expert
        self.mirror_weight = float(mirror_weight)
        self._mirror = None  # the MirrorStimuli, built once the encoding is known
        self._pending_mirror = None  # its restored state, applied when it is built
        self._mirror_baseline = None  # m_b: moving average of the mirror stimuli score
        if expert is not None and space is not None:
            self.mirror  # noqa: B018 -- resolves the expert now: a bad one fails before searching

    # ------------------------------------------------------------ network
    @property
    def network(self):
        """The `ControllerNetwork`, built on first use once the encoding is known."""
        counts = [len(d.choices) for d in self.encoding.decisions]
        if self._network is None:
            pending = self._pending_network_state
            saved = pending.get("counts") if pending is not None else None
            # Saved before a Keras Tuner space grew (its decisions are a prefix of today's):
            # restore at the saved size, then grow. Any other mismatch fails in set_state.
            grew = saved is not None and list(counts[:len(saved)]) == list(saved)
            self._network = self._new_network(saved if grew else counts)
            if pending is not None:
                self._network.set_state(pending)
                self._pending_network_state = None
        if self._network.counts != counts:
            self._network = grow_network(self._network, self._new_network(counts))
            self._queue = []
        return self._network

    def _new_network(self, counts):
        from kerasnas.oracles.policy import ControllerNetwork

        return ControllerNetwork(
            counts, units=self.units, embedding_dim=self.embedding_dim,
            learning_rate=self.learning_rate, temperature=self.temperature,
            tanh_constant=self.tanh_constant, seed=_weight_seed(self.seed))

    @property
    def mirror(self):
        """The `MirrorStimuli` of `expert` (None without one), built once the encoding is known."""
        if self.expert is None:
            return None
        encoding = self.encoding
        if self._mirror is None or self._mirror.encoding.key != encoding.key:
            from kerasnas.oracles.mirror import MirrorStimuli

            expert = self.expert
            if not isinstance(expert, str) and expert.encoding.key != encoding.key \
                    and getattr(encoding, "name", None) == "keras_tuner":
                expert = str(expert)  # a user's build(hp) space grew since it was given
            self._mirror = MirrorStimuli(encoding, expert)
            if self._pending_mirror is not None:
                self._mirror.set_state(self._pending_mirror)
                self._pending_mirror = None
        return self._mirror

    def _mirror_score(self, arch):
        """m(x) of a result, and the agent's feature statistics updated (feature matching)."""
        score = self.mirror.score(arch)
        self.mirror.observe(arch)
        return score

    def _mirror_term(self, score):
        """mirror_weight * (m(x) - m_b), then m_b moved towards m(x)."""
        if self._mirror_baseline is None:
            self._mirror_baseline = score
            return 0.0
        term = self.mirror_weight * (score - self._mirror_baseline)
        decay = self.baseline_decay
        self._mirror_baseline = decay * self._mirror_baseline + (1 - decay) * score
        return term

    def _tokens_and_mask(self, arch):
        active = self.encoding.active(arch.as_dict())
        tokens = [d.index(v) for d, v in zip(self.encoding.decisions, arch.values, strict=True)]
        mask = [1.0 if d.name in active else 0.0 for d in self.encoding.decisions]
        return tokens, mask

    # ---------------------------------------------------------- algorithm
    def propose(self):
        if self.expert is not None:
            self.mirror  # noqa: B018 -- resolves the expert before the first trial runs
        if self._update_due:
            self._update()
        self.network  # noqa: B018 -- grows the policy (and drops stale samples) if the space grew
        if not self._queue:
            uniforms = self.rng.random((self.sample_size, len(self.encoding.decisions)))
            self._queue = self.network.sample(uniforms).tolist()
        tokens = self._queue.pop(0)
        return self.encoding.architecture(
            {d.name: d.choices[t] for d, t in zip(self.encoding.decisions, tokens, strict=True)})

    def observe(self, arch, fitness):
        tokens, mask = self._tokens_and_mask(arch)
        reward = float(fitness) * (self.reward_scale if self.reward == "raw" else 1.0)
        key = str(arch)
        fresh = key not in self._observed
        self._observed.add(key)
        mirror = self._mirror_score(arch) if self.expert is not None else None
        if self.ppo:
            observation = {"tokens": tokens, "mask": mask, "reward": reward}
            if mirror is not None:
                observation["mirror"] = mirror
            self._batch.append(observation)
            self._update_due = self._update_due or len(self._batch) >= self.batch_size
            return
        advantage = self._advantage(reward)
        self._track(reward)
        if mirror is not None:
            advantage += self._mirror_term(mirror)
        self._batch.append({"tokens": tokens, "mask": mask, "advantage": advantage})
        # A new result changes the policy before the next proposal; cached results answered
        # for repeated proposals are trained on together once the sample queue runs out.
        self._update_due = self._update_due or fresh or not self._queue

    def _update(self):
        """One policy update on the collected batch; drops samples drawn from the old policy."""
        self._update_due = False
        self._queue = []
        batch, self._batch = self._batch, []
        # Results observed before a Keras Tuner space grew lack its new decisions: they held
        # their defaults and take no gradient (mask 0).
        defaults = [d.index(d.default) for d in self.encoding.decisions]
        tokens = np.array([o["tokens"] + defaults[len(o["tokens"]):] for o in batch], "int32")
        mask = np.array([o["mask"] + [0.0] * (len(defaults) - len(o["mask"])) for o in batch],
                        "float32")
        if self.ppo:
            advantages = []
            for o in batch:
                advantage = self._advantage(o["reward"])
                self._track(o["reward"])
                if "mirror" in o:
                    advantage += self._mirror_term(o["mirror"])
                advantages.append(advantage)
            advantages = np.array(advantages, "float32")
            if not advantages.any():
                return
            self.network.ppo_update(tokens, mask, advantages, self.ppo_clip,
                                    self.entropy_weight, self.ppo_epochs)
            self.updates += self.ppo_epochs
            return
        advantages = np.array([o["advantage"] for o in batch], "float32")
        if advantages.any():
            self.network.reinforce_step(tokens, mask, advantages, self.entropy_weight)
            self.updates += 1

    def _advantage(self, reward):
        if self._baseline is None:
            return 0.0
        advantage = reward - self._baseline
        if self.reward == "normalized":
            scale = max(self._deviation, 1e-8 * max(1.0, abs(self._baseline)))
            advantage = float(np.clip(advantage / scale, -self.advantage_clip,
                                      self.advantage_clip))
        return advantage

    def _track(self, reward):
        """Moves the baseline b and the mean absolute deviation towards `reward`."""
        if self._baseline is None:
            self._baseline, self._deviation = reward, 0.0
            return
        decay = self.baseline_decay
        self._deviation = decay * self._deviation + (1 - decay) * abs(reward - self._baseline)
        self._baseline = decay * self._baseline + (1 - decay) * reward

    # -------------------------------------------------------------- state
    def get_algorithm_state(self):
        if self._network is not None:
            # Keras Tuner saves the oracle several times per trial; the weights only change
            # on updates, so they are encoded once per update.
            if (self._saved_network is None or self._saved_network[0] != self.updates
                    or self._saved_network[1]["counts"] != self._network.counts):
                self._saved_network = (self.updates, {**self._network.get_state(),
                                                      "counts": list(self._network.counts)})
            network = self._saved_network[1]
        else:
            network = self._pending_network_state
        state = {"network": network, "baseline": self._baseline, "deviation": self._deviation,
                 "batch": list(self._batch), "queue": list(self._queue),
                 "update_due": self._update_due, "observed": sorted(self._observed),
                 "updates": self.updates}
        if self.expert is not None:  # without the option, the state is as it always was
            stimuli = self._mirror.get_state() if self._mirror is not None \
                else self._pending_mirror
            state["mirror"] = {"baseline": self._mirror_baseline, "stimuli": stimuli}
        return state

    def set_algorithm_state(self, state):
        self._baseline = state["baseline"]
        self._deviation = state["deviation"]
        self._batch = [dict(o) for o in state["batch"]]
        self._queue = [list(t) for t in state["queue"]]
        self._update_due = bool(state["update_due"])
        self._observed = set(state["observed"])
        self.updates = int(state["updates"])
        self._saved_network = None
        mirror = state.get("mirror") if self.expert is not None else None
        self._mirror_baseline = mirror["baseline"] if mirror else None
        stimuli = mirror["stimuli"] if mirror else None
        if stimuli is not None and self._mirror is not None and self._space is not None:
            self._mirror.set_state(stimuli)
        else:
            self._mirror, self._pending_mirror = None, stimuli
        if state["network"] is None:
            self._network, self._pending_network_state = None, None
        elif (self._network is not None and self._space is not None
              and state["network"].get("counts", self._network.counts) == self._network.counts):
            self._network.set_state(state["network"])
        else:
            # The encoding may only be known once the tuner's hyperparameters are restored.
            self._network, self._pending_network_state = None, state["network"]


def _weight_seed(seed) -> int:
    """Seed of the controller's initial weights, derived from (not equal to) the oracle seed."""
    return int(np.random.SeedSequence([int(seed), 0x5EED]).generate_state(1)[0])


def grow_network(old, new):
    """`new` (built for a grown Keras Tuner space) carrying `old`'s policy for the decisions
    they share.

    Keras Tuner appends new hyperparameters, so the old decisions are a prefix of
    the new ones: their embedding rows, the start token, the LSTM weights and their
    output columns are copied; the new decisions keep `new`'s seeded initial
    weights. Adam's moments start again. If the old decisions are not a prefix,
    `new` is returned as built.
    """
    k = len(old.counts)
    if new.counts[:k] != old.counts:
        return new
    v = old.vocabulary
    new.embedding[:v] = old.embedding[:v]
    new.embedding[new.vocabulary] = old.embedding[v]  # the start token
    for name in ("kernel", "recurrent_kernel", "bias"):
        getattr(new, name)[...] = getattr(old, name)
    new.head_kernel[:, :v] = old.head_kernel
    new.head_bias[:v] = old.head_bias
    return new
