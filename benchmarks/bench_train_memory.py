"""Calibrate alc_data.train.memory: measured peak resident memory of real CPU training steps against
the estimate, side by side, one fresh process per configuration.

    python benchmarks/bench_train_memory.py [--configs NAME:CROP:BATCH ...]

Prints per configuration: the process's RSS after imports (the base), the peak RSS over two SGD
training steps, the estimate, and the activation factor that would have matched the peak.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

DEFAULT = ["demo-tiny:128:8", "deeplabv3plus-mobilenet_v2:257:4", "deeplabv3plus-resnet18:257:4", "segformer-b0:256:4"]

CHILD = r"""
import json, resource, sys
import torch
from alc_data.models import build_model, input_multiple
from alc_data.train.config import TrainConfig
from alc_data.train.loop import TrainStep, make_optimizer, make_scheduler
from alc_data.train.data import round_up
name, crop, batch, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), 21
def rss():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) * 1024 for l in fh if l.startswith("VmRSS:"))
base = rss()
cfg = TrainConfig(model=name, crop_size=crop, batch_size=batch, iterations=2, device="cpu")
model = build_model(name, k)
size = round_up(crop, input_multiple(model))
opt = make_optimizer(model, cfg)
step = TrainStep(model, opt, make_scheduler(opt, cfg, 2), torch.device("cpu"), amp=False)
model.train()
for _ in range(2):
    step(torch.randn(batch, 3, size, size), torch.randint(0, k, (batch, size, size)))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"base": base, "peak": peak}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="*", default=DEFAULT)
    args = ap.parse_args()
    from alc_data.train import memory

    print(f"{'config':38s} {'base MB':>8s} {'peak MB':>8s} {'estimate MB':>12s} {'saved MB':>9s} {'factor':>7s}")
    for item in args.configs:
        name, crop, batch = item.split(":")
        out = subprocess.run([sys.executable, "-c", CHILD, name, crop, batch], capture_output=True, text=True, check=True)
        got = json.loads(out.stdout.strip().splitlines()[-1])
        est = memory.estimate_training_memory(name, 21, crop_size=int(crop), batch_size=int(batch))
        batch_bytes = est.total_bytes - memory.BASE_BYTES - est.parameter_bytes - memory.ACTIVATION_FACTOR * est.activation_bytes
        factor = (got["peak"] - got["base"] - est.parameter_bytes - batch_bytes) / est.activation_bytes
        mb = 2**20
        print(f"{item:38s} {got['base'] / mb:8.0f} {got['peak'] / mb:8.0f} {est.total_bytes / mb:12.0f} "
              f"{est.activation_bytes / mb:9.0f} {factor:7.2f}")


if __name__ == "__main__":
    main()
