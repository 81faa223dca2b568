"""PyTorch side of bench/native/conv.ts: the fmnist-cnn conv layers at batch 64, forward and each
backward separately (aten.convolution_backward with an output mask). Prints one JSON line.
Usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/native/conv_torch.py THREADS"""
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def time_it(fn, warm_s=0.5, block_s=0.25, reps=7):
    t0 = time.perf_counter()
    n = 0
    while n < 3 or time.perf_counter() - t0 < warm_s:
        fn()
        n += 1
    iters = max(1, int(block_s / ((time.perf_counter() - t0) / n)))
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(iters):
            fn()
        times.append((time.perf_counter() - t) / iters)
    return statistics.median(times), min(times)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    out = {"system": "pytorch", "version": torch.__version__, "threads": threads, "results": []}
    conv_bw = torch.ops.aten.convolution_backward
    for name, c, o, hw in (("conv1", 1, 32, 28), ("conv2", 32, 64, 14)):
        n = 64
        x = torch.randn(n, c, hw, hw)
        w = torch.randn(o, c, 3, 3)
        gy = torch.randn(n, o, hw, hw)
        args = ([1, 1], [1, 1], [1, 1], False, [0, 0], 1)
        with torch.no_grad():
            passes = {
                "forward": lambda: F.conv2d(x, w, padding=1),
                "backward_input": lambda: conv_bw(gy, x, w, None, *args, [True, False, False]),
                "backward_weight": lambda: conv_bw(gy, x, w, None, *args, [False, True, False]),
            }
            gflop = 2 * n * o * hw * hw * c * 9 / 1e9
            for pass_name, fn in passes.items():
                med, best = time_it(fn)
                out["results"].append({"layer": name, "pass": pass_name, "median_ms": med * 1e3,
                                       "best_ms": best * 1e3, "gflops": gflop / med})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
