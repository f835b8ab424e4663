"""Bad inputs to pgkit's array-level public functions (issue 12, "Tests that keep it so").

Every public function of the modules in ``MODULES`` has a small valid call in ``VALID``
(or a reason in ``EXCLUDED``); each argument of that call is then mutated by category
(swapped bool/float, complex, NaN/inf, extreme values, wrong shapes, empty, wrong Python
types, numpy scalars, float16/bfloat16 tensors, bad seeds). A mutated call must either
raise ``ValueError``/``TypeError`` whose message names the argument, or return a finite
result shaped like the valid call's (equal to it for numpy scalars). A new public function
fails ``test_every_public_function_is_covered`` until it is added to one of the two tables.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

MODULES = (
    "pgkit.returns",
    "pgkit.losses",
    "pgkit.estimators",
    "pgkit.importance",
    "pgkit.analytic_problems",
    "pgkit.objective",
    "pgkit.td",
    "pgkit.critic",
    "pgkit.variance",
    "pgkit.trust_region",
    "pgkit.conjugate_gradient",
    "pgkit.validation",
    "pgkit.seeds",
    "pgkit.claims",
    "pgkit.policies",
    "pgkit.tabular",
)

# Whole modules left out, one line each: slow, or they need environments, files or a browser.
EXCLUDED_MODULES = {
    "pgkit.algos": "whole training runs (seconds to minutes each); tested in test_algos",
    "pgkit.envs": "environments, exercised through rollouts in test_envs",
    "pgkit.rollout": "needs an environment and a policy; tested in test_rollout",
    "pgkit.vec_env": "builds and resets environments; tested in test_rollout",
    "pgkit.plotting": "figures, not arrays; tested in test_plotting",
    "pgkit.curves": "learning curves of training runs; tested in test_plotting",
    "pgkit.sweeps": "runs training sweeps in processes; tested in test_sweeps",
    "pgkit.sweep_jobs": "jobs of a sweep, each a training run; tested in test_sweeps",
    "pgkit.sweep_results": "reads and writes sweep folders; tested in test_sweeps",
    "pgkit.checkpoints": "reads and writes run folders; tested in test_checkpoints",
    "pgkit.staging": "writes run folders whole; tested in test_checkpoints and test_interruptions",
    "pgkit.cli": "the command line; tested in test_cli",
    "pgkit.cli_train": "the train command; tested in test_cli and test_interruptions",
    "pgkit.signals": "signal handlers of the train command; tested in test_interruptions",
    "pgkit.exercises": "checkers of the reader's code; tested in tests/exercises/",
    "pgkit.workbook": "writes notebooks (kept at its former path); tested in test_workbook",
    "pgkit.files": "writes files atomically; tested through test_checkpoints and test_interruptions",
}

EXCLUDED = {
    "pgkit.analytic_problems.GaussianQuadratic": "a class (toy problem), not an array function",
    "pgkit.analytic_problems.SoftmaxBandit": "a class (toy problem), not an array function",
    "pgkit.trust_region.LineSearchResult": "a result dataclass with no validation of its own",
    "pgkit.tabular.Episodes": "a result dataclass with no validation of its own",
    "pgkit.objective.episode_returns": "runs episodes in a gymnasium environment",
    "pgkit.policies.make_policy": "takes gymnasium spaces; tested in test_policies",
    "pgkit.policies.observation_dim": "takes a gymnasium space; tested in test_policies",
    "pgkit.policies.unchecked_distributions": "a context manager without arguments",
    "pgkit.td.tabular_episodes": "runs episodes in an environment",
    "pgkit.seeds.run_seeds": "starts worker processes",
    "pgkit.validation.endless_episode_error": "builds an error message; has no checks to test",
    "pgkit.validation.is_torch": "a predicate that is total: any object is a valid input",
    # The check_* helpers each test one property of an array that to_numpy already made; the
    # other categories are not theirs to catch. Each error path is tested in test_validation,
    # and every function above that uses them is walked here.
    "pgkit.validation.check_not_flags": "checks one property; see the comment above",
    "pgkit.validation.check_time_major": "checks one property; see the comment above",
    "pgkit.validation.check_same_shape": "checks one property; see the comment above",
    "pgkit.validation.check_finite": "checks one property; see the comment above",
    "pgkit.validation.check_no_overflow": "checks one property; see the comment above",
    "pgkit.validation.check_float_tensor": "checks one property; see the comment above",
    "pgkit.validation.check_flag": "checks one property; see the comment above",
    "pgkit.validation.check_bool_flags": "checks one property; see the comment above",
    "pgkit.validation.check_callable": "checks one property; see the comment above",
    "pgkit.validation.as_tensor_list": "checks one property; see the comment above",
}


def public_functions() -> list[str]:
    """Every public callable of ``MODULES``: ``__all__``, else what the module defines."""
    names = []
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        public = getattr(module, "__all__", None)
        if public is None:
            public = [
                n
                for n, v in vars(module).items()
                if not n.startswith("_")
                and callable(v)
                and getattr(v, "__module__", None) == module_name
            ]
        names += [f"{module_name}.{n}" for n in public]
    return names


def resolve(qualname: str) -> Callable[..., Any]:
    module_name, name = qualname.rsplit(".", 1)
    return getattr(importlib.import_module(module_name), name)


# --- valid example calls -------------------------------------------------------------------
# Every scalar is exactly representable in float32, so np.float32(x) must give the same answer.
T = 6


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _arrays() -> dict[str, np.ndarray]:
    rng = _rng()
    terminated = np.zeros(T, dtype=bool)
    terminated[2] = True
    truncated = np.zeros(T, dtype=bool)
    truncated[4] = True
    return {
        "rewards": rng.normal(size=T),
        "values": rng.normal(size=T),
        "next_values": rng.normal(size=T),
        "terminated": terminated,
        "truncated": truncated,
        "dones": terminated | truncated,
    }


def _tensors(n: int = 8) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "log_probs": -torch.rand(n, generator=g) - 0.1,
        "old_log_probs": -torch.rand(n, generator=g) - 0.1,
        "advantages": torch.randn(n, generator=g),
        "values": torch.randn(n, generator=g),
        "returns": torch.randn(n, generator=g),
        "entropy": torch.rand(n, generator=g),
        "weights": torch.randn(n, generator=g),
    }


def _pick(d: dict[str, Any], *names: str) -> dict[str, Any]:
    return {n: d[n] for n in names}


def _theta() -> torch.Tensor:
    return torch.tensor([0.25, -0.5, 0.0], requires_grad=True)


def _categorical(theta: torch.Tensor) -> torch.distributions.Distribution:
    return torch.distributions.Categorical(logits=theta)


def _graph() -> tuple[torch.Tensor, list[torch.Tensor]]:
    theta = _theta()
    loss = (theta**2).sum() + theta[0]
    return loss, [theta]


def _episode_gradients() -> dict[str, Any]:
    theta = _theta()
    log_probs = _categorical(theta).log_prob(torch.tensor([0, 1, 2, 0, 1, 2]))
    a = _arrays()
    return {
        "log_probs": log_probs,
        "weights": a["rewards"],
        "dones": a["dones"],
        "params": [theta],
    }


def _fvp() -> dict[str, Any]:
    theta = _theta()
    old = _categorical(theta.detach())
    return {
        "kl_fn": lambda: torch.distributions.kl_divergence(old, _categorical(theta)),
        "params": [theta],
        "damping": 0.125,
    }


def _spd_matvec(v: torch.Tensor) -> torch.Tensor:
    a = torch.tensor([[2.0, 0.5, 0.0], [0.5, 1.0, 0.25], [0.0, 0.25, 1.5]])
    return a @ v


def _estimate(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=3)


gamma, lam = 0.75, 0.5


def _tabular_mdp_args() -> dict[str, Any]:
    transitions = np.zeros((2, 2, 2))
    transitions[:, 0, 0] = transitions[:, 1, 1] = 0.75  # the episode ends with probability 0.25
    return {
        "transitions": transitions,
        "rewards": np.array([[1.0, 0.0], [0.0, 2.0]]),
        "initial": np.array([0.5, 0.5]),
        "gamma": gamma,
    }


def _on_chain() -> dict[str, Any]:
    """A three-state chain (the last state terminal) and logits for it."""
    mdp = importlib.import_module("pgkit.tabular").chain_mdp(n_states=3, gamma=gamma, slip=0.25)
    return {"mdp": mdp, "theta": np.array([[0.25, -0.5], [0.0, 0.5], [0.5, 0.0]])}


# Each entry builds fresh keyword arguments (autograd graphs cannot be reused).
VALID: dict[str, Callable[[], dict[str, Any]]] = {
    "pgkit.validation.check_number": lambda: {"name": "value", "value": 0.5},
    "pgkit.validation.check_int": lambda: {"name": "value", "value": 3},
    "pgkit.validation.check_seed": lambda: {"name": "value", "value": 3},
    "pgkit.validation.check_hidden": lambda: {"hidden": [8, 8]},
    # a network is judged by its output for one observation of size 3 (see _leaves)
    "pgkit.policies.mlp": lambda: {"in_dim": 3, "out_dim": 2, "hidden": [8], "output_gain": 1.0},
    "pgkit.policies.CategoricalPolicy": lambda: {"obs_dim": 3, "n_actions": 2, "hidden": [8]},
    "pgkit.policies.GaussianPolicy": lambda: {
        "obs_dim": 3,
        "act_dim": 2,
        "hidden": [8],
        "log_std_init": 0.0,
    },
    "pgkit.policies.ValueFunction": lambda: {"obs_dim": 3, "hidden": [8]},
    "pgkit.returns.discounted_returns": lambda: {
        **_pick(_arrays(), "rewards", "dones"),
        "gamma": gamma,
    },
    "pgkit.returns.trajectory_returns": lambda: {
        **_pick(_arrays(), "rewards", "dones"),
        "gamma": gamma,
    },
    "pgkit.returns.gae": lambda: {
        **_pick(_arrays(), "rewards", "values", "next_values", "terminated", "truncated"),
        "gamma": gamma,
        "lam": lam,
    },
    "pgkit.returns.lambda_returns": lambda: {
        **_pick(_arrays(), "rewards", "values", "next_values", "terminated", "truncated"),
        "gamma": gamma,
        "lam": lam,
    },
    "pgkit.returns.n_step_returns": lambda: {
        **_pick(_arrays(), "rewards", "next_values", "terminated", "truncated"),
        "gamma": gamma,
        "n": 3,
    },
    "pgkit.td.td_errors": lambda: {
        **_pick(_arrays(), "rewards", "values", "next_values", "terminated"),
        "gamma": gamma,
    },
    "pgkit.returns.normalize_advantages": lambda: {
        "advantages": _tensors()["advantages"],
        "eps": 0.125,
    },
    "pgkit.losses.approx_kl": lambda: _pick(_tensors(), "log_probs", "old_log_probs"),
    "pgkit.losses.clip_fraction": lambda: {
        **_pick(_tensors(), "log_probs", "old_log_probs"),
        "clip": 0.25,
    },
    "pgkit.losses.entropy_bonus": lambda: _pick(_tensors(), "entropy"),
    "pgkit.losses.policy_gradient_loss": lambda: _pick(_tensors(), "log_probs", "weights"),
    "pgkit.losses.ppo_clip_loss": lambda: {
        **_pick(_tensors(), "log_probs", "old_log_probs", "advantages"),
        "clip": 0.25,
    },
    "pgkit.losses.value_loss": lambda: _pick(_tensors(), "values", "returns"),
    "pgkit.importance.importance_weights": lambda: _pick(_tensors(), "log_probs", "old_log_probs"),
    "pgkit.importance.importance_weighted_loss": lambda: _pick(
        _tensors(), "log_probs", "old_log_probs", "advantages"
    ),
    "pgkit.importance.importance_weighted_objective": lambda: _pick(
        _tensors(), "log_probs", "old_log_probs", "advantages"
    ),
    "pgkit.importance.per_decision_returns": lambda: {
        **_pick(_arrays(), "rewards", "dones"),
        **_pick(_tensors(T), "log_probs", "old_log_probs"),
        "gamma": gamma,
    },
    "pgkit.importance.trajectory_importance_weights": lambda: {
        **_pick(_tensors(T), "log_probs", "old_log_probs"),
        "dones": _arrays()["dones"],
    },
    "pgkit.estimators.surrogate_loss": lambda: _pick(_tensors(), "log_probs", "weights"),
    "pgkit.variance.flat_grad": lambda: dict(zip(("loss", "params"), _graph(), strict=True)),
    "pgkit.estimators.per_sample_scores": lambda: {
        "dist_fn": _categorical,
        "params": _theta(),
        "samples": torch.tensor([0, 1, 2, 1]),
    },
    "pgkit.estimators.score_function_gradient": lambda: {
        "dist_fn": _categorical,
        "params": _theta(),
        "samples": torch.tensor([0, 1, 2, 1]),
        "weights": np.array([1.0, -0.5, 0.25, 2.0]),
    },
    "pgkit.variance.gradient_variance": lambda: {
        "estimate_fn": _estimate,
        "repeats": 4,
        "seed": 3,
    },
    "pgkit.objective.mc_estimate": lambda: {"returns": _arrays()["rewards"]},
    "pgkit.critic.explained_variance": lambda: {
        **_pick(_arrays(), "values"),
        "targets": _arrays()["rewards"],
    },
    "pgkit.critic.fit_linear_values": lambda: {
        "features": np.eye(3)[np.arange(T) % 3],
        "targets": _arrays()["rewards"],
    },
    "pgkit.td.n_step_td_episode": lambda: {
        "values": np.zeros(5),
        "states": np.array([2, 3, 2, 1, 0]),
        "rewards": np.array([0.0, 0.5, 0.0, 1.0]),
        "gamma": gamma,
        "n": 2,
        "alpha": 0.5,
    },
    "pgkit.variance.episode_gradients": _episode_gradients,
    "pgkit.trust_region.categorical_fisher": lambda: {
        "probs": torch.tensor([0.25, 0.5, 0.25]),
    },
    "pgkit.trust_region.kl_step_scale": lambda: {
        "direction": torch.tensor([1.0, -0.5, 0.25]),
        "fisher_direction": torch.tensor([2.0, -0.5, 0.5]),
        "max_kl": 0.0625,
    },
    "pgkit.conjugate_gradient.conjugate_gradient": lambda: {
        "matvec": _spd_matvec,
        "b": torch.tensor([1.0, -0.5, 0.25]),
        "iters": 3,
    },
    "pgkit.trust_region.fisher_vector_product": _fvp,
    "pgkit.trust_region.natural_step": lambda: {
        "grad": torch.tensor([1.0, -0.5, 0.25]),
        "fvp": _spd_matvec,
        "max_kl": 0.0625,
        "cg_iters": 3,
    },
    "pgkit.trust_region.backtracking_line_search": lambda: {
        "evaluate": lambda step: (float(step.sum()) + 1.0, float((step**2).sum())),
        "step": torch.tensor([0.5, -0.25, 0.25]),
        "max_kl": 0.0625,
        "shrink": 0.5,
        "max_backtracks": 3,
    },
    "pgkit.validation.to_numpy": lambda: {
        "x": _arrays()["rewards"],
        "name": "x",
        "dtype": np.float64,
    },
    "pgkit.validation.check_unit_interval": lambda: {"name": "value", "value": 0.75},
    "pgkit.validation.check_positive_int": lambda: {"name": "value", "value": 3},
    "pgkit.tabular.TabularMDP": _tabular_mdp_args,
    "pgkit.tabular.chain_mdp": lambda: {"n_states": 3, "gamma": gamma, "slip": 0.25},
    "pgkit.tabular.two_state_mdp": lambda: {"gamma": gamma, "termination": 0.25},
    "pgkit.tabular.policy": lambda: _on_chain(),
    "pgkit.tabular.values": lambda: _on_chain(),
    "pgkit.tabular.q_values": lambda: _on_chain(),
    "pgkit.tabular.objective": lambda: _on_chain(),
    "pgkit.tabular.visitation": lambda: _on_chain(),
    "pgkit.tabular.gradient": lambda: _on_chain(),
    "pgkit.tabular.finite_horizon_values": lambda: {**_on_chain(), "horizon": 4},
    "pgkit.tabular.finite_horizon_optimal": lambda: {"mdp": _on_chain()["mdp"], "horizon": 4},
    "pgkit.tabular.scores": lambda: {
        **_on_chain(),
        "states": np.array([[0, 1], [1, 0]]),
        "actions": np.array([[1, 1], [0, 1]]),
    },
    # episodes that never end, so every draw has T = max_length (the shape a mutation must keep)
    "pgkit.tabular.sample_episodes": lambda: {
        "mdp": importlib.import_module("pgkit.tabular").two_state_mdp(gamma=gamma),
        "theta": np.array([[0.25, -0.5], [0.0, 0.5]]),
        "episodes": 4,
        "max_length": 5,
        "seed": 3,
    },
    "pgkit.seeds.seed_offset": dict,
    "pgkit.seeds.book_seed": lambda: {"base": 3},
    "pgkit.seeds.book_seeds": lambda: {"n": 3, "start": 1},
    "pgkit.claims.claim": lambda: {
        "statement": "it is large",
        "measured": np.array([2.0, 3.0]),
        "op": ">",
        "threshold": 1.0,
    },
}

# Arguments whose value is not data: the ``name`` the validation helpers put in their
# messages, and a claim's printed statement; any string is valid there. to_numpy's dtype
# is numpy's own dtype specification (None meaning "keep"), worded by numpy. The valid calls pass
# each helper's own parameter name as ``name``, so "the message names the argument" holds
# for the helpers exactly as for the functions that use them.
NOT_DATA = {"name", "statement", "dtype"}
# Functions whose only array argument may take any shape (nothing must match it), and single
# arguments ("function.argument") whose shape is free: a value table's size is the number of
# states, not T; a one-element loss is a scalar loss.
FREE_SHAPE = {
    "pgkit.td.n_step_td_episode.values",
    "pgkit.variance.flat_grad.loss",
    "pgkit.returns.normalize_advantages",
    "pgkit.losses.entropy_bonus",
    "pgkit.objective.mc_estimate",
    "pgkit.trust_region.categorical_fisher",
    "pgkit.validation.to_numpy",
    "pgkit.validation.check_not_flags",
    "pgkit.validation.check_finite",
    "pgkit.claims.claim",
}
# Arguments handed unchanged to a function the caller supplied: only that function knows
# which shapes it takes (the logits of dist_fn, the vectors of matvec), so an error it raises
# for a reshaped value is the caller's, not one pgkit could word.
CALLER_SHAPED = {
    "pgkit.estimators.per_sample_scores.params",
    "pgkit.estimators.score_function_gradient.params",
    "pgkit.conjugate_gradient.conjugate_gradient.b",
    "pgkit.trust_region.natural_step.grad",
    "pgkit.trust_region.backtracking_line_search.step",
}
SHAPE_CATEGORIES = {"drop_dim", "add_dim", "length", "empty"}
# Categories that do not apply to one function's argument, with the reason.
NOT_APPLICABLE = {
    # to_numpy converts; finiteness is check_finite's job, called after it where it matters.
    ("pgkit.validation.to_numpy", "x", "nan"),
    ("pgkit.validation.to_numpy", "x", "inf"),
    # an output gain of 1e300 is a finite number; the layer it scales overflows, as asked
    ("pgkit.policies.mlp", "output_gain", "extreme"),
}


# --- mutations -----------------------------------------------------------------------------
# A mutation is (category, function from the valid value to the bad one, rule), rule one of
# "error" (must raise naming the argument), "finite" (raise, or finite result of the valid
# shape), "any_shape" (raise, or finite result) and "equal" (finite and equal to the valid).


def _with_nan(v: Any, bad: float) -> Any:
    v = v.detach().clone() if isinstance(v, torch.Tensor) else np.array(v, dtype=float)
    v.reshape(-1)[0] = bad
    return v


def _extreme(v: Any) -> Any:
    if isinstance(v, torch.Tensor):
        return v.detach() * torch.finfo(v.dtype).max / 2
    return np.asarray(v) * np.finfo(float).max / 2


def _at_float_max(v: Any) -> Any:
    """Every entry at the largest finite magnitude of its dtype, keeping its sign."""
    if isinstance(v, torch.Tensor):
        return torch.where(v.detach() < 0, -1.0, 1.0).to(v.dtype) * torch.finfo(v.dtype).max
    v = np.asarray(v, dtype=float)
    return np.where(v < 0, -1.0, 1.0) * np.finfo(float).max


def mutations(qualname: str, arg: str, value: Any) -> list[tuple[str, Callable, str]]:
    free = qualname in FREE_SHAPE or f"{qualname}.{arg}" in FREE_SHAPE | CALLER_SHAPED
    shape_rule = "any_shape" if free else "error"
    wrong_types = [
        ("none", lambda v: None, "error"),
        ("string", lambda v: "abc", "error"),
        ("list_of_strings", lambda v: ["a", "b"], "error"),
    ]
    if arg in NOT_DATA:
        return []
    if isinstance(value, bool):
        return wrong_types[:2]
    if arg == "seed" or arg == "base":
        return [
            ("negative_seed", lambda v: -1, "error"),
            ("float_seed", lambda v: 1.5, "error"),
            ("bool_seed", lambda v: True, "error"),
            ("np_int64", lambda v: np.int64(v), "equal"),
            *wrong_types[:2],
        ]
    if isinstance(value, int):
        return [
            ("np_int64", lambda v: np.int64(v), "equal"),
            ("float", lambda v: v + 0.5, "error"),
            ("bool", lambda v: True, "error"),
            ("negative", lambda v: -v, "finite"),
            *wrong_types[:2],
        ]
    if isinstance(value, float):
        return [
            ("np_float32", lambda v: np.float32(v), "equal"),
            ("nan", lambda v: float("nan"), "finite"),
            ("inf", lambda v: float("inf"), "finite"),
            ("extreme", lambda v: 1e300, "finite"),
            ("complex", lambda v: complex(v, 1.0), "error"),
            ("bool", lambda v: True, "error"),
            *wrong_types[:2],
        ]
    if isinstance(value, (np.ndarray, torch.Tensor)):
        is_tensor = isinstance(value, torch.Tensor)
        if value.dtype in (bool, torch.bool):
            return [
                ("float_for_flags", lambda v: np.full(np.shape(v), 0.5), "error"),
                ("drop_dim", lambda v: v[0], shape_rule),
                ("add_dim", lambda v: v[None], shape_rule),
                ("length", lambda v: v[:-1], shape_rule),
                ("empty", lambda v: v[:0], shape_rule),
                *wrong_types,
            ]
        if not (value.is_floating_point() if is_tensor else value.dtype.kind == "f"):
            return [("drop_dim", lambda v: v[0], shape_rule), *wrong_types]  # integer samples
        cases = [
            ("bool_for_floats", lambda v: v > 0, "error"),
            (
                "complex",
                lambda v: v.detach().to(torch.complex64) if is_tensor else v.astype(complex),
                "error",
            ),
            ("nan", lambda v: _with_nan(v, float("nan")), "finite"),
            ("inf", lambda v: _with_nan(v, float("inf")), "finite"),
            ("extreme", _extreme, "finite"),
            ("extreme_max", _at_float_max, "finite"),
            ("drop_dim", lambda v: v[0], shape_rule),
            ("add_dim", lambda v: v[None], shape_rule),
            ("length", lambda v: v[:-1], shape_rule),
            ("empty", lambda v: v[:0], shape_rule),
            *wrong_types,
        ]
        if is_tensor and not value.requires_grad:
            cases += [
                ("float16", lambda v: v.half(), "finite"),
                ("bfloat16", lambda v: v.bfloat16(), "finite"),
            ]
        return cases
    if callable(value) or isinstance(value, list):
        return wrong_types[:2]
    return []


def _cases() -> list[Any]:
    cases = []
    for qualname, make in VALID.items():
        for arg, value in make().items():
            for category, mutate, rule in mutations(qualname, arg, value):
                if (qualname, arg, category) in NOT_APPLICABLE:
                    continue
                if category in SHAPE_CATEGORIES and np.ndim(value) == 0:
                    continue  # a scalar tensor has no leading dimension to drop or cut
                case_id = f"{qualname.split('.', 1)[1]}-{arg}-{category}"
                marks = XFAIL.get(case_id)
                params = (qualname, arg, category, mutate, rule)
                cases.append(pytest.param(*params, id=case_id, marks=marks or ()))
    return cases


# Real defects not fixed yet, each listed by case id (strict: a fixed one must be removed).
XFAIL: dict[str, Any] = {}


# --- results -------------------------------------------------------------------------------


def _leaves(result: Any) -> list[Any]:
    if isinstance(result, torch.Tensor):
        return [result.detach().float().cpu().numpy()]
    if isinstance(result, (np.ndarray, np.number, float, int)) and not isinstance(result, bool):
        return [np.asarray(result, dtype=float)]
    if isinstance(result, (tuple, list)):
        return [leaf for item in result for leaf in _leaves(item)]
    if dataclasses.is_dataclass(result):
        return _leaves([getattr(result, f.name) for f in dataclasses.fields(result)])
    if callable(result):  # fisher_vector_product returns a map: judge it by one product
        return _leaves(result(torch.tensor([1.0, -0.5, 0.25])))
    return []  # None, bools, strings: nothing numeric to judge


def _call(qualname: str, kwargs: dict[str, Any]) -> Any:
    torch.manual_seed(0)  # networks are initialised at random: the same draw for every call
    return resolve(qualname)(**kwargs)


@pytest.mark.parametrize(("qualname", "arg", "category", "mutate", "rule"), _cases())
def test_bad_input(
    qualname: str, arg: str, category: str, mutate: Callable, rule: str, capsys: Any
) -> None:
    expected = _leaves(_call(qualname, VALID[qualname]()))
    kwargs = VALID[qualname]()
    kwargs[arg] = mutate(kwargs[arg])
    start = time.perf_counter()
    try:
        result = _call(qualname, kwargs)
    except Exception as e:
        if category in SHAPE_CATEGORIES and f"{qualname}.{arg}" in CALLER_SHAPED:
            return
        if not isinstance(e, (ValueError, TypeError)):
            raise
        # numpy scalars are numbers: refusing np.float32(0.2) is the defect the issue reports
        assert rule != "equal", f"refused a numpy scalar {arg}={kwargs[arg]!r}: {e}"
        assert arg in str(e), f"{type(e).__name__} does not name {arg!r}: {e}"
        return
    finally:
        assert time.perf_counter() - start < 5.0, "call took over 5 s"
    assert rule != "error", f"accepted a bad {arg!r}: returned {result!r}"
    leaves = _leaves(result)
    for leaf in leaves:
        # finite inputs that overflow (extreme values) must raise, not return inf or NaN
        assert np.isfinite(leaf).all(), f"non-finite result {leaf} from a bad {arg!r}"
    if rule in ("finite", "equal"):
        shapes = [leaf.shape for leaf in leaves]
        assert shapes == [leaf.shape for leaf in expected], f"result shapes {shapes}"
    if rule == "equal":
        for leaf, want in zip(leaves, expected, strict=True):
            np.testing.assert_allclose(leaf, want, rtol=1e-6, atol=1e-12)


def test_every_public_function_is_covered() -> None:
    missing = [n for n in public_functions() if n not in VALID and n not in EXCLUDED]
    assert not missing, f"add a valid example call to VALID (or a reason to EXCLUDED): {missing}"
    stale = [n for n in (*VALID, *EXCLUDED) if n not in public_functions()]
    assert not stale, f"no longer public: {stale}"


def test_excluded_modules_are_real_and_disjoint() -> None:
    for name in EXCLUDED_MODULES:
        assert inspect.ismodule(importlib.import_module(name))
        assert name not in MODULES


def test_every_module_is_walked_or_excluded() -> None:
    """A new module of pgkit fails here until it is added to MODULES or EXCLUDED_MODULES."""
    import pgkit

    found = {f"pgkit.{name}" for name in pgkit._SUBMODULES}
    listed = set(MODULES) | set(EXCLUDED_MODULES)
    assert found == listed, (
        f"walk or exclude: {sorted(found - listed)}; stale: {sorted(listed - found)}"
    )


def test_every_file_is_a_submodule() -> None:
    import pgkit

    folder = Path(pgkit.__file__).parent
    files = {p.stem for p in folder.glob("*.py")} - {"__init__", "__main__"}
    packages = {p.parent.name for p in folder.glob("*/__init__.py")}
    assert files | packages == set(pgkit._SUBMODULES)


def test_valid_calls_give_finite_results() -> None:
    for qualname, make in VALID.items():
        for leaf in _leaves(_call(qualname, make())):
            assert np.isfinite(leaf).all(), qualname
