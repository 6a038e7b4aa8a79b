"""Self-checks for the notebooks' exercises, one module per track.

Each check takes the student's answer (a number, a tensor or a function), compares it with the
reference, and returns a ``CheckResult`` that prints as a green tick or a red cross with a hint.
A check must accept the reference solution and reject the common mistakes; tests make sure of it.

In a notebook::

    from gan_course import checks
    checks.gaussian_mle(my_mean, my_var)   # shows ✓ or ✗ with a hint

Every check is importable from here; the track modules hold them:

- ``checks.density``: maximum likelihood, naive Bayes, mixtures and EM (notebooks 01-03)
- ``checks.vae``: latent variables and the VAE (notebook 04)
- ``checks.gan1d``: GAN theory in one dimension (notebook 05)
- ``checks.gan2d``: GANs on 2-D data (notebook 06)
- ``checks.dcgan``, ``checks.cgan``, ``checks.wgan``: the image GANs (notebooks 07-09)
- ``checks.recsys``: context-aware recommendation (appendix B1)
- ``checks.statistical_models``: HMM forward recursion, stick-breaking, MH acceptance (notebook A2)
- ``checks.autoregressive``: the chain rule, MADE's masks, the coupling layer (notebook A1)
- ``checks.applications``: semi-supervised D loss, matching-aware D loss, code discriminator (notebook 10)
- ``checks.beyond_gans``: forward noising, the flow-matching target, FID between Gaussians (notebook 11)
"""

from gan_course.checks.core import CheckResult, compare, failed, passed
from gan_course.checks.density import (bernoulli_mle, bits_per_dim, class_mean_image, gaussian_log_likelihood,
                                       gaussian_mle, gmm_num_parameters, m_step_means, mixture_moments,
                                       naive_bayes_log_prob, naive_bayes_pixel_probs, responsibilities)
from gan_course.checks.vae import iw_bound, mse_minimizer, reparameterize, vae_kl
from gan_course.checks.gan1d import (dirac_gan_eigenvalues, gan_training_step, gan_value_at_optimum,
                                     nonsaturating_loss, optimal_discriminator)
from gan_course.checks.gan2d import modes_covered, pack_samples, r1_penalty, reverse_kl_to_uniform
from gan_course.checks.dcgan import (dcgan_discriminator_shapes, slerp, transposed_conv_size,
                                     underrepresented_digit)
from gan_course.checks.cgan import label_plane, per_digit_accuracy, smoothed_d_loss
from gan_course.checks.wgan import LIPSCHITZ_CHOICES, gradient_penalty, lipschitz_capacity, wasserstein_1d
from gan_course.checks.recsys import latent_e_step, post_filter, recall_at_k
from gan_course.checks.statistical_models import hmm_forward, mh_acceptance, stick_breaking
from gan_course.checks.autoregressive import coupling_forward, fvsbn_log_prob, made_output_mask
from gan_course.checks.beyond_gans import flow_matching_target, forward_noising, gaussian_fid
from gan_course.checks.applications import code_discriminator_loss, matching_aware_d_loss, semi_supervised_d_loss

__all__ = [
    "CheckResult", "compare", "failed", "passed",
    "bernoulli_mle", "bits_per_dim", "gaussian_log_likelihood", "gaussian_mle", "gmm_num_parameters",
    "m_step_means", "naive_bayes_log_prob", "naive_bayes_pixel_probs", "responsibilities",
    "iw_bound", "mse_minimizer", "reparameterize", "vae_kl",
    "dirac_gan_eigenvalues", "gan_value_at_optimum", "nonsaturating_loss", "optimal_discriminator",
    "gan_training_step",
    "class_mean_image", "mixture_moments",
    "modes_covered", "pack_samples", "r1_penalty", "reverse_kl_to_uniform",
    "dcgan_discriminator_shapes", "slerp", "transposed_conv_size", "underrepresented_digit",
    "label_plane", "per_digit_accuracy", "smoothed_d_loss",
    "LIPSCHITZ_CHOICES", "gradient_penalty", "lipschitz_capacity", "wasserstein_1d",
    "latent_e_step", "post_filter", "recall_at_k",
    "hmm_forward", "mh_acceptance", "stick_breaking",
    "coupling_forward", "fvsbn_log_prob", "made_output_mask",
    "code_discriminator_loss", "matching_aware_d_loss", "semi_supervised_d_loss",
    "flow_matching_target", "forward_noising", "gaussian_fid",
]
