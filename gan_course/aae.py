r"""The adversarial autoencoder of drug discovery, on digits (Makhzani et al., 2015; Kadurin et al., 2017).

Kadurin et al. encoded molecules (166-bit fingerprints) into a 5-unit latent code: one unit was
tied to the molecule's measured growth inhibition, the other four were pushed towards a standard
normal by a discriminator *on codes*. Turning the first unit then asked the decoder for molecules
with more or less of the property. Here binarised digits play the fingerprints (784 bits) and
their ink (the share of pixels on) plays the property:

.. math:: z = E(x) = (z_p, z_1, \dots, z_4), \qquad
    \mathcal L_{AE} = \underbrace{\mathrm{BCE}(D_{ec}(z), x)}_{\text{reconstruction}}
    + \lambda\,\underbrace{(z_p - s(x))^2}_{\text{regression}}
    + \underbrace{\operatorname{softplus}(-C(z_{1..4}))}_{\text{fool the code discriminator}}

with :math:`s(x)` the ink standardised over the training digits, and the code discriminator
:math:`C` trained to tell prior samples :math:`u \sim \mathcal N(0, I_4)` ("real") from codes
("fake"): :math:`\mathcal L_C = \operatorname{softplus}(-C(u)) + \operatorname{softplus}(C(z_{1..4}))`.
A variational autoencoder would pull each code towards the prior with a KL term; the AAE matches
the *aggregate* distribution of the codes to it, adversarially, and needs only samples of the prior.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan_course import app_runs, attributes, data, runs
from gan_course.loop import check_finite, fit_loop, make_optimizer
from gan_course.losses import minimax_d_loss, nonsaturating_g_loss
from gan_course.validate import require_int, require_positive_number

NUM_FREE = 4  # the units matched to N(0, 1); the code has one more, the property
DIALS = (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0)  # property values (in training std) the dial is tested at


def code_discriminator_loss(prior_logits: torch.Tensor, code_logits: torch.Tensor) -> torch.Tensor:
    r"""The code discriminator's loss: prior samples are "real", the encoder's codes "fake".

    .. math:: \mathcal L_C = -\mathbb E_{u \sim \mathcal N(0, I)}\log C(u) - \mathbb E_x \log(1 - C(E(x)))
        = \mathbb E\operatorname{softplus}(-\ell_{prior}) + \mathbb E\operatorname{softplus}(\ell_{code})

    The GAN discriminator's loss (``losses.minimax_d_loss``) with the prior in the role of the data.

    >>> round(code_discriminator_loss(torch.zeros(3), torch.zeros(5)).item(), 4)  # 2 log 2
    1.3863
    """
    return minimax_d_loss(prior_logits, code_logits)


@dataclass(frozen=True)
class AAESpec:
    """The three networks and the loss weights (defaults: measured in benchmarks/bench_applications.py)."""

    hidden: int = 512  # encoder and decoder: 784 -> hidden -> hidden/2 -> 5 and back
    width_d: int = 256  # the code discriminator's two hidden layers
    regression_weight: float = 10.0  # lambda, the weight of the property's regression term

    def __post_init__(self) -> None:
        require_int("hidden", self.hidden, 2)
        require_int("width_d", self.width_d)
        require_positive_number("regression_weight", self.regression_weight)


class AdversarialAutoencoder(nn.Module):
    """Encoder (784 bits -> 5 units), decoder (5 units -> 784 Bernoulli logits), code discriminator (4 -> logit).

    ``mean`` and ``std`` (buffers) standardise the property, so unit 0 reads in training std units.
    """

    def __init__(self, spec: AAESpec = AAESpec()) -> None:
        super().__init__()
        h = spec.hidden
        self.spec = spec
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, h), nn.ReLU(), nn.Linear(h, h // 2), nn.ReLU(),
                                     nn.Linear(h // 2, 1 + NUM_FREE))
        self.decoder = nn.Sequential(nn.Linear(1 + NUM_FREE, h // 2), nn.ReLU(), nn.Linear(h // 2, h), nn.ReLU(),
                                     nn.Linear(h, 784))
        w = spec.width_d
        self.code_discriminator = nn.Sequential(nn.Linear(NUM_FREE, w), nn.LeakyReLU(0.2), nn.Linear(w, w),
                                                nn.LeakyReLU(0.2), nn.Linear(w, 1))
        self.register_buffer("mean", torch.zeros(()))
        self.register_buffer("std", torch.ones(()))

    def standardised_property(self, x: torch.Tensor) -> torch.Tensor:
        """The ink of binary digits (B, 1, 28, 28) in training std units: (B,)."""
        return (attributes.ink(x) - self.mean) / self.std

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 28, 28) binary -> codes (B, 5): unit 0 the property, units 1-4 free."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes (B, 5) -> pixel probabilities (B, 1, 28, 28)."""
        return torch.sigmoid(self.decoder(z)).view(-1, 1, 28, 28)

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Reconstruction (BCE summed over pixels), regression and the encoder's adversarial loss."""
        z = self.encode(x)  # (B, 5)
        logits = self.decoder(z)  # (B, 784)
        reconstruction = F.binary_cross_entropy_with_logits(logits, x.flatten(1), reduction="sum") / len(x)
        regression = (z[:, 0] - self.standardised_property(x)).pow(2).mean()
        adversarial = nonsaturating_g_loss(self.code_discriminator(z[:, 1:]).squeeze(1))
        return {"reconstruction": reconstruction, "regression": regression, "adversarial": adversarial, "z": z}

    @torch.no_grad()
    def dial(self, values: torch.Tensor, free: torch.Tensor) -> torch.Tensor:
        """Decode the property ``values`` (B,) with free units ``free`` (B, 4): probabilities (B, 1, 28, 28)."""
        return self.decode(torch.cat([values[:, None], free], dim=1))  # (B, 5) codes


class AAETrainer:
    """Adam on the autoencoder and on the code discriminator; ``step()`` is one update of each.

    Args:
        model: the networks (their ``mean``/``std`` are set here from ``x``).
        x: binary training digits (N, 1, 28, 28).
        lr, batch_size, seed: Adam's learning rate (betas 0.5, 0.999), digits per step, the seed.
    """

    def __init__(self, model: AdversarialAutoencoder, x: torch.Tensor, lr: float = 1e-3, batch_size: int = 100,
                 seed: int = 0) -> None:
        self.model, self.x, self.batch_size = model, x, batch_size
        ink = attributes.ink(x)
        model.mean.fill_(float(ink.mean()))
        model.std.fill_(float(ink.std()))
        device = torch.device("cpu")
        self.opt_ae = make_optimizer("adam", [*model.encoder.parameters(), *model.decoder.parameters()], lr,
                                     (0.5, 0.999), device)
        self.opt_d = make_optimizer("adam", model.code_discriminator.parameters(), lr, (0.5, 0.999), device)
        self.gen = torch.Generator().manual_seed(seed)
        self.steps = 0
        self.history: dict[str, list[float]] = {k: [] for k in ("reconstruction", "regression", "adversarial", "d_loss")}
        self.lr = lr

    def step(self) -> None:
        """One code-discriminator update, then one autoencoder update (reconstruction + regression + adversarial)."""
        m = self.model
        x = self.x[torch.randint(len(self.x), (self.batch_size,), generator=self.gen)]  # (B, 1, 28, 28)
        # Train the code discriminator: prior samples are real, codes are fake
        with torch.no_grad():
            codes = m.encode(x)[:, 1:]  # (B, 4)
        prior = torch.randn(len(x), NUM_FREE, generator=self.gen)
        d_loss = code_discriminator_loss(m.code_discriminator(prior).squeeze(1), m.code_discriminator(codes).squeeze(1))
        check_finite({"d_loss": d_loss.item()}, self.steps + 1, hint=f"Lower lr (now {self.lr}).")
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        # Train the autoencoder: reconstruct, regress the property, fool the code discriminator
        m.code_discriminator.requires_grad_(False)
        try:
            parts = m.losses(x)
            loss = parts["reconstruction"] + m.spec.regression_weight * parts["regression"] + parts["adversarial"]
            values = {k: parts[k].item() for k in ("reconstruction", "regression", "adversarial")}
            check_finite(values, self.steps + 1, hint=f"Lower lr (now {self.lr}).")
            self.opt_ae.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_ae.step()
        finally:
            m.code_discriminator.requires_grad_(True)
        self.steps += 1
        for k, v in {**values, "d_loss": d_loss.item()}.items():
            self.history[k].append(v)

    def fit(self, steps: int | None = None, seconds: float | None = None, progress: bool = False) -> bool:
        """``step()`` until ``steps`` or ``seconds`` run out; returns whether it was interrupted."""
        self.model.train()
        last = lambda: {k: f"{v[-1]:.2f}" for k, v in self.history.items() if v}  # noqa: E731
        try:
            _, interrupted = fit_loop(self.step, steps, seconds, progress, desc="adversarial autoencoder", postfix=last)
        finally:
            self.model.eval()
        return interrupted


# --------------------------------------------------------------------------------------------
# Measurements: does the dial work, are the free units normal?
# --------------------------------------------------------------------------------------------


def dial_samples(model: AdversarialAutoencoder, per_value: int = 100, seed: int = 0,
                 values: tuple[float, ...] = DIALS) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode every dial value with the same ``per_value`` draws of the free units: (dials (V * n,),
    pixel probabilities (V * n, 1, 28, 28)), value by value."""
    free = torch.randn(per_value, NUM_FREE, generator=torch.Generator().manual_seed(seed))  # (n, 4)
    dials = torch.tensor(values).repeat_interleave(per_value)  # (V * n,)
    return dials, model.eval().dial(dials, free.repeat(len(values), 1))


def measure(model: AdversarialAutoencoder, x_test: torch.Tensor, seed: int = 0) -> dict:
    """The AAE's report: Spearman's rank correlation between the dialled property and the ink of the
    decoded digits (binarised at 1/2), the KS statistic of each free unit of the test codes against
    N(0, 1), and the correlation of unit 0 with the test digits' own property."""
    from scipy import stats

    dials, x_dial = dial_samples(model, seed=seed)
    measured = (attributes.ink(x_dial) - model.mean) / model.std  # (V * n,) in training std units
    with torch.no_grad():
        z = model.eval().encode(x_test)  # (N, 5)
    ks = [float(stats.kstest(z[:, 1 + j].double().numpy(), "norm").statistic) for j in range(NUM_FREE)]
    s = model.standardised_property(x_test)
    return {"rank_correlation": float(stats.spearmanr(dials.numpy(), measured.numpy()).statistic),
            "ks_free_units": ks, "ks_max": max(ks),
            "property_unit_correlation": float(torch.corrcoef(torch.stack([z[:, 0], s]))[0, 1]),
            "measured_by_dial": [float(measured[dials == v].mean()) for v in DIALS]}


# --------------------------------------------------------------------------------------------
# The command line: train aae, sample
# --------------------------------------------------------------------------------------------


def train_aae(out: str | Path, minutes: float = 5.0, seed: int = 0, progress: bool = False,
              write_grid: app_runs.WriteGrid | None = None, command: str = "", spec: AAESpec = AAESpec(),
              lr: float = 1e-3, batch_size: int = 100, steps: int | None = None) -> dict:
    """Train the adversarial autoencoder on the binarised train split (for ``minutes``, or ``steps``
    updates) and write ``out/``:
    ``weights.pt``, ``metrics.json`` (``rank_correlation``, ``ks_free_units``, ``ks_max``, ...) and,
    with ``write_grid``, ``grid.png`` (rows: the dial from -2 to +2 std; columns: the same free units).
    Returns the metrics dict."""
    seconds, seed, progress = app_runs.check_run(minutes, seed, progress)
    out = Path(out)
    x, _ = data.mnist("train", source="bundled", binarize=True)
    x_test, _ = data.mnist("test", source="bundled", binarize=True)
    budget = app_runs.Budget(seconds, steps)
    torch.manual_seed(seed)
    model = AdversarialAutoencoder(spec)
    trainer = AAETrainer(model, x, lr=lr, batch_size=batch_size, seed=seed)
    interrupted = trainer.fit(*budget.gan(), progress=progress)
    result = {"kind": "aae", "seed": seed, "steps": trainer.steps, **measure(model, x_test, seed),
              **budget.report(), "interrupted": interrupted}
    app_runs.save_weights(out / "weights.pt", "aae", {
        "spec": asdict(spec), "seed": seed, "steps": trainer.steps, "command": command, "property": "ink",
        "model": app_runs.half(model), "metrics": {k: v for k, v in result.items() if k != "measured_by_dial"},
        "headline": f"rank correlation {result['rank_correlation']:.3f}, largest KS {result['ks_max']:.3f}"})
    if write_grid is not None:
        write_grid(out / "grid.png", dial_grid(model, seed))
    runs.write_json(out / "metrics.json", result)
    return result


def dial_grid(model: AdversarialAutoencoder, seed: int = 0, rows: int = 10) -> torch.Tensor:
    """(rows * 10, 1, 28, 28): row r has the dial at -2 + 4 r / (rows - 1), the columns ten fixed free codes."""
    free = torch.randn(10, NUM_FREE, generator=torch.Generator().manual_seed(seed)).repeat(rows, 1)  # (rows * 10, 4)
    dials = torch.linspace(-2, 2, rows).repeat_interleave(10)  # (rows * 10,)
    return model.eval().dial(dials, free)


def load(weights_path: str | Path) -> AdversarialAutoencoder:
    """The adversarial autoencoder of a ``train aae`` run, in eval mode."""
    payload = app_runs.load_weights(weights_path, "aae")
    return app_runs.load_state(AdversarialAutoencoder(AAESpec(**payload["spec"])), payload["model"],
                               "adversarial autoencoder")


def sample_aae(weights_path: str | Path, n: int, seed: int = 0, digit: int | None = None, prompt: str | None = None,
               attribute: float | None = None) -> np.ndarray:
    """``n`` digits (uint8 (n, 28, 28), pixel probabilities) with the property unit at ``attribute``
    (in training std units; None: drawn from N(0, 1) like the free units)."""
    n, seed = app_runs.check_sample(n, seed)
    app_runs.refuse("aae", digit=digit, prompt=prompt)
    if attribute is not None:
        if isinstance(attribute, bool) or not isinstance(attribute, (int, float, np.integer, np.floating)) \
                or not np.isfinite(attribute):
            raise ValueError(f"attribute must be a finite number (the property unit in training std units, "
                             f"e.g. -2 to 2), got {attribute!r}")
    model = load(weights_path)
    gen = torch.Generator().manual_seed(seed)
    free = torch.randn(n, NUM_FREE, generator=gen)
    dials = torch.full((n,), float(attribute)) if attribute is not None else torch.randn(n, generator=gen)
    return app_runs.to_uint8(model.dial(dials, free))
