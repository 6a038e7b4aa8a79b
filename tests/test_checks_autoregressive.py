"""Notebook A1's self-checks accept the reference answers (written several ways) and reject planted mistakes."""

import torch
import torch.nn.functional as F

from gan_course import autoregressive, checks


# --- the chain-rule log-likelihood of an FVSBN -------------------------------------------------


def by_logsigmoid(x, W, b):
    logits = x @ torch.tril(W, -1).T + b
    return (x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).sum(1)


def by_loop(x, W, b):
    total = torch.zeros(len(x), dtype=x.dtype)
    for j in range(x.shape[1]):
        p = torch.sigmoid(b[j] + x[:, :j] @ W[j, :j])
        total = total + torch.distributions.Bernoulli(probs=p).log_prob(x[:, j])
    return total


def by_package(x, W, b):
    model = autoregressive.FVSBN(x.shape[1]).double()
    with torch.no_grad():
        model.linear.weight.copy_(W)
        model.linear.bias.copy_(b)
    return model.log_prob(x)


def test_fvsbn_log_prob_accepts_the_right_answer_written_three_ways():
    for fn in (by_logsigmoid, by_loop, by_package):
        result = checks.fvsbn_log_prob(fn)
        assert result, result.message


def planted(mask=lambda W: torch.tril(W, -1), transpose=True, zeros=True, reduce="row", as_prob=False):
    def fn(x, W, b):
        M = mask(W)
        logits = x @ (M.T if transpose else M) + b
        per_pixel = x * F.logsigmoid(logits) + ((1 - x) * F.logsigmoid(-logits) if zeros else 0)
        out = per_pixel.sum(1) if reduce == "row" else per_pixel.mean(1) if reduce == "mean" else per_pixel.sum()
        return out.exp() if as_prob else out
    return fn


def test_fvsbn_log_prob_names_each_planted_mistake():
    cases = [(planted(mask=lambda W: W), "all of W"),
             (planted(mask=lambda W: torch.tril(W)), "diagonal"),
             (planted(mask=lambda W: torch.triu(W, 1)), "Wrong triangle"),
             (planted(transpose=False), "Transpose"),
             (planted(zeros=False), "(1 - x)"),
             (planted(as_prob=True), "log-likelihood"),
             (planted(reduce="mean"), "do not average"),
             (planted(reduce="all"), "one log-likelihood per row")]
    for fn, words in cases:
        result = checks.fvsbn_log_prob(fn)
        assert not result and words in result.message, (words, result.message)
    assert not checks.fvsbn_log_prob(None)
    assert "still None" in checks.fvsbn_log_prob(lambda x, W, b: None).message
    assert "raised" in checks.fvsbn_log_prob(lambda x, W, b: 1 / 0).message


# --- MADE's output mask ---------------------------------------------------------------------------


def test_made_output_mask():
    assert checks.made_output_mask(lambda m, D: (torch.arange(1, D + 1)[:, None] > m[None, :]).float())
    assert checks.made_output_mask(lambda m, D: autoregressive.autoregressive_mask(m, torch.arange(1, D + 1), strict=True))
    not_strict = checks.made_output_mask(lambda m, D: (torch.arange(1, D + 1)[:, None] >= m[None, :]).float())
    assert not not_strict and "Strictly larger" in not_strict.message
    transposed = checks.made_output_mask(lambda m, D: (torch.arange(1, D + 1)[None, :] > m[:, None]).float())
    assert not transposed and "transpose" in transposed.message
    from_zero = checks.made_output_mask(lambda m, D: (torch.arange(D)[:, None] > m[None, :]).float())
    assert not from_zero and "from 1 to D" in from_zero.message
    assert not checks.made_output_mask(lambda m, D: torch.ones(D, len(m)))
    assert not checks.made_output_mask(None)


# --- the affine coupling layer ----------------------------------------------------------------------


def coupling(x, mask, s_net, t_net):
    s, t = s_net(mask * x), t_net(mask * x)
    y = mask * x + (1 - mask) * (x * torch.exp(s) + t)
    return y, ((1 - mask) * s).sum(dim=1)


def coupling_with_where(x, mask, s_net, t_net):
    kept = x * mask
    s, t = s_net(kept), t_net(kept)
    y = torch.where(mask.bool(), x, x * s.exp() + t)
    return y, torch.where(mask.bool(), torch.zeros_like(s), s).sum(-1)


def test_coupling_forward_accepts_the_right_answer():
    for fn in (coupling, coupling_with_where):
        result = checks.coupling_forward(fn)
        assert result, result.message


def test_coupling_forward_names_each_planted_mistake():
    def unmasked_input(x, mask, s_net, t_net):
        s, t = s_net(x), t_net(x)
        return mask * x + (1 - mask) * (x * s.exp() + t), ((1 - mask) * s).sum(1)

    def all_transformed(x, mask, s_net, t_net):
        s, t = s_net(mask * x), t_net(mask * x)
        return x * s.exp() + t, s.sum(1)

    def all_s(x, mask, s_net, t_net):
        y, _ = coupling(x, mask, s_net, t_net)
        return y, s_net(mask * x).sum(1)

    def exp_s(x, mask, s_net, t_net):
        y, _ = coupling(x, mask, s_net, t_net)
        return y, ((1 - mask) * s_net(mask * x).exp()).sum(1)

    def minus(x, mask, s_net, t_net):
        y, log_det = coupling(x, mask, s_net, t_net)
        return y, -log_det

    cases = [(unmasked_input, "only the kept coordinates"), (all_transformed, "pass unchanged"),
             (all_s, "Only the transformed coordinates"), (exp_s, "not exp(s)"), (minus, "Sign")]
    for fn, words in cases:
        result = checks.coupling_forward(fn)
        assert not result and words in result.message, (words, result.message)
    assert "pair" in checks.coupling_forward(lambda x, m, s, t: x).message
    assert not checks.coupling_forward(lambda x, m, s, t: (x, torch.zeros(len(x))))
    assert not checks.coupling_forward(None)
