"""What diffusion and flow models share (denoising): scaling, the trainer (loop, NaN guard, EMA,
lr schedule), weights files."""

import math

import pytest
import torch

from gan_course import checkpoints
from gan_course.denoising import DenoiserTrainer, load_payload, rebuild, require_time, save_weights
from gan_course.diffusion import Diffusion
from gan_course.flow_matching import FlowMatching
from gan_course.loop import NonFiniteLossError
from gan_course.time_nets import TimeMLP

pytestmark = pytest.mark.usefixtures("one_thread")


def data(n=512):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(0)) * torch.tensor([3.0, 1.0]) + 5


def test_scaling_standardises_with_the_mean_and_one_overall_scale():
    model = FlowMatching(TimeMLP()).set_scaling(data())
    x = data()
    z = model.to_model_units(x)
    assert torch.allclose(z.mean(0), torch.zeros(2), atol=1e-5)
    assert float(z.pow(2).mean()) == pytest.approx(1.0, rel=1e-4)  # one scale: the aspect is kept
    assert float(z[:, 0].std() / z[:, 1].std()) == pytest.approx(float(x[:, 0].std() / x[:, 1].std()), rel=1e-4)
    assert torch.allclose(model.to_data_units(z), x, atol=1e-5)


def test_trainer_steps_averages_and_records():
    torch.manual_seed(0)
    trainer = DenoiserTrainer(Diffusion(TimeMLP(2, 16, 1), num_steps=50), data(), lr=1e-2, batch_size=64, ema=0.9)
    before = [p.clone() for p in trainer.ema_model.parameters()]
    trainer.fit(steps=5, progress=False)
    assert trainer.global_step == 5 and trainer.history["step"] == [1, 2, 3, 4, 5] and len(trainer.history["loss"]) == 5
    assert not all(torch.equal(a, b) for a, b in zip(before, trainer.ema_model.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(trainer.ema_model.parameters(), trainer.model.parameters()))
    assert trainer.sampling_model is trainer.ema_model
    no_ema = DenoiserTrainer(FlowMatching(TimeMLP(2, 8, 1)), data(), ema=0)
    assert no_ema.sampling_model is no_ema.model


def test_the_same_seed_trains_the_same_model():
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        trainer = DenoiserTrainer(FlowMatching(TimeMLP(2, 8, 1)), data(), batch_size=32, seed=3)
        trainer.fit(steps=4, progress=False)
        runs.append(trainer.history["loss"])
    assert runs[0] == runs[1]


def test_lr_decay_follows_the_cosine_and_puts_the_rate_back():
    trainer = DenoiserTrainer(FlowMatching(TimeMLP(2, 8, 1)), data(), lr=1e-2, batch_size=32)
    seen = []
    original = trainer.step
    trainer.step = lambda: (seen.append(trainer.optimizer.param_groups[0]["lr"]), original())
    trainer.fit(steps=4, progress=False, lr_decay=True)
    assert seen == pytest.approx([1e-2 * 0.5 * (1 + math.cos(math.pi * t / 4)) for t in range(4)])
    assert trainer.optimizer.param_groups[0]["lr"] == 1e-2
    with pytest.raises(ValueError, match="lr_decay needs steps"):
        trainer.fit(seconds=1, lr_decay=True)


def test_a_nan_loss_stops_before_the_update():
    trainer = DenoiserTrainer(FlowMatching(TimeMLP(2, 8, 1)), data(), batch_size=32)
    before = [p.clone() for p in trainer.model.parameters()]
    trainer.model.loss = lambda x, g: (torch.tensor(float("nan"), requires_grad=True), {"loss": float("nan")})
    with pytest.raises(NonFiniteLossError, match="loss became nan at step 1"):
        trainer.step()
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.model.parameters()))


def test_weights_round_trip_and_refuse_another_kind(tmp_path):
    torch.manual_seed(0)
    model = Diffusion(TimeMLP(2, 8, 1, octaves=2), num_steps=30, schedule="cosine").set_scaling(data())
    path = save_weights(model, tmp_path / "w.pt", info={"data": "ring8"})
    payload = load_payload(path, ("diffusion",))
    copy = rebuild(payload, Diffusion, num_steps=30, schedule="cosine")
    assert torch.equal(copy.sample(20, steps=5, seed=0), model.sample(20, steps=5, seed=0))
    assert payload["info"] == {"data": "ring8"} and checkpoints.kind_of(path) == "diffusion"
    with pytest.raises(ValueError, match="does not hold flow_matching weights"):
        load_payload(path, ("flow_matching",))
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_payload(tmp_path / "missing.pt", ("diffusion",))


def test_bad_input():
    with pytest.raises(ValueError, match=r"t must be a number in \[0, 1\], got 2"):
        require_time(2)
    with pytest.raises(ValueError, match="batch_size"):
        DenoiserTrainer(FlowMatching(TimeMLP()), data(16), batch_size=17)
    with pytest.raises(ValueError, match="ema"):
        DenoiserTrainer(FlowMatching(TimeMLP()), data(16), ema=1.0)
    with pytest.raises(ValueError, match="holds torch.int64 values"):
        DenoiserTrainer(FlowMatching(TimeMLP()), torch.ones(10, 2, dtype=torch.long))
