"""gan_course.resume: a trainer's checkpoint loads all-or-nothing, and its config comes back with it."""

import copy
import warnings

import pytest
import torch

from gan_course import checkpoints, recipes
from gan_course.checkpoints import CheckpointError
from helpers import params, same

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = recipes.TOY_RECIPES["ring8"].replace(width=8, depth=1, batch_size=16, num_data=64, lr_decay=0.0)


def trainer(**changes):
    recipe = TINY.replace(**changes) if changes else TINY
    return recipes.toy_trainer("ring8", seed=0, device="cpu", recipe=recipe)


def snapshot(t) -> dict:
    """Everything loading could touch, copied."""
    return {"g": params(t.generator), "d": params(t.discriminator), "config": t.config,
            "opt_d": copy.deepcopy(t.opt_d.state_dict()), "counters": (t.global_step, t.d_updates, t.g_updates),
            "history": copy.deepcopy(t.history), "sampler": t.sampler.state_dict()["pos"]}


def unchanged(t, before: dict) -> bool:
    after = snapshot(t)
    return (same(after["g"], before["g"]) and same(after["d"], before["d"]) and after["config"] == before["config"]
            and after["counters"] == before["counters"] and after["history"] == before["history"]
            and after["sampler"] == before["sampler"]
            and str(after["opt_d"]) == str(before["opt_d"]))


@pytest.fixture
def saved():
    t = trainer()
    t.fit(steps=4, progress=False)
    return t.state_dict()


def mutate(state: dict, how: str) -> dict:
    state = copy.deepcopy(state)
    if how == "missing key":
        del state["opt_g"]
    elif how == "generator shape":
        key = next(k for k in state["generator"] if k.endswith("weight"))
        state["generator"][key] = torch.zeros(3, 3)
    elif how == "discriminator extra key":
        state["discriminator"]["extra.weight"] = torch.zeros(1)
    elif how == "optimizer for other parameters":
        state["opt_d"]["param_groups"][0]["params"] = state["opt_d"]["param_groups"][0]["params"][:-1]
    elif how == "optimizer moment shape":
        first = next(iter(state["opt_d"]["state"].values()))
        first["exp_avg"] = torch.zeros(7)
    elif how == "counters":
        del state["counters"]["g_updates"]
    elif how == "sampler for other data":
        state["rng"]["sampler"]["perm"] = torch.arange(10)
    elif how == "invalid config":
        state["config"]["d_steps"] = 0
    elif how == "custom loss":
        state["config"]["loss"] = "custom"
    return state


@pytest.mark.parametrize("how", ["missing key", "generator shape", "discriminator extra key",
                                 "optimizer for other parameters", "optimizer moment shape", "counters",
                                 "sampler for other data", "invalid config", "custom loss"])
def test_any_mismatch_is_refused_before_anything_changes(saved, how):
    t = trainer()
    t.fit(steps=2, progress=False)
    before = snapshot(t)
    with pytest.raises(ValueError, match="nothing was loaded"):
        t.load_state_dict(mutate(saved, how))
    assert unchanged(t, before), f"a refused load ({how}) changed the trainer"


def test_other_kinds_of_file_are_refused_before_anything_changes(tmp_path):
    t = trainer()
    before = snapshot(t)
    for kind in ("gan_weights", "gan2d_state", "classifier"):
        checkpoints.save(tmp_path / f"{kind}.pt", kind, {"generator": {}})
        with pytest.raises(CheckpointError, match=f"holds a '{kind}' checkpoint, but a 'gan_trainer'"):
            t.load(tmp_path / f"{kind}.pt")
    with pytest.raises(CheckpointError, match="'gan_weights' checkpoint, but a 'gan_trainer'"):
        t.load(recipes.pretrained_path("dcgan"))  # the shipped weights are not a trainer
    assert unchanged(t, before)


def test_the_saved_config_is_restored_and_the_differences_reported(tmp_path):
    t = trainer(loss="hinge", d_steps=3, lr_d=3e-3)
    t.fit(steps=2, progress=False)
    t.save(tmp_path / "c.pt")
    other = trainer()  # the recommended settings: non-saturating, d_steps 1, lr 5e-4
    with pytest.warns(UserWarning, match=r"loss 'hinge' \(the trainer had 'nonsaturating'\).*d_steps 3"):
        other.load(tmp_path / "c.pt")
    assert (other.config.loss, other.config.d_steps, other.config.lr_d) == ("hinge", 3, 3e-3)
    assert other.loss.name == "hinge" and other.opt_d.param_groups[0]["lr"] == pytest.approx(3e-3)
    t.step(), other.step()  # and it goes on exactly as the saved run does
    assert same(params(t.generator), params(other.generator)) and t.d_updates == other.d_updates == 9


def test_a_checkpoint_of_the_same_settings_loads_without_a_warning(tmp_path):
    t = trainer()
    t.fit(steps=2, progress=False)
    t.save(tmp_path / "c.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trainer().load(tmp_path / "c.pt")


def test_another_optimizer_in_the_checkpoint_is_rebuilt_before_its_state_loads(tmp_path):
    t = trainer(optimizer_g="sgd")
    t.fit(steps=2, progress=False)
    t.save(tmp_path / "c.pt")
    other = trainer()
    with pytest.warns(UserWarning, match="optimizer_g 'sgd'"):
        other.load(tmp_path / "c.pt")
    assert isinstance(other.opt_g, torch.optim.SGD) and isinstance(other.opt_d, torch.optim.Adam)


def test_a_weight_average_in_the_checkpoint_comes_back(tmp_path):
    t = trainer(ema=0.9)
    t.fit(steps=3, progress=False)
    t.save(tmp_path / "c.pt")
    other = trainer()
    assert other.generator_ema is None
    with pytest.warns(UserWarning, match="ema 0.9"):
        other.load(tmp_path / "c.pt")
    assert same(params(other.generator_ema), params(t.generator_ema))
    torch.testing.assert_close(other.sample(8, seed=1), t.sample(8, seed=1))


def test_device_and_precision_stay_the_machines():
    t = trainer()
    state = t.state_dict()
    state["config"]["device"] = "cuda"  # saved on a GPU machine
    state["config"]["precision"] = "bf16"
    t.load_state_dict(state)
    assert (t.config.device, t.config.precision) == ("cpu", "auto")
