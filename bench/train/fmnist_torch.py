"""PyTorch side of the Fashion-MNIST side-by-side: the same network (fmnist-cnn), the same data
pipeline and the same hyper-parameters as `nabla train --model fmnist-cnn --data fashion-mnist`:
x/255 normalised with mean 0.2860 / std 0.3530, batch 64 reshuffled every epoch, SGD lr 0.01
momentum 0.9, no weight decay, no augmentation, cosine annealing of the LR to 0 over the epochs
(stepped once per epoch, nabla's default `--schedule cosine`); test accuracy after every epoch.

Usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/train/fmnist_torch.py [EPOCHS] [THREADS] [DATA_DIR]
Prints one JSON line per epoch (epoch, train_loss, test_acc, seconds).
"""
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    data = gzip.open(path, "rb").read() if str(path).endswith(".gz") else Path(path).read_bytes()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fmnist_cnn():
    return nn.Sequential(
        nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        ),
        nn.Sequential(nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10)),
    )


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    root = Path(sys.argv[3] if len(sys.argv) > 3 else "/usr/share/datasets/fashion-mnist")
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    prep = lambda a: ((torch.from_numpy(a.astype(np.float32)) / 255.0 - 0.2860) / 0.3530).unsqueeze(1)
    xtr = prep(read_idx(root / "train-images-idx3-ubyte.gz"))
    ytr = torch.from_numpy(read_idx(root / "train-labels-idx1-ubyte.gz").astype(np.int64))
    xte = prep(read_idx(root / "t10k-images-idx3-ubyte.gz"))
    yte = torch.from_numpy(read_idx(root / "t10k-labels-idx1-ubyte.gz").astype(np.int64))
    model = fmnist_cnn()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(xtr.shape[0])
        total, batches = 0.0, 0
        for i in range(0, xtr.shape[0], 64):
            idx = perm[i:i + 64]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            total += loss.item()
            batches += 1
        sched.step()
        model.eval()
        with torch.no_grad():
            correct = sum((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item()
                          for i in range(0, xte.shape[0], 1000))
        print(json.dumps({"epoch": epoch, "train_loss": total / batches, "test_acc": correct / xte.shape[0],
                          "seconds": time.perf_counter() - t0}), flush=True)


if __name__ == "__main__":
    main()
