// Direct convolution with the output channels in the vector lanes (AVX-512).
//
// The GEMM formulation (conv.cpp) vectorises over output positions, which wastes lanes when a
// row of the output is narrow (14, 8, 7 pixels) and needs the padded-grid trick or an im2col
// packing pass. Here a register tile is COLS consecutive output pixels of one row × 16·V output
// channels: per kernel tap, V vector loads of packed weights and COLS broadcasts of input pixels
// feed COLS·V FMAs, with no packing of the input at all (it is only zero-padded). The tile is
// written channel-last ([pixel][channel]) and transposed back to NCHW in 16×16 register blocks.
//
// Every output element sums its taps in the order (c, ki, kj): the result does not depend on the
// tile or on the number of threads.
#pragma once

#include <cstdint>

namespace nabla {

struct DirectConvJob {
  const float* xpad;  // one image, zero-padded: C planes of `plane` floats, rows of Wp floats
  int64_t plane, Wp;
  const float* wpk;  // packed weights: [O_pad / (16·vecs)][C·KH·KW][16·vecs]
  const int64_t* tap_off;  // per tap (c, ki, kj): c·plane + ki·Wp + kj
  int64_t C, KH, KW, SH, SW;
  int64_t O, O_pad, OH, OW;
  const float* scale;     // O_pad per-channel factors applied to the sums, or null
  const float* shift;     // O_pad per-channel offsets added after the factor (bias), or null
  const float* residual;  // NCHW tensor of the output's shape (this image) added last, or null
  bool relu;              // max(·, 0) at the very end (NaN kept)
  bool pool;              // then a 2×2 stride-2 max-pool (floor mode; no residual with it)
  float* yb;              // channel-last scratch: [OH·OW][O_pad], then [OH/2·OW/2][O_pad] if pool
  float* y;               // NCHW output of this image (O planes of OH·OW, or of OH/2·OW/2)
  int cols, vecs;         // the register tile, from direct_plan() in conv.cpp
  bool relu6;             // with relu: then min(·, 6)
  // Winograd only (output_tiles): yb's pixel and row strides in floats when it is not [OH·OW][O_pad]
  // (0: those), e.g. the interior of the next convolution's padded input (conv.cpp's ImageIo).
  int64_t yb_px = 0, yb_row = 0;
};

// Computes output rows [oh0, oh1) of the job's image into y (through yb); with pool, conv rows
// [oh0, oh1) must be whole pairs and give pooled rows [oh0/2, oh1/2). Null when AVX-512 code
// is not compiled; the caller must also check that the CPU runs AVX-512 kernels.
using DirectConvRowsFn = void (*)(const DirectConvJob& job, int64_t oh0, int64_t oh1);
extern const DirectConvRowsFn kDirectConvRowsAvx512;
// The same rows' tail once yb holds conv rows [oh0, oh1) (computed elsewhere, e.g. by the
// Winograd kernels): the pool, if any, then the residual/ReLU and the transpose into y.
extern const DirectConvRowsFn kDirectFinishAvx512;

// The weight gradient, with the same layouts: for one image, gwT[(c, ki, kj)][o] (taps × O_pad,
// channel-last) accumulates Σ over output pixels of gyT[pixel][o] · xpad[c][tap + pixel]. Kernels
// for 3×3 and 1×1 taps, 16 or 32 channels per tile (vecs 1 or 2); each gwT element is summed
// over the pixels in row-major order, so splitting the input channels between threads is exact.
struct DirectGradJob {
  const float* xpad;  // as in DirectConvJob
  int64_t plane, Wp;
  const float* gyT;  // [OH·OW][O_pad] output gradient of this image, channel-last
  int64_t O_pad, KH, KW, SH, SW, OH, OW;
  float* gwT;  // [C·KH·KW][O_pad], accumulated into
  int vecs;
};
using DirectGradFn = void (*)(const DirectGradJob& job, int64_t c0, int64_t c1);
extern const DirectGradFn kDirectGradAvx512;
// dst[p][o] = src[o][p] (o < O; lanes up to O_pad zero-filled), for P pixels.
using ChannelsLastFn = void (*)(const float* src, int64_t O, int64_t P, float* dst, int64_t O_pad);
extern const ChannelsLastFn kChannelsLastAvx512;

// The register tiles compiled (COLS pixels × 16·V channels), for direct_plan() in conv.cpp.
struct DirectTile {
  int cols, vecs;
};
// Best-of-40 forward timings per tile on the fmnist-cnn and resnet20 layers (BENCHMARKS.md): the
// 7×64 and 4×64 tiles (4 weight vectors, one register spilled) lost to these on every shape.
// (A 16-pixel × 16-channel tile lost to the GEMM path for 16 output channels, so 16-channel
// convolutions stay there.)
constexpr DirectTile kDirectTiles[] = {{14, 2}, {8, 2}};

}  // namespace nabla
