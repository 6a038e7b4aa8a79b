"""Benchmark: an unconditional DCGAN against a *self-conditioned* one (Liu et al., CVPR 2020).

The unconditional DCGAN of notebook 07 leaves shapes between digits (classifier score about 7.6
after 5 CPU minutes, where the conditional GAN of notebook 08 reaches 9.8 with the same networks).
A self-conditioned GAN needs no labels: it clusters the training images (k-means on the pixels,
``density.kmeans_labels``) and trains the conditional GAN on the cluster ids instead of the digit
labels. Sampling draws a cluster by its share of the data, then ``G(z, cluster)``: still a model
of p(x) alone.

Prints the clustering (size, purity against the true labels, which training never sees) and the
quality of 1,000 samples next to the real-vs-real reference (``classifier.evaluate_images``).

    python benchmarks/bench_self_conditioned.py [--clusters 20] [--minutes 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import torch

from gan_course import classifier, data, density, nets, recipes
from gan_course.config import cpu_has_native_bf16
from gan_course.train import GANTrainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=20, help="k of k-means (the number of conditions)")
    parser.add_argument("--minutes", type=float, default=5.0, help="training time")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    x, y = data.mnist("train", source="bundled")  # (N, 1, 28, 28) in [0, 1]; y only to report purity
    start = time.perf_counter()
    ids = density.kmeans_labels(x.flatten(1).double(), args.clusters, gen=torch.Generator().manual_seed(args.seed))
    sizes = torch.bincount(ids, minlength=args.clusters)
    purity = sum(int(torch.bincount(y[ids == j], minlength=10).max()) for j in range(args.clusters)) / len(x)
    print(f"k-means, k = {args.clusters}: {time.perf_counter() - start:.1f} s, purity {purity:.3f} "
          f"(share of images whose cluster's majority digit is their own), sizes {sizes.tolist()}")

    r = recipes.IMAGE_RECIPES["cgan"]  # the conditional recipe, with k conditions instead of 10 digits
    torch.manual_seed(args.seed)
    generator = nets.DCGANGenerator(r.latent_dim, r.width_g, args.clusters, upsample=r.upsample)
    discriminator = nets.DCGANDiscriminator(r.width_d, args.clusters, r.conditioning)
    trainer = GANTrainer(generator, discriminator, (recipes.to_gan_range(x), ids), r.loss, d_steps=r.d_steps,
                         lr_d=r.lr_d, lr_g=r.lr_g, betas=r.betas, batch_size=r.batch_size, ema=r.ema,
                         seed=args.seed, device="cpu", precision="bf16" if cpu_has_native_bf16() else "fp32")
    trainer.fit(seconds=60 * args.minutes, progress=False)

    gen = torch.Generator().manual_seed(args.seed)
    cluster = torch.multinomial(sizes.double() / len(x), classifier.EVAL_N, replacement=True, generator=gen)
    with nets.eval_mode(trainer.sampling_generator):
        x_fake = trainer.sample(classifier.EVAL_N, y=cluster, seed=args.seed).cpu()  # (1000, 1, 28, 28)
    print(f"{trainer.global_step} steps in {trainer.elapsed:.0f} s ({trainer.precision.name}), seed {args.seed}")
    print(classifier.format_report(classifier.evaluate_images(x_fake, value_range=(-1, 1))))


if __name__ == "__main__":
    main()
