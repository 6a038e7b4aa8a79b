"""Checks for GAN theory in one dimension (notebook 05)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gan_course.checks.core import CheckResult, passed, failed, compare, _call, _not_answered


def nonsaturating_loss(fn: object) -> CheckResult:
    r"""Notebook 05: ``fn(fake_logits)`` returns :math:`-\mathbb E[\log D(G(z))]` from *logits*.

    Tested with a logit of -200 (a discriminator sure the sample is fake), where
    ``-log(sigmoid(l))`` overflows to inf, ``F.binary_cross_entropy(sigmoid(l), 1)`` clamps the
    log at -100 and gives 100, but ``softplus(-l)`` gives 200.
    """
    if fn is None or not callable(fn):
        return failed(f"nonsaturating_loss: expected a function, got {type(fn).__name__}")
    logits = torch.tensor([-200.0, -5.0, 0.0, 3.0])
    try:
        got = fn(logits.clone())
    except Exception as error:  # the student's code may raise anything
        return failed(f"nonsaturating_loss: your function raised {type(error).__name__}: {error}")
    if (problem := _not_answered("nonsaturating_loss", got)) is not None:
        return problem
    expected = torch.nn.functional.softplus(-logits.double()).mean()
    saturating = -torch.nn.functional.softplus(logits.double()).mean()
    clamped = torch.nn.functional.softplus(-logits.double()).clamp(max=100.0).mean()  # BCE's log clamped at -100
    hint = "Minimise -log D(G(z)) = softplus(-logit); take the mean over the batch."
    try:
        value = torch.as_tensor(got.detach() if isinstance(got, torch.Tensor) else got, dtype=torch.float64)
        if value.shape == () and torch.isclose(value, clamped, rtol=1e-4):
            hint = ("Through probabilities the loss is wrong for a confident D: sigmoid(-200) rounds to 0 and "
                    "F.binary_cross_entropy clamps log(0) at -100, giving 100 instead of 200 (and no gradient). "
                    "Work with logits: F.softplus(-logit) or F.binary_cross_entropy_with_logits.")
        elif value.shape == () and torch.isclose(value, saturating, rtol=1e-4):
            hint = "That is the saturating loss log(1 - D(G(z))); the non-saturating one is -log D(G(z))."
        elif value.shape == () and not torch.isfinite(value):
            hint = ("log(sigmoid(-200)) = log(0) = -inf: compute log D from the logit with "
                    "F.logsigmoid or F.softplus, never sigmoid then log.")
    except (TypeError, RuntimeError, ValueError):
        pass
    return compare("nonsaturating_loss", got, expected, rtol=1e-5, hint=hint)


def optimal_discriminator(d_star: object, p_data: torch.Tensor, p_g: torch.Tensor) -> CheckResult:
    r"""Notebook 05: :math:`D^*(x) = p_{data}(x) / (p_{data}(x) + p_g(x))` on a grid."""
    if (problem := _not_answered("D*", d_star)) is not None:
        return problem
    p, q = p_data.double(), p_g.double()
    expected = p / (p + q)
    hint = "Maximise p_data(x) log D + p_g(x) log(1 - D) pointwise in D."
    try:
        if torch.allclose(torch.as_tensor(d_star, dtype=torch.float64), q / (p + q), atol=1e-6):
            hint = "You have the fraction upside down: D* is the probability that x is *real*, p_data / (p_data + p_g)."
    except (TypeError, RuntimeError, ValueError):
        pass
    return compare("D*", d_star, expected, rtol=1e-4, atol=1e-6, hint=hint)


def gan_value_at_optimum(value: object, p_data: torch.Tensor, p_g: torch.Tensor, grid: torch.Tensor) -> CheckResult:
    r"""Notebook 05: :math:`V(D^*, G) = -\log 4 + 2\,\mathrm{JSD}(p_{data}\,\|\,p_g)`, computed on a grid."""
    from gan_course.metrics import js_divergence_grid

    if (problem := _not_answered("V(D*, G)", value)) is not None:
        return problem
    js = js_divergence_grid(p_data.double(), p_g.double(), grid.double())
    expected = -math.log(4.0) + 2 * js
    hint = "Integrate p_data log D* + p_g log(1 - D*) over the grid (torch.trapezoid)."
    try:
        v = float(torch.as_tensor(value))
        if math.isclose(v, float(js), rel_tol=1e-3) or math.isclose(v, float(-math.log(4) + js), rel_tol=1e-3):
            hint = "Close: V(D*, G) = -log 4 + 2 JSD, with the factor 2 and the constant -log 4."
    except (TypeError, RuntimeError, ValueError):
        pass
    return compare("V(D*, G)", value, expected, rtol=1e-3, atol=1e-4, hint=hint)


DIRAC_GAMMAS = (0.0, 0.5, 1.5)  # where a function of gamma is checked: a rotation, damped, over-damped


def _dirac_jacobian(gp_weight: float) -> torch.Tensor:
    return torch.tensor([[0.0, 0.5], [-0.5, -gp_weight]], dtype=torch.float64)  # d(theta', psi')/d(theta, psi)


def _same_eigenvalues(got: torch.Tensor, want: torch.Tensor) -> bool:
    """The same two numbers, in either order."""
    a, b = got.tolist(), want.tolist()
    return any(all(abs(x - y) < 1e-4 for x, y in zip(a, order)) for order in (b, b[::-1]))


def dirac_gan_eigenvalues(eigenvalues: object, gp_weight: float = 0.0) -> CheckResult:
    r"""Notebook 05: eigenvalues of the Dirac-GAN field's Jacobian at (0, 0),
    :math:`\tfrac12\big(-\gamma \pm \sqrt{\gamma^2 - 1}\big)`: :math:`\pm i/2` without a penalty, a
    complex pair with real part :math:`-\gamma/2` for :math:`\gamma < 1`, two negative reals beyond.

    ``eigenvalues`` is either the two numbers at ``gp_weight``, or a function ``gamma ->
    eigenvalues``, which is checked at :math:`\gamma` = 0, 0.5 and 1.5 (``DIRAC_GAMMAS``): at
    :math:`\gamma = 0` alone a field with the wrong sign has the same eigenvalues :math:`\pm i/2`.
    Order does not matter.
    """
    if callable(eigenvalues):
        for gamma in DIRAC_GAMMAS:
            got, problem = _call(f"the eigenvalues at gamma = {gamma}", eigenvalues, gamma)
            if problem is not None:
                return problem
            result = dirac_gan_eigenvalues(got, gamma)
            if not result:
                return result
        return passed("The eigenvalues are right at gamma = 0, 0.5 and 1.5: purely imaginary without the penalty "
                      "(a rotation), a negative real part with it (damping: play converges).")
    if (problem := _not_answered("the eigenvalues", eigenvalues)) is not None:
        return problem
    where = f"the eigenvalues at gamma = {gp_weight}"
    expected = torch.linalg.eigvals(_dirac_jacobian(gp_weight))
    try:
        value = eigenvalues.detach() if isinstance(eigenvalues, torch.Tensor) else eigenvalues
        got = torch.as_tensor(value).to(torch.complex128).flatten()
    except (TypeError, RuntimeError, ValueError):
        return failed(f"{where}: expected two (complex) numbers, got {type(eigenvalues).__name__}")
    if got.shape != (2,):
        return failed(f"{where}: expected 2 of them, got {got.numel()}")
    if _same_eigenvalues(got, expected):
        return passed(f"{where.capitalize()} are right: " + (
            "purely imaginary, so gradient play rotates." if gp_weight == 0
            else "their real part is negative, so play converges."))
    hint = ("Differentiate (theta', psi') = (psi sigmoid(psi theta), -theta sigmoid(psi theta) - gamma psi) with "
            "respect to (theta, psi) at 0, using sigmoid(0) = 1/2.")
    symmetric = _dirac_jacobian(gp_weight).tril() + _dirac_jacobian(gp_weight).tril(-1).T  # what eigvalsh reads
    if _same_eigenvalues(got, torch.linalg.eigvalsh(symmetric).to(torch.complex128)):
        hint = ("Those are the eigenvalues of a symmetric matrix: torch.linalg.eigvalsh reads only one triangle "
                "of the Jacobian, which is not symmetric. Use torch.linalg.eigvals.")
    elif _same_eigenvalues(got, -expected):
        hint = ("Every eigenvalue has the wrong sign: your field points the other way (each player climbs its "
                "loss). D ascends V and G descends it; the penalty must damp, so the real part is -gamma/2.")
    elif gp_weight < 1 and all(abs(c.imag) < 1e-9 for c in got.tolist()):
        hint = ("For gamma < 1 the eigenvalues are a complex pair: real ones mean a wrong Jacobian. " + hint)
    return failed(f"{where} are not right. {hint}")


# --------------------------------------------------------------------------------------------
# The GAN training step, written by the student (notebook 05, grown into a DCGAN loop in 07)
# --------------------------------------------------------------------------------------------

_LR_D, _LR_G = 0.5, 0.3  # plain SGD, different rates: a wrong loss or optimizer shows as a wrong update
_TOL = dict(rtol=1e-4, atol=2e-6)


def reference_training_step(generator: torch.nn.Module, discriminator: torch.nn.Module,
                            opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                            x_real: torch.Tensor, z: torch.Tensor) -> tuple[float, float]:
    r"""One discriminator update, then one generator update (Goodfellow et al., 2014, Algorithm 1, k = 1).

    .. math::
        \mathcal L_D = -\tfrac1B\sum_i \log D(x_i) - \tfrac1B\sum_i \log(1 - D(G(z_i))),\qquad
        \mathcal L_G = -\tfrac1B\sum_i \log D(G(z_i))

    with :math:`\log D = -\operatorname{softplus}(-\ell)` on the logit :math:`\ell`. The generator's
    step uses the same ``z`` and the discriminator *after* its update. Returns
    ``(d_loss, g_loss)``, each measured before its own update. What ``checks.gan_training_step``
    compares an answer with (and what notebook 05 falls back on until the answer passes).
    """
    # Train the discriminator: G(z) is a constant here (detach), so no gradient reaches G
    x_fake = generator(z).detach()
    d_loss = F.softplus(-discriminator(x_real)).mean() + F.softplus(discriminator(x_fake)).mean()
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    # Train the generator against the updated discriminator, which stays fixed meanwhile
    discriminator.requires_grad_(False)  # D's weights get no gradient (and cost none)
    try:
        g_loss = F.softplus(-discriminator(generator(z))).mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
    finally:
        discriminator.requires_grad_(True)
    return d_loss.item(), g_loss.item()


class _RecordingSGD(torch.optim.SGD):
    """Plain SGD that remembers its parameters after every ``step()`` (to tell which update went wrong)."""

    def __init__(self, params, lr: float) -> None:
        super().__init__(params, lr=lr)
        self.snapshots: list[torch.Tensor] = []

    def step(self, closure=None):  # noqa: D102  (same as SGD.step)
        out = super().step(closure)
        self.snapshots.append(_flat(p for g in self.param_groups for p in g["params"]))
        return out


def _flat(params) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1).clone() for p in params])


def _players(seed: int = 0) -> tuple[torch.nn.Module, torch.nn.Module]:
    """A small generator (z in R^2 -> x in R) and discriminator (x -> one logit), both smooth."""
    from gan_course.nets import MLPDiscriminator, MLPGenerator

    with torch.random.fork_rng(devices=[]):  # leaves the notebook's random stream alone
        torch.manual_seed(seed)
        generator = MLPGenerator(latent_dim=2, out_dim=1, width=8, depth=1, activation="tanh")
        discriminator = MLPDiscriminator(in_dim=1, width=8, depth=1, activation="tanh")
    return generator, discriminator


def _batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Two (x_real (16, 1), z (16, 2)) batches: real data N(2, 0.5^2), fakes start near 0."""
    gen = torch.Generator().manual_seed(14)
    return [(2.0 + 0.5 * torch.randn(16, 1, generator=gen), torch.randn(16, 2, generator=gen)) for _ in range(2)]


def _run_two_calls(step: object) -> dict:
    """Call ``step`` on two batches in a row with the same optimizers; record everything."""
    generator, discriminator = _players()
    opt_g, opt_d = _RecordingSGD(generator.parameters(), _LR_G), _RecordingSGD(discriminator.parameters(), _LR_D)
    out: dict = {"start": (_flat(generator.parameters()), _flat(discriminator.parameters())), "calls": []}
    for x_real, z in _batches():
        n_g, n_d = len(opt_g.snapshots), len(opt_d.snapshots)
        try:
            returned = step(generator, discriminator, opt_g, opt_d, x_real.clone(), z.clone())
        except Exception as error:  # the student's code may raise anything
            out["error"] = error
            return out
        out["calls"].append({"returned": returned, "g_steps": opt_g.snapshots[n_g:], "d_steps": opt_d.snapshots[n_d:],
                             "g": _flat(generator.parameters()), "d": _flat(discriminator.parameters()),
                             "d_frozen": not all(p.requires_grad for p in discriminator.parameters())})
    return out


def _as_number(value: object) -> float | None:
    try:
        value = value.detach() if isinstance(value, torch.Tensor) else value
        number = torch.as_tensor(value, dtype=torch.float64)
        return float(number) if number.numel() == 1 else None
    except (TypeError, ValueError, RuntimeError):
        return None


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, **_TOL))


def _sgd_step(params: torch.Tensor, loss_fn, lr: float, module: torch.nn.Module) -> torch.Tensor:
    """``params`` (flat) after one plain SGD step on ``loss_fn()``, with ``module`` holding them."""
    torch.nn.utils.vector_to_parameters(params.clone(), module.parameters())
    module.zero_grad()
    loss_fn().backward()
    grad = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                      for p in module.parameters()])
    return params - lr * grad


def _d_update(start: tuple[torch.Tensor, torch.Tensor], x_real: torch.Tensor, z: torch.Tensor,
              swapped: bool, scale: float) -> torch.Tensor:
    """D's weights after one SGD step on ``scale`` * (its loss), labels ``swapped`` or not."""
    generator, discriminator = _players()
    torch.nn.utils.vector_to_parameters(start[0], generator.parameters())
    sign = -1.0 if swapped else 1.0
    with torch.no_grad():
        x_fake = generator(z)
    loss = lambda: scale * (F.softplus(-sign * discriminator(x_real)).mean()  # noqa: E731
                            + F.softplus(sign * discriminator(x_fake)).mean())
    return _sgd_step(start[1], loss, _LR_D, discriminator)


def _g_update(g_start: torch.Tensor, d_before: torch.Tensor, d_after: torch.Tensor, x_real: torch.Tensor,
              z: torch.Tensor, kind: str, scale: float = 1.0) -> torch.Tensor:
    """G's weights after one SGD step on a generator loss ``kind``; D is ``d_before`` during its own
    update and ``d_after`` once it has moved."""
    generator, after = _players()
    before = _players()[1]
    torch.nn.utils.vector_to_parameters(d_before, before.parameters())
    torch.nn.utils.vector_to_parameters(d_after, after.parameters())
    before.requires_grad_(False)
    after.requires_grad_(False)

    def d_loss(d: torch.nn.Module) -> torch.Tensor:  # D's loss, not detached: it reaches G
        return scale * (F.softplus(-d(x_real)).mean() + F.softplus(d(generator(z))).mean())

    losses = {"nonsaturating": lambda: F.softplus(-after(generator(z))).mean(),
              "saturating": lambda: -F.softplus(after(generator(z))).mean(),
              "d_loss_after": lambda: d_loss(after),
              "d_loss_before": lambda: d_loss(before),
              "leftover": lambda: d_loss(before) + F.softplus(-after(generator(z))).mean()}
    return _sgd_step(g_start, losses[kind], _LR_G, generator)


@torch.no_grad()
def _losses(start: tuple[torch.Tensor, torch.Tensor], d_after: torch.Tensor, x_real: torch.Tensor,
            z: torch.Tensor) -> tuple[float, float]:
    """(D's loss before its update, G's loss against the updated D before G's update)."""
    generator, discriminator = _players()
    torch.nn.utils.vector_to_parameters(start[0], generator.parameters())
    torch.nn.utils.vector_to_parameters(start[1], discriminator.parameters())
    x_fake = generator(z)
    d_loss = F.softplus(-discriminator(x_real)).mean() + F.softplus(discriminator(x_fake)).mean()
    torch.nn.utils.vector_to_parameters(d_after, discriminator.parameters())
    return d_loss.item(), F.softplus(-discriminator(x_fake)).mean().item()


_ASK = ("Write one D update (minimax loss on logits, real -> 1, fake -> 0, on generator(z).detach()), "
        "then one G update (non-saturating loss -log D(G(z)) with the same z), each preceded by zero_grad.")
_HINTS = {
    "swapped": "The discriminator's labels are swapped: real samples must get target 1 and fakes target 0 "
               "(loss softplus(-logit) on real, softplus(logit) on fake).",
    "saturating": "The generator minimises log(1 - D(G(z))), the saturating loss: its gradient vanishes when D "
                  "rejects the fakes. Minimise -log D(G(z)) = softplus(-logit) instead.",
    "d_loss": "The generator was updated with the discriminator's loss, so it helps D instead of fooling it: "
              "give G its own loss, -log D(G(z)), with target 1 for the fakes.",
    "leftover": "The generator's update carries gradient left over from the discriminator's step: without "
                "generator(z).detach() in D's loss, d_loss.backward() also fills G's .grad. Detach the fakes in "
                "D's loss, or call opt_g.zero_grad() just before g_loss.backward().",
    "d_moved": "The discriminator's weights moved during the generator's update (opt_d.step() was called again, "
               "or D was updated after G's backward): during G's step D must stay fixed. Call only opt_g.step() "
               "there (discriminator.requires_grad_(False) also keeps G's loss from filling D's .grad).",
    "frozen": "The discriminator is left frozen after your step (requires_grad False): put it back with "
              "discriminator.requires_grad_(True) after the generator's update, or D cannot learn next time.",
    "zero_grad": "The first call is right but the second is not: gradients accumulate in .grad across calls. "
                 "Call opt_d.zero_grad() before d_loss.backward() and opt_g.zero_grad() before g_loss.backward().",
}


def gan_training_step(step: object) -> CheckResult:
    r"""Notebook 05: ``step(generator, discriminator, opt_g, opt_d, x_real, z) -> (d_loss, g_loss)``.

    One discriminator update on ``x_real`` and ``generator(z)`` with the minimax loss on logits
    (real -> 1, fake -> 0; the sum of the two mean cross-entropies, or their average), then one
    generator update with the non-saturating loss on ``discriminator(generator(z))``, same ``z``;
    both losses returned as numbers (or 0-d tensors) measured before each update
    (``reference_training_step``). The check builds its own small networks and *plain SGD*
    optimizers, so a wrong loss shows as a wrong update, calls ``step`` on two batches in a row
    with the same optimizers, and compares both players' weights after each call, and the
    returned losses, with the reference. Each common mistake gets its own hint.
    """
    if step is None or not callable(step):
        return failed(f"gan_training_step: expected a function, got {type(step).__name__}")
    got = _run_two_calls(step)
    if "error" in got:
        error = got["error"]
        hint = ""
        if "does not require grad" in str(error):
            hint = " " + _HINTS["frozen"]
        elif "backward through the graph a second time" in str(error):
            hint = (" The fakes' graph was used twice: detach them in D's loss (generator(z).detach()) and "
                    "compute discriminator(generator(z)) afresh for G's loss.")
        return failed(f"gan_training_step: your step raised {type(error).__name__}: {error}.{hint}")
    for i, call in enumerate(got["calls"]):
        problem = _diagnose(i, call, got)
        if problem is not None:
            return failed(f"gan_training_step ({'first' if i == 0 else 'second'} call): {problem}")
    return passed("Your training step is right: one D update, then one G update against the updated D, "
                  "on two batches in a row.")


def _diagnose(i: int, call: dict, got: dict) -> str | None:
    """What is wrong with call ``i`` of the answer, or None when it matches the reference."""
    returned = call["returned"]
    if returned is None or returned is Ellipsis or (isinstance(returned, (tuple, list))
                                                    and all(v is None for v in returned)):
        return "fill in your answer first (it returns None)."
    if not isinstance(returned, (tuple, list)) or len(returned) != 2:
        return f"return two numbers (d_loss, g_loss), got {type(returned).__name__}."
    d_loss, g_loss = (_as_number(v) for v in returned)
    if d_loss is None or g_loss is None:
        return "return (d_loss, g_loss) as numbers (loss.item()) or 0-d tensors."
    if len(call["d_steps"]) == 0 or len(call["g_steps"]) == 0:
        who = "opt_d" if len(call["d_steps"]) == 0 else "opt_g"
        return f"{who}.step() was never called: both players must be updated once. {_ASK}"
    if len(call["d_steps"]) > 1:
        return _HINTS["d_moved"]
    if call["d_frozen"]:
        return _HINTS["frozen"]
    # the discriminator's own update
    start = got["start"] if i == 0 else (got["calls"][0]["g"], got["calls"][0]["d"])
    x_real, z = _batches()[i]
    d_after = call["d_steps"][0]
    ref_d = {scale: _d_update(start, x_real, z, False, scale) for scale in (1.0, 0.5)}
    if not any(_close(d_after, d) for d in ref_d.values()):
        if i == 1:  # the first call was right from the same kind of start
            return _HINTS["zero_grad"]
        if any(_close(d_after, _d_update(start, x_real, z, True, s)) for s in (1.0, 0.5)):
            return _HINTS["swapped"]
        return "the discriminator's update is not right. " + _ASK
    if not _close(call["d"], d_after):
        return _HINTS["d_moved"]
    # the generator's update, against the updated D
    d_before = start[1]
    scale = next(s for s, d in ref_d.items() if _close(d_after, d))
    g_right = _g_update(start[0], d_before, d_after, x_real, z, "nonsaturating")
    if not _close(call["g"], g_right):
        if i == 1:
            return _HINTS["zero_grad"]
        variants = {"saturating": ["saturating"], "leftover": ["leftover"], "d_loss": ["d_loss_after", "d_loss_before"]}
        for hint, kinds in variants.items():
            for kind in kinds:
                if _close(call["g"], _g_update(start[0], d_before, d_after, x_real, z, kind, scale)):
                    return _HINTS[hint]
        return "the generator's update is not right. " + _ASK
    # the returned losses, each measured before its own update
    want_d, want_g = _losses(start, d_after, x_real, z)
    if not any(math.isclose(d_loss, s * want_d, rel_tol=1e-4, abs_tol=1e-6) for s in (1.0, 0.5)):
        return (f"the updates are right but the returned d_loss {d_loss:.5f} is not the loss measured before D's "
                f"update ({want_d:.5f}, or half of it for the average).")
    if not math.isclose(g_loss, want_g, rel_tol=1e-4, abs_tol=1e-6):
        return (f"the updates are right but the returned g_loss {g_loss:.5f} is not the loss measured before G's "
                f"update, against the updated D ({want_g:.5f}).")
    return None
