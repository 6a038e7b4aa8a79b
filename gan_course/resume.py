"""Saving and restoring a GAN trainer exactly: what its checkpoint holds, loaded all-or-nothing.

A trainer's state is its networks (and weight average), both optimizers and gradient scalers,
its counters and history, every random stream (torch's, the minibatch sampler's, the noise
generator's) and its ``TrainerConfig``. Loading checks everything first — every key, every
network's and optimizer's shapes, the sampler's data size, the config — and only then changes
the trainer, so a mismatch leaves it exactly as it was. The saved config is the run's: it is
restored (device and precision stay the machine's), and each field that differs from the
trainer's is reported, never silently mixed.

``GANTrainer.state_dict``/``load_state_dict``/``load_weights`` call these functions.
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from typing import Any

import torch

from gan_course.checkpoints import check_state_dict_matches
from gan_course.losses import get_loss
from gan_course.specs import TrainerConfig

HISTORY_KEYS = ("step", "d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "time")
_REQUIRED = ("config", "generator", "discriminator", "opt_g", "opt_d", "scaler_g", "scaler_d", "counters",
             "history", "rng")
_MACHINE = ("device", "precision")  # where the run happens, not what it is: the trainer's own are kept


def trainer_state(trainer) -> dict[str, Any]:
    """Everything needed to continue exactly (see the module's docstring)."""
    rng = {"torch_cpu": torch.get_rng_state(), "latent": trainer.latent_generator.get_state()}
    if torch.cuda.is_available():
        rng["torch_cuda"] = torch.cuda.get_rng_state_all()
    if hasattr(trainer.sampler, "state_dict"):
        rng["sampler"] = trainer.sampler.state_dict()
    state = {"config": dataclasses.asdict(trainer.config),
             "generator": trainer.generator.state_dict(), "discriminator": trainer.discriminator.state_dict(),
             "opt_g": trainer.opt_g.state_dict(), "opt_d": trainer.opt_d.state_dict(),
             "scaler_g": trainer.scaler_g.state_dict(), "scaler_d": trainer.scaler_d.state_dict(),
             "counters": {"global_step": trainer.global_step, "d_updates": trainer.d_updates,
                          "g_updates": trainer.g_updates, "elapsed": trainer.elapsed},
             "history": {k: list(v) for k, v in trainer.history.items()}, "rng": rng}
    if trainer.generator_ema is not None:
        state["generator_ema"] = trainer.generator_ema.state_dict()
    return state


def load_trainer_state(trainer, state: dict[str, Any]) -> None:
    """Restore ``trainer_state``'s output into ``trainer``, all-or-nothing (see the module)."""
    missing = [k for k in _REQUIRED if k not in state]
    if missing:
        raise ValueError(f"this is not a whole trainer's state: it lacks {missing}; nothing was loaded")
    config = _restored_config(trainer, state["config"])
    check_state_dict_matches(trainer.generator, state["generator"], "generator")
    check_state_dict_matches(trainer.discriminator, state["discriminator"], "discriminator")
    if config.ema > 0 and "generator_ema" in state:
        check_state_dict_matches(trainer.generator, state["generator_ema"], "generator_ema")
    for player, opt in (("d", trainer.opt_d), ("g", trainer.opt_g)):
        net = trainer.discriminator if player == "d" else trainer.generator
        _check_optimizer_state(net, state[f"opt_{player}"], f"opt_{player}")
    counters = state["counters"]
    if not {"global_step", "d_updates", "g_updates", "elapsed"} <= set(counters):
        raise ValueError(f"the checkpoint's counters are incomplete ({sorted(counters)}); nothing was loaded")
    rng = state["rng"]
    sampler_state = rng.get("sampler")
    x = getattr(trainer.sampler, "x", None)
    if sampler_state is not None and x is not None and len(sampler_state["perm"]) != len(x):
        raise ValueError(f"this checkpoint was saved for {len(sampler_state['perm'])} training samples, but the "
                         f"trainer holds {len(x)}; build it on the same data to resume; nothing was loaded")
    # --- everything checked: now change the trainer ---
    _adopt_config(trainer, config)
    trainer.generator.load_state_dict(state["generator"])
    trainer.discriminator.load_state_dict(state["discriminator"])
    if trainer.generator_ema is not None:  # a checkpoint without an average starts it at G
        trainer.generator_ema.load_state_dict(state.get("generator_ema", state["generator"]))
    trainer.opt_g.load_state_dict(state["opt_g"])
    trainer.opt_d.load_state_dict(state["opt_d"])
    trainer.scaler_g.load_state_dict(state["scaler_g"])
    trainer.scaler_d.load_state_dict(state["scaler_d"])
    trainer.global_step, trainer.d_updates = int(counters["global_step"]), int(counters["d_updates"])
    trainer.g_updates, trainer.elapsed = int(counters["g_updates"]), float(counters["elapsed"])
    trainer.history = {k: list(state["history"].get(k, [])) for k in HISTORY_KEYS}
    torch.set_rng_state(rng["torch_cpu"].cpu())
    if "torch_cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in rng["torch_cuda"]])
    trainer.latent_generator.set_state(rng["latent"].cpu())
    if sampler_state is not None and hasattr(trainer.sampler, "load_state_dict"):
        trainer.sampler.load_state_dict(sampler_state)


def load_trainer_weights(trainer, weights: dict[str, dict], history: dict[str, list] | None = None,
                         counters: dict[str, float] | None = None) -> None:
    """Load networks (shipped weights, a dashboard state) without an optimizer state.

    ``weights`` holds ``"generator"``, ``"discriminator"`` and, when there is one,
    ``"generator_ema"`` (else the average starts at G). Every network is checked before any is
    touched; the optimizers keep their (fresh) state.
    """
    nets_to_load = [("generator", trainer.generator), ("discriminator", trainer.discriminator)]
    if trainer.generator_ema is not None:
        nets_to_load.append(("generator_ema" if "generator_ema" in weights else "generator", trainer.generator_ema))
    for name, net in nets_to_load:
        if name not in weights:
            raise ValueError(f"weights has no {name!r} state dict (it has {sorted(weights)}); nothing was loaded")
        check_state_dict_matches(net, weights[name], name)
    if counters is not None and not {"global_step", "d_updates", "g_updates"} <= set(counters):
        raise ValueError(f"counters must hold global_step, d_updates and g_updates, got {sorted(counters)}")
    for name, net in nets_to_load:
        net.load_state_dict(weights[name])
    if history is not None:
        trainer.history = {k: [float(v) for v in (history[k].tolist() if isinstance(history.get(k), torch.Tensor)
                                                  else history.get(k, []))] for k in HISTORY_KEYS}
    if counters is not None:
        trainer.global_step, trainer.d_updates = int(counters["global_step"]), int(counters["d_updates"])
        trainer.g_updates = int(counters["g_updates"])
        trainer.elapsed = float(counters.get("elapsed", trainer.elapsed))


def _restored_config(trainer, saved: dict[str, Any]) -> TrainerConfig:
    """The saved config (validated), with this machine's device and precision; differences reported."""
    try:
        config = TrainerConfig(**{**saved, **{k: getattr(trainer.config, k) for k in _MACHINE}})
    except (TypeError, ValueError) as error:
        raise ValueError(f"the checkpoint's trainer config is not valid ({error}); nothing was loaded") from None
    if config.loss == "custom" and trainer.config.loss != "custom":
        raise ValueError("this run was trained with a custom loss: build the trainer with the same pair of "
                         "functions, loss=(d_loss, g_loss), to resume it; nothing was loaded")
    changed = [f"{f.name} {getattr(config, f.name)!r} (the trainer had {getattr(trainer.config, f.name)!r})"
               for f in dataclasses.fields(TrainerConfig)
               if f.name not in _MACHINE and getattr(config, f.name) != getattr(trainer.config, f.name)]
    if changed:
        warnings.warn("the checkpoint's settings were restored, so the run goes on as it was saved: "
                      + ", ".join(changed), stacklevel=4)
    return config


def _adopt_config(trainer, config: TrainerConfig) -> None:
    """Make ``config`` the trainer's: its loss, fresh optimizers of the named kinds (their states are
    loaded next) and a weight average when the run keeps one."""
    old = trainer.config
    trainer.config = config
    if config.loss != "custom" and config.loss != old.loss:
        trainer.loss = get_loss(config.loss)
    for player in ("d", "g"):
        if getattr(config, f"optimizer_{player}") != getattr(old, f"optimizer_{player}") or config.betas != old.betas:
            setattr(trainer, f"opt_{player}", trainer._make_optimizer(player))
    if (config.ema > 0) != (trainer.generator_ema is not None):
        trainer.generator_ema = copy.deepcopy(trainer.generator).requires_grad_(False).eval() if config.ema > 0 else None


def _check_optimizer_state(net: torch.nn.Module, state: dict, name: str) -> None:
    """Raise unless ``state`` (an optimizer's state dict) fits ``net``'s parameters."""
    if not isinstance(state, dict) or "param_groups" not in state or "state" not in state:
        raise ValueError(f"the checkpoint's {name} is not an optimizer state; nothing was loaded")
    params = [p for p in net.parameters()]
    ids = [i for group in state["param_groups"] for i in group["params"]]
    if len(ids) != len(params):
        raise ValueError(f"the checkpoint's {name} is for {len(ids)} parameter tensors, the network has "
                         f"{len(params)}; nothing was loaded")
    for index, param in zip(ids, params):
        for key, value in state["state"].get(index, {}).items():
            if isinstance(value, torch.Tensor) and value.ndim > 0 and tuple(value.shape) != tuple(param.shape):
                raise ValueError(f"the checkpoint's {name} state {key!r} has shape {tuple(value.shape)} for a "
                                 f"parameter of shape {tuple(param.shape)}; nothing was loaded")
