"""`CTNAS`: contrastive architecture search with a neural architecture comparator.

Chen et al., "Contrastive Neural Architecture Search with Neural Architecture
Comparators" (CVPR 2021). Instead of rewarding the controller with an
architecture's accuracy, CTNAS rewards it with the probability that the
sampled architecture beats a baseline architecture, as judged by a learned
comparator (NAC, `kerasnas.oracles.comparator.ArchitectureComparator`), and
improves the baseline as the search goes (the paper's "baseline updating",
a curriculum: the controller is always asked to beat the best it knows).

The loop, per proposal, once `num_initial_points` random architectures have
been evaluated (the comparator's first labelled pairs):

1. NAC training: when new results have arrived, `comparator_steps` Adam
   steps of binary cross-entropy on the pairs of evaluated architectures,
   label 1[f(a) > f(b)], warm-started from the previous weights;
2. baseline updating (the paper's `derive`): the baseline b becomes the
   architecture of {b, the best evaluated one, `baseline_samples`
   architectures sampled from the policy} with the highest mean
   P(a > others) among them;
3. policy learning: `policy_steps` cheap updates of the LSTM controller
   (`ReinforceController`'s NumPy `ControllerNetwork`, REINFORCE, or PPO with
   `ppo=True`), each on `sample_size` sampled architectures x with the
   reward r(x) = P(x > b) (the paper's reward) minus the batch's mean reward,
   divided by its standard deviation (a baseline against variance);
4. the proposal: among `num_candidates` architectures sampled from the
   updated policy, the unevaluated one the comparator prefers, argmax
   P(x > b). (The paper derives its final architecture as the one that wins
   most comparisons within a sample; here every trial is such a choice.)

Real evaluations train the comparator only; the controller learns from the
comparator, many steps per evaluation, which is the paper's point: the
comparator's rewards are free. A failed trial teaches nothing (it has no
score to compare).

Everything that moves is in the saved state: the controller (as in
`ReinforceController`), the comparator's weights, Adam moments and batch
generator, the baseline, and the count of results it was trained on, so a
search resumed with `overwrite=False` proposes exactly what an uninterrupted
one would. The comparator's network is built and compiled once per oracle and
every batch has a fixed shape (see `comparator.py`).

Example:

>>> from kerasnas.oracles import CTNAS
>>> oracle = CTNAS(objective="val_accuracy", max_trials=100, seed=1)
"""

from __future__ import annotations

import numpy as np

from kerasnas.oracles.comparator import (
    DEFAULT_BATCH_ARCHS,
    DEFAULT_HEAD_UNITS,
    DEFAULT_LAYERS,
    DEFAULT_LEARNING_RATE,
    DEFAULT_UNITS,
    ArchitectureComparator,
)
from kerasnas.oracles.controller import ReinforceController

#: Random architectures evaluated before the comparator is trained: its first pairs (10 give
#: 45 pairs; BayesianOptimization starts its GP after 10 too).
DEFAULT_INITIAL_POINTS = 10
#: Comparator training steps per new result (warm-started: after 100 results it has taken
#: 100 x this many steps). Each step costs about 5-15 ms on the loaded 2-core CPU.
DEFAULT_COMPARATOR_STEPS = 4
#: Controller updates on comparator rewards per proposal (about 2-4 ms each).
DEFAULT_POLICY_STEPS = 5
#: Architectures sampled from the policy among which the comparator picks the proposal.
DEFAULT_CANDIDATES = 100
#: Policy samples competing with the baseline at each update (the reference code derives
#: from 10 samples).
DEFAULT_BASELINE_SAMPLES = 10

# ReinforceController's options about the reward of real results, which CTNAS does not use.
_UNUSED = ("reward", "reward_scale", "baseline_decay", "advantage_clip", "batch_size",
           "expert", "mirror_weight")


class CTNAS(ReinforceController):
    """Contrastive NAS: an LSTM controller rewarded by a comparator's P(sample > baseline).

    Args:
        objective, max_trials, space, seed: See `ArchitectureOracle`.
        num_initial_points: Random architectures before the comparator takes over
            (default `DEFAULT_INITIAL_POINTS`, 10).
        comparator_steps: Comparator training steps per new result
            (default `DEFAULT_COMPARATOR_STEPS`, 4).
        policy_steps: Controller updates on comparator rewards per proposal
            (default `DEFAULT_POLICY_STEPS`, 5).
        num_candidates: Policy samples the proposal is chosen from
            (default `DEFAULT_CANDIDATES`, 100).
        baseline_samples: Policy samples that compete with the baseline when it is
            updated (default `DEFAULT_BASELINE_SAMPLES`, 10).
        comparator_units, comparator_num_layers, comparator_head_units,
        comparator_learning_rate, comparator_batch_archs: The comparator's `units`,
            `num_layers`, `head_units`, `learning_rate` and `batch_archs` (defaults
            those of `ArchitectureComparator`: 32, 3, 32, 2e-3, 32).
        learning_rate, entropy_weight, units, embedding_dim, temperature,
        tanh_constant, ppo, ppo_clip, ppo_epochs, sample_size: The controller's,
            as in `ReinforceController` (`sample_size` is the batch of each
            policy update).
        **kwargs: Passed to `ArchitectureOracle` (`max_collisions`, `warm_start`, ...).
            `ReinforceController`'s options about the reward of real results
            (`reward`, `reward_scale`, `baseline_decay`, `advantage_clip`,
            `batch_size`, `expert`, `mirror_weight`) do not apply and raise.

    Example:

    >>> from kerasnas.spaces.encodings import NB201Encoding
    >>> oracle = CTNAS(objective="accuracy", space=NB201Encoding(), seed=0)
    >>> arch = oracle.propose()  # random until num_initial_points results exist
    >>> oracle.observe(arch, 91.5)
    """

    def __init__(self, objective=None, max_trials=100, space=None, seed=None,
                 num_initial_points=DEFAULT_INITIAL_POINTS,
                 comparator_steps=DEFAULT_COMPARATOR_STEPS, policy_steps=DEFAULT_POLICY_STEPS,
                 num_candidates=DEFAULT_CANDIDATES, baseline_samples=DEFAULT_BASELINE_SAMPLES,
                 comparator_units=DEFAULT_UNITS, comparator_num_layers=DEFAULT_LAYERS,
                 comparator_head_units=DEFAULT_HEAD_UNITS,
                 comparator_learning_rate=DEFAULT_LEARNING_RATE,
                 comparator_batch_archs=DEFAULT_BATCH_ARCHS, **kwargs):
        unused = [name for name in _UNUSED if name in kwargs]
        if unused:
            raise ValueError(f"CTNAS does not take {', '.join(unused)}: its controller's reward "
                             "is the comparator's P(sample > baseline), not the evaluated "
                             "score. Use ReinforceController for those options.")
        for name, value, low in (("num_initial_points", num_initial_points, 2),
                                 ("comparator_steps", comparator_steps, 1),
                                 ("policy_steps", policy_steps, 0),
                                 ("num_candidates", num_candidates, 1),
                                 ("baseline_samples", baseline_samples, 0)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name} must be an int >= {low}; got {value!r}.")
        super().__init__(objective=objective, max_trials=max_trials, space=space, seed=seed,
                         **kwargs)
        self.num_initial_points = int(num_initial_points)
        self.comparator_steps = int(comparator_steps)
        self.policy_steps = int(policy_steps)
        self.num_candidates = int(num_candidates)
        self.baseline_samples = int(baseline_samples)
        self._comparator_args = {"units": comparator_units, "num_layers": comparator_num_layers,
                                 "head_units": comparator_head_units,
                                 "learning_rate": comparator_learning_rate,
                                 "batch_archs": comparator_batch_archs}
        # Checked now (bad values raise here), built on first use (the encoding may not be
        # known yet; building imports Keras).
        try:
            ArchitectureComparator.check_arguments(**self._comparator_args)
        except ValueError as err:
            raise ValueError(f"comparator_{err}") from None
        self._comparator = None
        self._pending_comparator = None  # a restored state, applied when it is built
        self._fitted_at = 0  # results the comparator has been trained on
        self._baseline_arch: str | None = None  # b, as a string
        self._parsed: dict[str, object] = {}  # str(arch) -> Architecture of the results

    # --------------------------------------------------------- comparator
    @property
    def comparator(self) -> ArchitectureComparator:
        """The `ArchitectureComparator`, built on first use once the encoding is known."""
        encoding = self.encoding
        if self._comparator is not None and self._comparator.encoding.key != encoding.key:
            # A Keras Tuner build(hp) space grew: its graphs change; train afresh on everything.
            self._comparator, self._fitted_at, self._baseline_arch = None, 0, None
        if self._comparator is None:
            self._comparator = ArchitectureComparator(
                encoding, seed=_comparator_seed(self.seed), **self._comparator_args)
            if self._pending_comparator is not None:
                self._comparator.set_state(self._pending_comparator)
                self._pending_comparator = None
        return self._comparator

    def _results(self):
        """The evaluated architectures and their fitness, in the order they finished."""
        archs = []
        for key in self._fitness:
            arch = self._parsed.get(key)
            if arch is None or arch.encoding is not self.encoding:
                arch = self._parsed[key] = self.encoding.from_string(key)
            archs.append(arch)
        return archs, np.fromiter(self._fitness.values(), np.float64, len(archs))

    def _arch(self, tokens):
        return self.encoding.architecture(
            {d.name: d.choices[t] for d, t in zip(self.encoding.decisions, tokens, strict=True)})

    def _sample(self, count):
        """`count` token sequences from the policy and their architectures."""
        uniforms = self.rng.random((count, len(self.encoding.decisions)))
        tokens = self.network.sample(uniforms)
        return tokens, [self._arch(t) for t in tokens]

    # ---------------------------------------------------------- algorithm
    def propose(self):
        archs, scores = self._results()
        if len(archs) < self.num_initial_points or np.all(scores == scores[0]):
            return self._random_unseen()
        if len(archs) != self._fitted_at:
            self.comparator.fit(archs, scores, steps=self.comparator_steps)  # 1. NAC training
            self._fitted_at = len(archs)
            self._update_baseline(archs, scores)  # 2. baseline updating
        baseline = self.encoding.from_string(self._baseline_arch)
        for _ in range(self.policy_steps):  # 3. policy learning on comparator rewards
            self._policy_step(baseline)
        return self._select(baseline)  # 4. the comparator's choice among policy samples

    def observe(self, arch, fitness):
        """Nothing to do: results train the comparator at the next proposal."""

    def _update_baseline(self, archs, scores):
        candidates = [archs[int(np.argmax(scores))]]
        if self._baseline_arch is not None:
            candidates.append(self.encoding.from_string(self._baseline_arch))
        if self.baseline_samples:
            candidates += self._sample(self.baseline_samples)[1]
        candidates = list({str(a): a for a in candidates}.values())
        self._baseline_arch = str(candidates[int(np.argmax(self.comparator.score(candidates)))])

    def _policy_step(self, baseline):
        tokens, archs = self._sample(self.sample_size)
        reward = self.comparator.prob(archs, [baseline] * len(archs))  # r(x) = P(x > b)
        spread = reward.std()
        if not spread > 1e-12:
            return
        advantages = ((reward - reward.mean()) / spread).astype("float32")
        masks = np.array([self._tokens_and_mask(a)[1] for a in archs], "float32")
        if self.ppo:
            self.network.ppo_update(tokens, masks, advantages, self.ppo_clip,
                                    self.entropy_weight, self.ppo_epochs)
            self.updates += self.ppo_epochs
        else:
            self.network.reinforce_step(tokens, masks, advantages, self.entropy_weight)
            self.updates += 1

    def _select(self, baseline):
        _, archs = self._sample(self.num_candidates)
        fresh = list({str(a): a for a in archs if not self.is_known(a)}.values())
        if not fresh:  # the policy has converged on evaluated architectures
            return self._random_unseen()
        p = self.comparator.prob(fresh, [baseline] * len(fresh))
        return fresh[int(np.argmax(p))]

    # -------------------------------------------------------------- state
    def get_algorithm_state(self):
        state = super().get_algorithm_state()
        if self._comparator is not None:
            comparator = self._comparator.get_state()
        else:
            comparator = self._pending_comparator
        state["ctnas"] = {"comparator": comparator, "fitted_at": self._fitted_at,
                          "baseline": self._baseline_arch}
        return state

    def set_algorithm_state(self, state):
        super().set_algorithm_state(state)
        ours = state["ctnas"]
        self._fitted_at = int(ours["fitted_at"])
        self._baseline_arch = ours["baseline"]
        self._parsed = {}
        if ours["comparator"] is None:
            self._comparator, self._pending_comparator = None, None
        elif self._comparator is not None and self._space is not None:
            self._comparator.set_state(ours["comparator"])
        else:
            # The encoding may only be known once the tuner's hyperparameters are restored.
            self._comparator, self._pending_comparator = None, ours["comparator"]


def _comparator_seed(seed) -> int:
    """Seed of the comparator (weights, batches), derived from (not equal to) the oracle seed."""
    return int(np.random.SeedSequence([int(seed), 0xC7A5]).generate_state(1)[0])
