"""Ctrl-C during training, for real: SIGINTs at random moments stop every loop at a step boundary.

A child process trains (the GAN trainer with 2 discriminator updates per step, then the VAE)
and is sent SIGINT at random moments, each time after it has gone back into ``fit``. Every
interrupted ``fit`` must leave counters of whole steps, and the run, continued after each
interrupt, must end bit-identical to one that was never interrupted: no update half done, no
batch or noise drawn without its update.
"""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name == "nt", reason="SIGINT to a child needs POSIX")]

CHILD = textwrap.dedent("""
    import json, sys, torch
    from gan_course import data, recipes, vae
    torch.set_num_threads(1)
    kind, wanted = sys.argv[1], int(sys.argv[2])
    ENDLESS = 10**9  # each fit runs until it is interrupted

    def gan():
        recipe = recipes.TOY_RECIPES["ring8"].replace(width=16, depth=1, batch_size=64, num_data=2000, d_steps=2,
                                                      lr_decay=0.0)
        return recipes.toy_trainer("ring8", seed=0, device="cpu", recipe=recipe)

    x = (torch.rand(512, 1, 28, 28, generator=torch.Generator().manual_seed(0)) > 0.5).float()

    class VAERun:  # the VAE's loop, with the same interface as the trainer's for this script
        def __init__(self):
            torch.manual_seed(0)
            self.model, self.state = vae.VAE(latent_dim=4, hidden=32), None
        @property
        def global_step(self):
            return 0 if self.state is None else self.state.step
        def fit(self, steps, progress):
            steps = min(steps, 10**7)
            self.state = vae.fit_vae(self.model, x, steps=steps, batch_size=32, seed=0, progress=progress,
                                     state=self.state, device="cpu")
            self.interrupted = self.state.interrupted
        def parameters(self):
            return list(self.model.parameters())

    make = gan if kind == "gan" else VAERun
    make().fit(steps=2, progress=False)  # warm up: lazy imports and first-call set-up happen here, not under a signal
    run, interrupts, whole = make(), 0, True
    while interrupts < wanted:
        print("go", flush=True)
        run.fit(steps=ENDLESS, progress=False)
        assert run.interrupted
        interrupts += 1
        if kind == "gan":
            whole &= run.d_updates == 2 * run.global_step and run.g_updates == run.global_step
        print(f"interrupted {interrupts} at {run.global_step}", flush=True)
    reference = make()  # as many steps as the interrupted run made, in one go
    reference.fit(steps=run.global_step, progress=False)
    params = (lambda r: list(r.generator.parameters()) + list(r.discriminator.parameters())) if kind == "gan" \\
        else (lambda r: r.parameters())
    same = all(torch.equal(a, b) for a, b in zip(params(run), params(reference)))
    print(json.dumps({"interrupts": interrupts, "whole_steps": bool(whole), "same_as_uninterrupted": same}))
""")


def interrupt_repeatedly(tmp_path, kind: str, wanted: int) -> dict:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, str(script), kind, str(wanted)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    rng, sent, last = random.Random(0), 0, ""
    try:
        while True:
            line = child.stdout.readline()
            if not line:
                break
            last = line.strip()
            if last == "go" and sent < wanted:
                time.sleep(rng.uniform(0.1, 0.4))  # a random moment inside the step loop
                child.send_signal(signal.SIGINT)
                sent += 1
        child.wait(timeout=600)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, child.stderr.read()[-2000:]
    return {**json.loads(last), "sent": sent}


def test_twenty_real_ctrl_c_stop_the_gan_trainer_at_step_boundaries_and_lose_nothing(tmp_path):
    result = interrupt_repeatedly(tmp_path, "gan", wanted=24)
    assert result["sent"] == 24 and result["interrupts"] == 24  # every signal stopped a fit, none was lost
    assert result["whole_steps"], "an interrupted fit left a half-done step (d_updates != 2 * steps)"
    assert result["same_as_uninterrupted"], "the interrupted and resumed run differs from an uninterrupted one"


def test_real_ctrl_c_stops_the_vae_loop_at_step_boundaries_and_loses_nothing(tmp_path):
    result = interrupt_repeatedly(tmp_path, "vae", wanted=6)
    assert result["sent"] == 6 and result["interrupts"] == 6
    assert result["same_as_uninterrupted"]
