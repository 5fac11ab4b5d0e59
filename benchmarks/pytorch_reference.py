"""PyTorch reference timings for BENCHMARKS.md (a benchmark, not a test; CI does not run it).

The model is the one of the Albergo et al. tutorial (arXiv:2101.08176) and of this
package: n affine coupling layers with checkerboard masks, each net
Conv(1->8) LeakyReLU Conv(8->8) LeakyReLU Conv(8->2) Tanh with circular padding,
trained by reverse KL against the phi^4 action. It times, after warm-up, the
median of repeated training steps (forward, backward, Adam) and of flow
sampling (forward under no_grad, log q and the action), on the same cases as
`gomalizing bench` (d = 2 and 3; PyTorch has no 4-D convolution).

Usage (installs torch from PyPI into a virtual environment):
    python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch
    /tmp/torchenv/bin/python benchmarks/pytorch_reference.py [--threads 2] [--seconds 2]
"""
import argparse
import math
import statistics
import time

import torch
import torch.nn as nn


def checker_mask(shape, parity):
    idx = torch.stack(torch.meshgrid(*[torch.arange(s) for s in shape], indexing="ij")).sum(0)
    # Frozen (1) where coordinate parity + mask parity is odd, as in this package.
    return ((idx + parity) % 2 == 1).float()


class Coupling(nn.Module):
    def __init__(self, d, mask, hidden=(8, 8), k=3):
        super().__init__()
        conv = {2: nn.Conv2d, 3: nn.Conv3d}[d]
        chans = [1, *hidden, 2]
        layers = []
        for i, (a, b) in enumerate(zip(chans[:-1], chans[1:])):
            layers.append(conv(a, b, k, padding=k // 2, padding_mode="circular"))
            layers.append(nn.Tanh() if i == len(chans) - 2 else nn.LeakyReLU())
        self.net = nn.Sequential(*layers)
        self.register_buffer("mask", mask)

    def forward(self, x):
        frozen = self.mask * x
        st = self.net(frozen.unsqueeze(1))
        s, t = st[:, 0], st[:, 1]
        active = 1 - self.mask
        y = active * (x * torch.exp(s) + t) + frozen
        return y, (active * s).flatten(1).sum(1)


class Flow(nn.Module):
    def __init__(self, L, d, n_layers=16):
        super().__init__()
        shape = (L,) * d
        self.layers = nn.ModuleList([Coupling(d, checker_mask(shape, i % 2)) for i in range(n_layers)])

    def forward(self, z):
        logj = torch.zeros(z.shape[0])
        for layer in self.layers:
            z, lj = layer(z)
            logj = logj + lj
        return z, logj


def action(phi, m2=-4.0, lam=8.0):
    d = phi.dim() - 1
    kin = sum(((torch.roll(phi, -1, mu + 1) - phi) ** 2) for mu in range(d))
    return (kin + m2 * phi ** 2 + lam * phi ** 4).flatten(1).sum(1)


def median_time(fn, seconds, warmup=2, min_reps=5, max_reps=50):
    for _ in range(warmup):
        fn()
    times = []
    while len(times) < min_reps or (sum(times) < seconds and len(times) < max_reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), len(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cases = [("example2d L=8 d=2", 8, 2), ("L=16 d=2", 16, 2), ("L=32 d=2", 32, 2), ("L=8 d=3", 8, 3)]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'case':20s} {'batch':>5s} {'train ms':>9s} {'samples/s':>10s} {'reps':>5s}")
    for name, L, d in cases:
        B = 64
        flow = Flow(L, d)
        opt = torch.optim.Adam(flow.parameters(), lr=1e-4)
        shape = (B,) + (L,) * d
        logq0_const = -0.5 * math.log(2 * math.pi) * L ** d

        def train_step():
            z = torch.randn(shape)
            phi, logj = flow(z)
            logq = -0.5 * (z ** 2).flatten(1).sum(1) + logq0_const - logj
            loss = (logq + action(phi)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

        @torch.no_grad()
        def sample():
            z = torch.randn(shape)
            phi, logj = flow(z)
            logq = -0.5 * (z ** 2).flatten(1).sum(1) + logq0_const - logj
            return logq, -action(phi)

        t_train, reps = median_time(train_step, args.seconds)
        t_sample, _ = median_time(sample, args.seconds)
        print(f"{name:20s} {B:5d} {1e3 * t_train:9.2f} {B / t_sample:10.0f} {reps:5d}", flush=True)


if __name__ == "__main__":
    main()
