"""The one GAN trainer of the course.

``GANTrainer`` alternates ``d_steps`` discriminator updates with one generator update; every
GAN in the course is this loop with a different loss, network or condition::

    trainer = GANTrainer(MLPGenerator(1, 1), MLPDiscriminator(1), data.toy("mix1d", 5000, seed=0))
    trainer.fit(steps=2000)
    trainer.save("run/checkpoint.pt")

Its hyperparameters are one ``specs.TrainerConfig``; the reusable machinery (``fit_loop``, the NaN
guard, learning-rate schedules, optimizers by name) lives in :mod:`gan_course.loop` and the
checkpoint format in :mod:`gan_course.checkpoints`, shared with the VAE and the classifier.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
import torch.nn as nn

from gan_course import checkpoints, nets
from gan_course.config import autocast, get_device, get_precision
from gan_course.distributed import World, rank_state
from gan_course.samplers import make_sampler
from gan_course.loop import (LRSchedule, NonFiniteLossError, Rollback, check_finite, cosine_decay, fit_loop,
                             linear_decay, make_optimizer, update_weight_average)
from gan_course.losses import LOSS_NAMES, GANLoss, generator_gradient_norm, get_loss, gradient_penalty, r1_penalty
from gan_course.resume import HISTORY_KEYS, load_trainer_state, load_trainer_weights, trainer_state
from gan_course.specs import TrainerConfig, gaussian_latent

__all__ = ["GANTrainer", "TrainerConfig", "HISTORY_KEYS", "fit_discriminator",
           # re-exported: their homes are gan_course.loop, gan_course.losses and gan_course.specs
           "NonFiniteLossError", "check_finite", "fit_loop", "make_optimizer", "generator_gradient_norm",
           "gaussian_latent"]


# --------------------------------------------------------------------------------------------
# The GAN trainer
# --------------------------------------------------------------------------------------------


class GANTrainer:
    r"""Alternating gradient play on the GAN game, one trainer for every GAN in the course.

    One ``step()`` is ``d_steps`` discriminator updates followed by one generator update:

    .. math::
        \phi \leftarrow \phi - \eta_D \nabla_\phi \mathcal L_D(\phi, \theta) \ (\times k),\qquad
        \theta \leftarrow \theta - \eta_G \nabla_\theta \mathcal L_G(\phi, \theta)

    Args:
        generator: ``generator(z[, y]) -> x_fake``; needs ``latent_dim`` unless a
            ``latent_sampler`` is given.
        discriminator: ``discriminator(x[, y]) -> logits``.
        data: a tensor (N, ...), a pair ``(x, y)`` of tensors for conditional GANs, or a sampler
            (an iterator of batches; a ``DeviceSampler`` is resumed exactly).
        loss: a name in ``losses.LOSS_NAMES``, a ``GANLoss`` or a pair ``(d_loss, g_loss)``;
            None takes ``config.loss`` (default ``"nonsaturating"``).
        latent_sampler: ``f(n, torch_generator) -> z``; default standard normal.
        callbacks: each called as ``callback(trainer)`` after every ``step()`` in ``fit``.
        config: a ``TrainerConfig``; keyword arguments (``lr_d=...``) override its fields.
        distributed: a ``distributed.World`` (``distributed.setup()`` under torchrun): this process
            trains one shard of ``data`` as one rank of several (see :mod:`gan_course.distributed`).

    Attributes:
        history: dict of lists, one entry per ``step``/``step_d``/``step_g`` call, keys
            ``HISTORY_KEYS``; the player that did not move gets NaN. ``d_real``/``d_fake`` are
            the mean of :math:`\sigma(\ell)` on real/fake data.
        global_step: number of history rows; ``d_updates`` and ``g_updates`` count updates.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, data: Any,
                 loss: str | GANLoss | tuple | None = None, *,
                 latent_sampler: Callable[[int, torch.Generator], torch.Tensor] | None = None,
                 callbacks: Sequence[Callable[["GANTrainer"], Any]] = (),
                 config: TrainerConfig | None = None, distributed: World | None = None, **overrides: Any) -> None:
        base = config or TrainerConfig()
        if loss is None and base.loss == "custom":
            raise ValueError("config.loss is 'custom': pass the pair of functions as loss=(d_loss, g_loss)")
        self.loss = get_loss(base.loss if loss is None else loss)
        unknown = set(overrides) - {f.name for f in dataclasses.fields(TrainerConfig)}
        if unknown:
            raise ValueError(f"unknown trainer options {sorted(unknown)}; allowed: "
                             f"{[f.name for f in dataclasses.fields(TrainerConfig)]}")
        self.config = dataclasses.replace(base, loss=self.loss.name if self.loss.name in LOSS_NAMES
                                          else "custom", **overrides)
        cfg = self.config
        self.device = get_device(cfg.device)
        self.precision = get_precision(self.device, cfg.precision)
        self.distributed, seed = distributed, cfg.seed  # distributed: this process is one rank of several
        if distributed is not None:  # this rank's data shard and streams, batch norm over all ranks
            data = distributed.prepare(data, generator, discriminator, cfg.batch_size, self.device)
            seed = distributed.rank_seed(cfg.seed)
        self.generator = generator.to(self.device)
        # an average of G's recent weights samples better than the last iterate (Yazici et al., 2019)
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False).eval() if cfg.ema > 0 else None
        self.discriminator = discriminator.to(self.device)
        self.sampler = make_sampler(data, cfg.batch_size, self.device, seed)
        if latent_sampler is None:
            latent_dim = getattr(generator, "latent_dim", None)
            if not isinstance(latent_dim, int):
                raise ValueError("the generator has no integer `latent_dim`; pass latent_sampler=f(n, gen)")
            latent_sampler = gaussian_latent(latent_dim)
        self.latent_sampler = latent_sampler
        self.latent_generator = torch.Generator(device=self.device).manual_seed(seed + 1)
        self.num_classes = getattr(generator, "num_classes", None)
        self._d_has_batch_norm = any(isinstance(m, nn.modules.batchnorm._BatchNorm)
                                     for m in self.discriminator.modules())
        self.callbacks = list(callbacks)
        self.opt_d = self._make_optimizer("d")
        self.opt_g = self._make_optimizer("g")
        self.scaler_d = torch.amp.GradScaler(self.device.type, enabled=self.precision.use_scaler)
        self.scaler_g = torch.amp.GradScaler(self.device.type, enabled=self.precision.use_scaler)
        self.history: dict[str, list[float]] = {key: [] for key in HISTORY_KEYS}
        self.global_step = self.d_updates = self.g_updates = 0
        self.elapsed = 0.0  # seconds spent in updates, summed over resumes
        self.interrupted = False
        self._rollback = Rollback()  # what a failed step puts back
        self._check_shapes()

    # ---- set-up ------------------------------------------------------------------------------

    def _check_shapes(self) -> None:
        """Compare one generated sample's shape with one data sample's, before any update."""
        x = getattr(self.sampler, "x", None)
        self._shape_checked = x is not None  # a custom sampler is checked on its first batch
        if x is not None:
            self._check_fake_shape(tuple(x.shape[1:]))

    def _check_fake_shape(self, data_shape: tuple) -> None:
        probe_gen = torch.Generator(device=self.device).manual_seed(0)  # leaves the real streams alone
        with torch.no_grad(), nets.eval_mode(self.generator):
            z = self.latent_sampler(2, probe_gen).to(self.device)
            y = None if self.num_classes is None else torch.zeros(2, dtype=torch.long, device=self.device)
            fake = self.generator(z) if y is None else self.generator(z, y)
        if tuple(fake.shape[1:]) != data_shape:
            raise ValueError(f"the generator makes samples of shape {tuple(fake.shape[1:])} but the data "
                             f"samples have shape {data_shape}; make the generator's output match")

    # ---- one update of one player ------------------------------------------------------------

    def _make_optimizer(self, player: str) -> torch.optim.Optimizer:
        """A fresh optimizer for ``player`` ("d" or "g") as the config names it, at its learning rate."""
        net = self.discriminator if player == "d" else self.generator
        cfg = self.config
        return make_optimizer(getattr(cfg, f"optimizer_{player}"), net.parameters(), getattr(cfg, f"lr_{player}"),
                              cfg.betas, self.device)

    def autocast(self):
        """The context the networks run forward in: autocast to the trainer's precision, or nothing."""
        return autocast(self.device, self.precision)

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        batch = next(self.sampler)
        x, y = (batch if isinstance(batch, (tuple, list)) else (batch, None))
        self._batch = x  # looked at only when a loss goes non-finite
        if not self._shape_checked:
            self._check_fake_shape(tuple(x.shape[1:]))
            self._shape_checked = True
        return x.to(self.device, non_blocking=True), None if y is None else y.to(self.device)

    def _sample_z(self, n: int) -> torch.Tensor:
        return self.latent_sampler(n, self.latent_generator).to(self.device)

    def _fake_labels(self, n: int) -> torch.Tensor | None:
        if self.num_classes is None:
            return None
        return torch.randint(self.num_classes, (n,), generator=self.latent_generator, device=self.device)

    def _call(self, net: nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return net(x) if y is None else net(x, y)

    def _update(self, loss: torch.Tensor, net: nn.Module, opt: torch.optim.Optimizer,
                scaler: torch.amp.GradScaler, extra: list[torch.Tensor], who: str) -> list[float]:
        """Backward, gradient norm, NaN guard (before the update), optimizer step.

        Returns ``[loss, grad norm, *extra]`` as floats (one device sync).
        """
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        reported = torch.stack([loss.detach().float(), *[e.detach().float() for e in extra]])
        if self.distributed is not None:  # the ranks' mean gradient and values, as DistributedDataParallel averages
            reported = self.distributed.average(net, reported)
        scaler.unscale_(opt)
        norm = nn.utils.clip_grad_norm_([p for p in net.parameters() if p.grad is not None], float("inf"))
        values = torch.cat([reported[:1], norm.float().reshape(1), reported[1:]]).tolist()
        checked = {f"{who}_loss": values[0]}
        if not self.precision.use_scaler:  # with fp16 the scaler skips steps with inf gradients itself
            checked[f"{who} gradient norm"] = values[1]
        try:
            check_finite(checked, self.global_step + 1, hint=self._nan_hint(who))
        except NonFiniteLossError:
            opt.zero_grad(set_to_none=True)
            raise
        scaler.step(opt)
        scaler.update()
        return values

    def _nan_hint(self, who: str) -> str:
        """Whether the data or the optimisation went non-finite, and what to do."""
        batch = getattr(self, "_batch", None)
        if batch is not None and not bool(torch.isfinite(batch).all()):
            return "The data batch itself holds NaN/inf values: clean the data (the optimisation is not to blame)."
        return f"The data batch is finite, so the optimisation diverged: try a smaller lr_{who[0]} " \
               f"(now {getattr(self.config, 'lr_' + who[0])})."

    def _d_update(self, keep_fake: bool = False) -> tuple[list[float], tuple | None]:
        """One discriminator update; returns ([d_loss, grad norm, mean D(x), mean D(G(z))], kept).

        With ``keep_fake``, ``kept`` is (x_fake with G's graph, y) for the generator update that
        follows (as pytorch/examples' DCGAN does): one G forward pass per step
        instead of two. D itself only ever sees it detached.
        """
        x, y = self._next_batch()
        z = self._sample_z(x.shape[0])
        with torch.set_grad_enabled(keep_fake), self.autocast():
            x_fake_graph = self._call(self.generator, z, y)
        x_fake = x_fake_graph.detach()  # the generator does not move here
        with self.autocast():
            real, fake = self._d_logits(x, x_fake, y)  # (B,) logits each
            loss = self.loss.d_loss(real.float(), fake.float())
        if self.loss.gradient_penalty and self.config.gp_weight > 0:  # in fp32: second derivatives
            loss = loss + self.config.gp_weight * gradient_penalty(self.discriminator, x, x_fake.float(), y,
                                                                   generator=self.latent_generator)
        if self.config.r1_weight > 0:  # in fp32, like the gradient penalty
            loss = loss + self.config.r1_weight / 2 * r1_penalty(self.discriminator, x, y)
        values = self._update(loss, self.discriminator, self.opt_d, self.scaler_d,
                              [torch.sigmoid(real.float()).mean(), torch.sigmoid(fake.float()).mean()], "d")
        if self.config.clip_value > 0:  # WGAN: keep the critic in a compact set (roughly Lipschitz)
            with torch.no_grad():
                for p in self.discriminator.parameters():
                    p.clamp_(-self.config.clip_value, self.config.clip_value)
        self.d_updates += 1
        return values, ((x_fake_graph, y) if keep_fake else None)

    def _d_logits(self, x: torch.Tensor, x_fake: torch.Tensor,
                  y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """D's logits on the real and the fake batch.

        Without batch norm each sample's logit depends on that sample alone, so both batches go
        through D in one pass (one launch per layer instead of two, bigger matrix products).
        With batch norm they go separately, as in the DCGAN paper: a mixed batch would change
        the statistics each one is normalised with.
        """
        if self._d_has_batch_norm or x.shape[0] != x_fake.shape[0]:
            return self._call(self.discriminator, x, y), self._call(self.discriminator, x_fake, y)
        both = torch.cat([x, x_fake.to(x.dtype)])  # (2B, ...): packs stay within one half
        logits = self._call(self.discriminator, both, None if y is None else torch.cat([y, y]))  # (2B',)
        return logits.chunk(2)

    def _g_update(self, kept: tuple[torch.Tensor, torch.Tensor | None] | None = None) -> list[float]:
        """One generator update on a fresh fake batch, or on ``kept`` = (x_fake with G's graph, y)
        from the discriminator update just before; returns [g_loss, grad norm, mean D(G(z))]."""
        if kept is None:
            n = self.config.batch_size
            z = self._sample_z(n)
            y = self._fake_labels(n)
            with self.autocast():
                x_fake = self._call(self.generator, z, y)
        else:
            x_fake, y = kept
        self.discriminator.requires_grad_(False)  # no gradients for D's weights: faster
        try:
            with self.autocast():
                fake = self._call(self.discriminator, x_fake, y)
                loss = self.loss.g_loss(fake.float())
            values = self._update(loss, self.generator, self.opt_g, self.scaler_g,
                                  [torch.sigmoid(fake.float()).mean()], "g")
        finally:
            self.discriminator.requires_grad_(True)
        if self.generator_ema is not None:
            update_weight_average(self.generator_ema, self.generator, self.config.ema, self.g_updates)
        self.g_updates += 1
        return values

    @property
    def sampling_generator(self) -> nn.Module:
        """The generator to draw samples from: the weight average when ``ema > 0``, else G itself."""
        return self.generator if self.generator_ema is None else self.generator_ema

    def _record(self, d: list[float] | None, g: list[float] | None, seconds: float) -> dict:
        self.global_step += 1
        self.elapsed += seconds
        nan = float("nan")
        row = {"step": float(self.global_step),
               "d_loss": d[0] if d else nan, "g_loss": g[0] if g else nan,
               "d_real": d[2] if d else nan, "d_fake": d[3] if d else (g[2] if g else nan),
               "grad_norm_d": d[1] if d else nan, "grad_norm_g": g[1] if g else nan,
               "time": self.elapsed}
        for key in HISTORY_KEYS:
            self.history[key].append(row[key])
        return row

    # ---- public steps --------------------------------------------------------------------------

    def step_d(self) -> dict:
        """One discriminator update only (the generator does not move). Returns the history row."""
        return self._whole_step(lambda: (self._d_update()[0], None))

    def step_g(self) -> dict:
        """One generator update only (the discriminator does not move). Returns the history row."""
        return self._whole_step(lambda: (None, self._g_update()))

    def step(self) -> dict:
        """``d_steps`` discriminator updates, then one generator update. Returns the history row.

        The generator update reuses the fake batch of the last discriminator update (made
        before D moved, through G's graph), so a step runs G forward ``d_steps`` times, not
        ``d_steps + 1``. The row's d values are those of the last discriminator update.
        """
        def updates() -> tuple[list[float], list[float]]:
            d = kept = None
            for i in range(self.config.d_steps):
                d, kept = self._d_update(keep_fake=i == self.config.d_steps - 1)
            return d, self._g_update(kept)
        return self._whole_step(updates)

    def _whole_step(self, updates: Callable[[], tuple[list[float] | None, list[float] | None]]) -> dict:
        """Run a step's updates; if any of them meets a NaN/inf, roll the whole step back (both
        players, optimizers, data and noise streams, counters) before raising, so the trainer is
        exactly as it was after the last good step."""
        self._rollback.take(self._step_tensors(), self._step_states())
        start = time.perf_counter()
        try:
            d, g = updates()
        except NonFiniteLossError:
            self._rollback.restore()
            raise
        return self._record(d, g, time.perf_counter() - start)

    def _step_tensors(self) -> list[torch.Tensor]:
        """The tensors a step may change before it can fail: D's weights and buffers, its
        optimizer's moments, G's buffers (batch-norm statistics move in every forward pass)."""
        moments = [t for state in self.opt_d.state.values() for t in state.values() if isinstance(t, torch.Tensor)]
        return [*self.discriminator.parameters(), *self.discriminator.buffers(), *moments, *self.generator.buffers()]

    def _step_states(self) -> list[tuple[Callable[[], Any], Callable[[Any], None]]]:
        states = [(self.latent_generator.get_state, self.latent_generator.set_state),
                  (lambda: self.d_updates, lambda v: setattr(self, "d_updates", v))]
        if hasattr(self.sampler, "position"):
            states.append((self.sampler.position, self.sampler.set_position))
        if self.precision.use_scaler:
            states.append((self.scaler_d.state_dict, self.scaler_d.load_state_dict))
        return states

    def fit(self, steps: int | None = None, seconds: float | None = None, progress: bool = True) -> dict:
        """Run ``step()`` for ``steps`` steps or ``seconds`` of wall time, whichever ends first.

        With ``config.lr_decay > 0`` both learning rates fall linearly to 5 % of their value over
        the last ``lr_decay * steps`` steps of this call (sharper samples at the end), and are
        put back when it returns; that needs ``steps``. The stop button (KeyboardInterrupt) ends
        training between two steps; call ``fit`` again to continue. Returns ``history``.
        """
        if self.distributed is not None:  # every rank must stop after the same step
            return self.distributed.fit(self, steps, seconds, progress)
        schedule = None
        if self.config.lr_decay > 0:
            if steps is None:
                raise ValueError(f"lr_decay={self.config.lr_decay} needs a step count to decay over: call "
                                 "fit(steps=...), or set lr_decay=0 for a time budget alone")
            schedule = LRSchedule([self.opt_d, self.opt_g], linear_decay(self.config.lr_decay), steps)
        done = 0

        def one_step() -> None:
            nonlocal done
            if schedule is not None:
                schedule.apply(done)
            self.step()
            done += 1

        callbacks = [lambda cb=cb: cb(self) for cb in self.callbacks]
        last = lambda: {k: f"{self.history[k][-1]:.3f}" for k in ("d_loss", "g_loss")}  # noqa: E731
        try:
            _, self.interrupted = fit_loop(one_step, steps, seconds, progress, callbacks, "GAN", last)
        finally:
            if schedule is not None:
                schedule.restore()
        return self.history

    LIVE = ("loss", "lr_d", "lr_g", "d_steps", "gp_weight", "r1_weight", "clip_value", "optimizer_d", "optimizer_g")

    def update(self, **changes: Any) -> TrainerConfig:
        """Change hyperparameters between steps (the dashboards' controls): the ``LIVE`` fields.

        The networks are kept. A new learning rate reaches the optimizer in place (its state,
        e.g. Adam's moments, is kept); a new ``optimizer_d``/``optimizer_g`` gives that player a
        fresh optimizer at its learning rate. Everything is validated before anything changes.
        """
        if set(changes) - set(self.LIVE):
            raise ValueError(f"update() can change {sorted(self.LIVE)}, got {sorted(set(changes) - set(self.LIVE))}")
        new = dataclasses.replace(self.config, **changes)  # validates
        loss = get_loss(changes["loss"]) if "loss" in changes else self.loss
        self.config, self.loss = new, loss
        for player in ("d", "g"):
            if f"optimizer_{player}" in changes:
                setattr(self, f"opt_{player}", self._make_optimizer(player))
        for group in self.opt_d.param_groups:
            group["lr"] = new.lr_d
        for group in self.opt_g.param_groups:
            group["lr"] = new.lr_g
        return new

    # ---- sampling ------------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, y: torch.Tensor | None = None, seed: int | None = None) -> torch.Tensor:
        """``n`` generated samples (on the trainer's device), without touching the training RNGs.

        They come from ``sampling_generator`` (the weight average when ``ema > 0``)."""
        gen = torch.Generator(device=self.device).manual_seed(0 if seed is None else seed)
        z = self.latent_sampler(n, gen).to(self.device)
        if y is None and self.num_classes is not None:
            y = torch.arange(n, device=self.device) % self.num_classes
        with self.autocast():
            return self._call(self.sampling_generator, z, y).float()

    # ---- checkpoints ---------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Everything needed to continue exactly: networks, optimizers, scalers, counters,
        history, every random stream and the config (``resume.trainer_state``); of several ranks,
        a collective: every rank's streams are gathered (``distributed.gather_streams``)."""
        state = trainer_state(self)
        return state if self.distributed is None else self.distributed.gather_streams(state)

    def load_state_dict(self, state: dict) -> None:
        """Restore a ``state_dict``, all-or-nothing: everything is checked before anything
        changes; the saved config is restored and each difference reported (``resume``)."""
        load_trainer_state(self, rank_state(state, self.distributed))

    def save(self, path: str | os.PathLike) -> Path:
        """Write a checkpoint atomically (a crash mid-save leaves the old file intact); of several
        ranks, every rank calls it and rank 0 alone writes."""
        state = self.state_dict()
        if self.distributed is not None and not self.distributed.writes_outputs:
            return Path(path)
        return checkpoints.save(path, "gan_trainer", state)

    def load(self, path: str | os.PathLike) -> "GANTrainer":
        """Restore a checkpoint written by ``save``; a resumed run continues exactly."""
        self.load_state_dict(checkpoints.load(path, "gan_trainer", map_location=self.device))
        return self

    def load_weights(self, weights: dict[str, dict], history: dict[str, list] | None = None,
                     counters: dict[str, float] | None = None) -> None:
        """Load networks (shipped weights, a dashboard state) without an optimizer state:
        ``weights`` holds ``"generator"``, ``"discriminator"`` (and ``"generator_ema"``);
        ``history`` and ``counters`` replace the trainer's. A mismatch loads nothing."""
        load_trainer_weights(self, weights, history, counters)


def fit_discriminator(trainer: GANTrainer, steps: int, progress: bool = True) -> dict:
    r"""Train only the discriminator against the frozen generator, until it settles at its optimum.

    The learning rate follows a cosine from ``lr_d`` down to 0 (``loop.cosine_decay``), so the
    minibatch noise dies out and D ends close to :math:`D^* = p_{data} / (p_{data} + p_g)`.
    ``lr_d`` is restored afterwards.

    Returns:
        The trainer's history.
    """
    schedule = LRSchedule([trainer.opt_d], cosine_decay, steps)
    done = 0

    def one_step() -> None:
        nonlocal done
        schedule.apply(done)
        trainer.step_d()
        done += 1
    try:
        fit_loop(one_step, steps, None, progress, desc="D only")
    finally:
        schedule.restore()
    return trainer.history
