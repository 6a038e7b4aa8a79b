"""The shipped files in assets/models/ give, after their conversion to the one checkpoint format,
exactly what they gave before it.

``tests/data/shipped_outputs_v1.npz`` was recorded with the code of commit f84c6ec (gan_course
0.1, before ``gan_course.checkpoints``) from the files as they were then: samples, generator and
discriminator outputs, histories and counters of the three image GANs (CPU, fp32, eval mode,
fixed seeds), of the five 2-D dashboard states, and the classifier's logits on 32 test digits.
``tools/convert_checkpoints.py`` then rewrote the files; these tests load them with today's code
and compare bit for bit.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from gan_course import classifier, data, nets, recipes
from gan_course.data import DATASETS_2D
from gan_course.widgets.gan2d import GAN2DDashboard

pytestmark = pytest.mark.usefixtures("one_thread")

RECORDED = np.load(Path(__file__).parent / "data" / "shipped_outputs_v1.npz")


def same(a, key: str) -> None:
    expected = RECORDED[key]
    got = np.asarray(a)
    assert got.shape == expected.shape, key
    assert np.array_equal(got, expected), f"{key}: max difference {np.abs(got - expected).max()}"


@pytest.mark.parametrize("kind", recipes.KINDS)
def test_image_gan_weights_give_the_same_samples_as_before_the_conversion(kind):
    t = recipes.load_pretrained(kind, device="cpu", precision="fp32")
    x_fake, _ = recipes.sample_images(t, 20, seed=0)  # from the weight average (ema), eval mode
    same(x_fake.numpy(), f"{kind}/sample_images")
    z = t.latent_sampler(10, torch.Generator().manual_seed(1))
    y = None if t.num_classes is None else torch.arange(10)
    with torch.no_grad(), nets.eval_mode(t.generator, t.discriminator):
        g = t.generator(z) if y is None else t.generator(z, y)
        same(g.numpy(), f"{kind}/generator")
        same((t.discriminator(g) if y is None else t.discriminator(g, y)).numpy(), f"{kind}/discriminator")
    same(np.asarray(t.history["g_loss"], dtype=np.float64), f"{kind}/history_g_loss")
    same([t.global_step, t.d_updates, t.g_updates], f"{kind}/counters")


@pytest.mark.parametrize("name", DATASETS_2D)
def test_2d_dashboard_states_give_the_same_samples_as_before_the_conversion(name):
    dash = GAN2DDashboard.pretrained(name)
    t = dash.trainer
    same(t.sample(64, seed=1).numpy(), f"gan2d_{name}/samples")
    points = torch.linspace(-2, 2, 9)
    grid = torch.cartesian_prod(points, points)  # (81, 2)
    with torch.no_grad():  # as recorded: each point shown to D as a pack of m copies of itself
        logits = t.discriminator(grid.repeat_interleave(t.discriminator.pack, dim=0))  # (81,)
        same(logits.numpy(), f"gan2d_{name}/logits")
    same(np.asarray(t.history["d_loss"], dtype=np.float64), f"gan2d_{name}/history_d_loss")
    same(np.asarray(dash.curves["js"], dtype=np.float64), f"gan2d_{name}/curves_js")
    same([t.global_step, t.d_updates, t.g_updates, dash.steps_done], f"gan2d_{name}/counters")


def test_classifier_weights_give_the_same_logits_as_before_the_conversion():
    model = classifier.load_classifier()
    x, _ = data.mnist("test", source="bundled")
    with torch.no_grad():
        same(model(x[:32]).numpy(), "classifier/logits")
