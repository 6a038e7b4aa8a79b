"""Each notebook-04 check accepts the reference answer and rejects planted common mistakes."""

import math

import torch

from gan_course import checks, vae


def test_vae_kl():
    assert checks.vae_kl(vae.gaussian_kl)
    no_half = checks.vae_kl(lambda mu, lv: 2 * vae.gaussian_kl(mu, lv))
    assert not no_half and "1/2" in no_half.message
    not_summed = checks.vae_kl(lambda mu, lv: 0.5 * (lv.exp() + mu**2 - 1 - lv))
    assert not not_summed and "sum over them" in not_summed.message
    log_std = checks.vae_kl(lambda mu, lv: 0.5 * (torch.exp(2 * lv) + mu**2 - 1 - 2 * lv).sum(1))
    assert not log_std and "log sigma^2" in log_std.message
    assert "fill in" in checks.vae_kl(lambda mu, lv: None).message
    assert "raised" in checks.vae_kl(lambda mu, lv: 1 / 0).message


def test_reparameterize():
    assert checks.reparameterize(lambda mu, lv, eps: vae.reparameterize(mu, lv, eps=eps))
    variance = checks.reparameterize(lambda mu, lv, eps: mu + lv.exp() * eps)
    assert not variance and "variance" in variance.message
    assert not checks.reparameterize(lambda mu, lv, eps: mu + eps)


def test_iw_bound():
    assert checks.iw_bound(lambda a: vae.log_mean_exp(a, dim=1))
    elbo = checks.iw_bound(lambda a: a.mean(1))
    assert not elbo and "ELBO" in elbo.message
    naive = checks.iw_bound(lambda a: a.exp().mean(1).log())
    assert not naive and "logsumexp" in naive.message
    no_k = checks.iw_bound(lambda a: torch.logsumexp(a, 1))
    assert not no_k and "log k" in no_k.message
    wrong_dim = checks.iw_bound(lambda a: torch.logsumexp(a, 0) - math.log(a.shape[0]))
    assert not wrong_dim


def test_mse_minimizer():
    gen = torch.Generator().manual_seed(0)
    x = torch.bernoulli(torch.full((60, 1, 4, 4), 0.3), generator=gen)
    y = torch.arange(60) % 3
    means = torch.stack([x[y == c].mean(0) for c in range(3)])
    assert checks.mse_minimizer(means, x, y)
    pooled = checks.mse_minimizer(x.mean(0).expand(3, 1, 4, 4), x, y)
    assert not pooled and "per class" in pooled.message
    medians = checks.mse_minimizer(torch.stack([x[y == c].median(0).values for c in range(3)]), x, y)
    assert not medians and "median" in medians.message
    assert not checks.mse_minimizer(means[:2], x, y)
    assert "fill in" in checks.mse_minimizer(None, x, y).message
