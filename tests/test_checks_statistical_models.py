"""Each statistical-models check accepts the right answer written several ways and rejects a
planted common mistake with its specific hint."""

import torch

from gan_course import checks


# ----------------------------------------------------------------------- the forward recursion


def _forward_logsumexp(start, transition, emission, rolls):
    log_alpha = start.log() + emission[:, rolls[0]].log()
    for x in rolls[1:]:
        log_alpha = torch.logsumexp(log_alpha[:, None] + transition.log(), dim=0) + emission[:, x].log()
    return torch.logsumexp(log_alpha, dim=0)


def _forward_scaled(start, transition, emission, rolls):
    """Rabiner's scaling: normalise alpha at every step and add up the logs of the normalisers."""
    alpha = start * emission[:, rolls[0]]
    total = alpha.sum().log()
    alpha = alpha / alpha.sum()
    for x in rolls[1:]:
        alpha = (alpha @ transition) * emission[:, x]
        total = total + alpha.sum().log()
        alpha = alpha / alpha.sum()
    return total.item()


def test_hmm_forward_accepts_log_space_and_scaling():
    assert checks.hmm_forward(_forward_logsumexp)
    assert checks.hmm_forward(_forward_scaled)  # a float, not a tensor, is fine too


def test_hmm_forward_rejects_probability_space():
    def in_probabilities(start, transition, emission, rolls):
        alpha = start * emission[:, rolls[0]]
        for x in rolls[1:]:
            alpha = (alpha @ transition) * emission[:, x]
        return alpha.sum().log()

    result = checks.hmm_forward(in_probabilities)
    assert not result and "underflows" in result.message


def test_hmm_forward_rejects_a_transposed_matrix_and_a_missing_start():
    transposed = checks.hmm_forward(lambda s, a, e, r: _forward_logsumexp(s, a.T, e, r))
    assert not transposed and "transposed" in transposed.message
    no_start = checks.hmm_forward(lambda s, a, e, r: _forward_logsumexp(torch.ones_like(s), a, e, r))
    assert not no_start and "start probabilities" in no_start.message
    assert "fill in" in checks.hmm_forward(lambda s, a, e, r: None).message
    assert "raised" in checks.hmm_forward(lambda s, a, e, r: 1 / 0).message


# ----------------------------------------------------------------------- stick-breaking


def test_stick_breaking_accepts_a_loop_and_cumprod():
    def with_loop(v):
        left, out = 1.0, []
        for fraction in v:
            out.append(fraction * left)
            left = left * (1 - fraction)
        return torch.stack(out)

    def with_cumprod(v):
        return v * torch.cat([torch.ones(1, dtype=v.dtype), torch.cumprod(1 - v, 0)[:-1]])

    assert checks.stick_breaking(with_loop)
    assert checks.stick_breaking(with_cumprod)


def test_stick_breaking_rejects_the_off_by_one_and_renormalising():
    inclusive = checks.stick_breaking(lambda v: v * torch.cumprod(1 - v, 0))
    assert not inclusive and "includes (1 - v_k)" in inclusive.message

    def renormalised(v):
        w = v * torch.cat([torch.ones(1, dtype=v.dtype), torch.cumprod(1 - v, 0)[:-1]])
        return w / w.sum()

    result = checks.stick_breaking(renormalised)
    assert not result and "renormalise" in result.message
    left_only = checks.stick_breaking(lambda v: torch.cat([torch.ones(1, dtype=v.dtype), torch.cumprod(1 - v, 0)[:-1]]))
    assert not left_only and "keeps the fraction v_k" in left_only.message


# ----------------------------------------------------------------------- the MH acceptance probability


def test_mh_acceptance_accepts_log_space_answers():
    def reference(lp, lp_new, lq_fwd, lq_bwd):
        return torch.exp(torch.clamp(lp_new + lq_bwd - lp - lq_fwd, max=0.0))

    def with_minimum(lp, lp_new, lq_fwd, lq_bwd):
        return torch.minimum(torch.ones_like(lp), (lp_new - lp + lq_bwd - lq_fwd).exp())

    assert checks.mh_acceptance(reference)
    assert checks.mh_acceptance(with_minimum)


def test_mh_acceptance_rejects_the_common_mistakes():
    def ratio_of_exponentials(lp, lp_new, lq_fwd, lq_bwd):
        return torch.clamp(lp_new.exp() * lq_bwd.exp() / (lp.exp() * lq_fwd.exp()), max=1.0)

    result = checks.mh_acceptance(ratio_of_exponentials)
    assert not result and "0/0" in result.message
    no_min = checks.mh_acceptance(lambda lp, lpn, lqf, lqb: (lpn + lqb - lp - lqf).exp())
    assert not no_min and "cannot exceed 1" in no_min.message
    upside_down = checks.mh_acceptance(lambda lp, lpn, lqf, lqb: (lp + lqf - lpn - lqb).exp().clamp(max=1))
    assert not upside_down and "upside down" in upside_down.message
    hastings_reversed = checks.mh_acceptance(lambda lp, lpn, lqf, lqb: (lpn + lqf - lp - lqb).exp().clamp(max=1))
    assert not hastings_reversed and "wrong way round" in hastings_reversed.message
    plain = checks.mh_acceptance(lambda lp, lpn, lqf, lqb: (lpn - lp).exp().clamp(max=1))
    assert not plain and "Hastings correction" in plain.message
    assert "fill in" in checks.mh_acceptance(lambda *args: None).message
