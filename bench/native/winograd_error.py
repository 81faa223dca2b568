"""Float32 error of Winograd F(2x2,3x3) and F(4x4,3x3) against a direct float32 sum, both
measured against a float64 direct sum, on random tiles (numpy model of the arithmetic, not the
kernels). Prints the largest |error| / rms(output) over 200 trials per channel count.

  /usr/bin/python3 bench/native/winograd_error.py
"""
import numpy as np

F23 = (  # Bt (4x4), G (4x3), At (2x4): the transforms of native/conv_winograd_avx512.cpp
    np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], float),
    np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]),
    np.array([[1, 1, 1, 0], [0, 1, -1, -1]], float),
)
F43 = (  # Lavin & Gray's F(4,3) with points 0, ±1, ±2
    np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
              [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], float),
    np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
              [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]),
    np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]], float),
)


def winograd(d, g, mats):
    bt, gm, at = (m.astype(np.float32) for m in mats)
    v = np.einsum("ij,cjk,lk->cil", bt, d, bt)
    u = np.einsum("ij,cjk,lk->cil", gm, g, gm)
    m = (u * v).sum(0, dtype=np.float32)
    return at @ m @ at.T


def direct(d, g, out, dtype):
    return np.array([[(d[:, i:i + 3, j:j + 3].astype(dtype) * g.astype(dtype)).sum(dtype=dtype)
                      for j in range(out)] for i in range(out)])


rng = np.random.default_rng(0)
for channels in (16, 64):
    worst = {"direct": 0.0, "F(2x2,3x3)": 0.0, "F(4x4,3x3)": 0.0}
    for _ in range(200):
        for name, mats, out in (("F(2x2,3x3)", F23, 2), ("F(4x4,3x3)", F43, 4)):
            d = rng.standard_normal((channels, out + 2, out + 2)).astype(np.float32)
            g = (rng.standard_normal((channels, 3, 3)) / np.sqrt(channels * 9)).astype(np.float32)
            exact = direct(d, g, out, np.float64)
            rms = np.sqrt((exact ** 2).mean())
            worst[name] = max(worst[name], np.abs(winograd(d, g, mats) - exact).max() / rms)
            worst["direct"] = max(worst["direct"], np.abs(direct(d, g, out, np.float32) - exact).max() / rms)
    print(f"C={channels}: " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))
