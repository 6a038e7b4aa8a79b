"""Checks for the DCGAN on digits (notebook 07)."""

from __future__ import annotations

import torch

from gan_course.checks.core import CheckResult, passed, failed, compare, _call, _unless_missing, _allclose


_CONVT_CASES = ((7, 4, 2, 1), (14, 4, 2, 1), (3, 3, 2, 0), (5, 5, 1, 2), (4, 3, 3, 1))  # (H_in, k, s, p)


def transposed_conv_size(fn: object) -> CheckResult:
    r"""Notebook 07: ``fn(h_in, kernel, stride, padding)`` returns the output height of a
    transposed convolution, :math:`H_{out} = (H_{in} - 1)\,s - 2p + k`, checked against torch."""
    got = []
    for case in _CONVT_CASES:
        value, problem = _call("transposed conv output size", fn, *case)
        if problem is not None:
            return problem
        try:
            got.append(float(value))
        except (TypeError, ValueError, RuntimeError):
            return failed(f"transposed conv output size: expected a number, got {type(value).__name__}")
    expected = [torch.nn.ConvTranspose2d(1, 1, kernel_size=k, stride=s, padding=p)(torch.zeros(1, 1, h, h)).shape[-1]
                for h, k, s, p in _CONVT_CASES]
    if got == expected:
        return passed(f"transposed conv output size is right on {len(_CONVT_CASES)} settings (checked against torch).")
    mistakes = (  # (formula, hint), tried on every case
        (lambda h, k, s, p: (h + 2 * p - k) // s + 1,
         "that is the formula of an ordinary convolution (which shrinks); the transposed one inverts it."),
        (lambda h, k, s, p: (h - 1) * s + k,
         "padding removes rows from both sides of the output: subtract 2 * padding."),
        (lambda h, k, s, p: h * s - 2 * p + k,
         "the input's H_in pixels are H_in - 1 strides apart: use (H_in - 1) * stride."),
    )
    hint = next((text for formula, text in mistakes if got == [formula(*c) for c in _CONVT_CASES]),
                "H_out = (H_in - 1) * stride - 2 * padding + kernel.")
    i = next(i for i, (g, e) in enumerate(zip(got, expected)) if g != e)
    h, k, s, p = _CONVT_CASES[i]
    return failed(f"transposed conv output size: for H_in={h}, kernel={k}, stride={s}, padding={p} torch gives "
                  f"{expected[i]}, you gave {got[i]:g}; {hint}")


def slerp(fn: object) -> CheckResult:
    r"""Notebook 07: ``fn(z0 (D,), z1 (D,), steps)`` returns the spherical interpolation (steps, D),
    :math:`z(t) = \frac{\sin((1-t)\omega)}{\sin\omega} z_0 + \frac{\sin(t\omega)}{\sin\omega} z_1`."""
    from gan_course import latent

    gen = torch.Generator().manual_seed(7)
    z0, z1 = torch.randn(2, 16, generator=gen, dtype=torch.float64)  # (D,) each, norms about 4
    got, problem = _call("slerp", fn, z0.clone(), z1.clone(), 5)
    if problem is not None:
        return problem
    expected = latent.slerp(z0, z1, 5)  # (S, D)
    hint = "z(t) = sin((1-t) w) / sin(w) * z0 + sin(t w) / sin(w) * z1, w the angle between z0 and z1."
    if _allclose(got, latent.lerp(z0, z1, 5)):
        hint = "That is the straight line (lerp): the weights must be sines of the angle, not 1 - t and t."
    elif _allclose(got, expected.flip(0)):
        hint = "Your path runs from z1 to z0: the weight of z0 is sin((1 - t) w) / sin(w)."
    elif isinstance(got, torch.Tensor) and got.shape == expected.shape and torch.allclose(
            torch.linalg.vector_norm(got.double(), dim=-1), torch.ones(5, dtype=torch.float64), atol=1e-4):
        hint = ("Your points all have norm 1: use the angle of the normalised vectors, but interpolate "
                "z0 and z1 themselves (the end points must be z0 and z1).")
    return compare("slerp", got, expected, rtol=1e-5, atol=1e-6, hint=hint)


def dcgan_discriminator_shapes(shapes: object, width: int = 64) -> CheckResult:
    """Notebook 07: ``shapes`` lists (C, H, W) after each convolution of
    ``nets.DCGANDiscriminator(width)`` on a (1, 28, 28) digit; checked with forward hooks."""
    from gan_course import nets

    def check() -> CheckResult:
        disc = nets.DCGANDiscriminator(width=width)
        expected: list[tuple[int, ...]] = []
        hooks = [m.register_forward_hook(lambda m, i, o: expected.append(tuple(o.shape[1:])))
                 for m in disc.modules() if isinstance(m, torch.nn.Conv2d)]
        with torch.no_grad():
            disc(torch.zeros(1, 1, 28, 28))
        for h in hooks:
            h.remove()
        try:
            got = [tuple(int(v) for v in s) for s in shapes]
        except (TypeError, ValueError):
            return failed(f"discriminator shapes: give a list of (C, H, W) tuples, got {shapes!r}")
        if got == expected:
            c, h, w = expected[-1]
            return passed(f"discriminator shapes are right: {expected}, then {c * h * w} features into the linear head.")
        hint = "Each conv (kernel 4, stride 2, padding 1) halves H and W: (H + 2 - 4) // 2 + 1."
        if len(got) != len(expected):
            hint = f"D has {len(expected)} convolutions; give one (C, H, W) per convolution."
        elif any(g[1:] == (h - 1, h - 1) for g, (_, h, _w) in zip(got, expected)):
            hint = "Off by one in H: the padding of 1 on each side counts, (28 + 2*1 - 4) // 2 + 1 = 14."
        elif [g[1:] for g in got] == [e[1:] for e in expected]:
            hint = f"Heights and widths are right; the channels go {width}, then 2 x {width}."
        return failed(f"discriminator shapes: expected {len(expected)} shapes, got {got}. {hint}")

    return _unless_missing("discriminator shapes", shapes, check)


def underrepresented_digit(answer: object, result: dict) -> CheckResult:
    """Notebook 07: the digit whose share of the samples is lowest relative to its share of the
    real test digits, read from ``classifier.evaluate_images``'s ``result["class_histogram"]``."""
    def check() -> CheckResult:
        fake = torch.as_tensor(result["class_histogram"]["value"], dtype=torch.float64)  # (10,)
        real = torch.as_tensor(result["class_histogram"]["real"], dtype=torch.float64)  # (10,)
        ratio = fake / real.clamp_min(1e-12)  # (10,)
        expected = int(ratio.argmin())
        try:
            got = int(answer)
        except (TypeError, ValueError, RuntimeError):
            return failed(f"under-represented digit: give one digit as an int, got {answer!r}")
        if 0 <= got < len(ratio) and ratio[got] == ratio[expected]:  # ties: any of the rarest
            return passed(f"digit {got} is the rarest: {100 * fake[got]:.1f} % of the samples, "
                          f"{100 * real[got]:.1f} % of the real test digits.")
        hint = "Divide each generated fraction by the real fraction and take the smallest."
        if got == int(ratio.argmax()):
            hint = "That is the most over-produced digit: you want the smallest ratio, not the largest."
        return failed(f"under-represented digit: not {answer!r}. {hint}")

    return _unless_missing("under-represented digit", answer, check)
