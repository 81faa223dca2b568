// Winograd F(2×2, 3×3) convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2015) for 3×3 stride-1 convolutions, AVX-512.
//
// Each 2×2 block ("tile") of output pixels is computed from the 4×4 input patch under it as
//   y = Aᵀ [ Σ_c (G g_c Gᵀ) ⊙ (Bᵀ d_c B) ] A
// so the 36 multiplies per tile and channel pair of the direct method become 16: the products of
// the 16 transformed positions ξ are, for each ξ, one GEMM over channels,
//   M[ξ] (tiles × O) = V[ξ] (tiles × C) · U[ξ] (C × O),
// computed with the output channels in the vector lanes like the direct kernels (conv_direct.h).
// The transform matrices hold only 0, ±1 and ±½, so the rounding error stays close to a direct
// sum's. An output sums its terms in a fixed order (channels in order inside each GEMM, then the
// fixed output transform): results do not depend on how work is split between threads.
//
// The weight gradient uses the same tiles (Lavin & Gray's F(3×3, 2×2) with the transposed
// transforms): gw = Gᵀ [ Σ_tiles (A gy Aᵀ) ⊙ (Bᵀ d B) ] G, one GEMM per position ξ over the tiles.
//
// The steps per image: the input zero-padded and made channel-last (pad); then, a chunk of tiles
// at a time so the transformed data stays in cache, the input transform, the 16 GEMMs and the
// output transform with the epilogue into a channel-last buffer (tiles); last the direct path's
// pool and transpose back to NCHW (kDirectFinishAvx512). Threads split images, or at batch 1 the
// padded rows, the chunks and the output rows.
#pragma once

#include <cstdint>

#include "conv_direct.h"

namespace nabla {

struct WinogradImage {
  const float* x;  // the image, NCHW: C planes of H × W
  int64_t C, H, W, ph, pw;
  int64_t TH, TW, T, CH;     // tile rows and columns, tiles, tiles per chunk (a multiple of rows)
  int64_t Cp, Hp, Wp;        // channels rounded up to 16; the padded input's height and width
  const float* U;            // transformed weights [16][C][O_pad]
  float* xT;                 // scratch: padded channel-last input [Hp][Wp][Cp]
  float* V;                  // scratch: a chunk's transformed input [CH][16][Cp]
  float* M;                  // scratch: a chunk's transformed output [CH][16][O_pad]
  int rows, vecs;            // GEMM register block: tiles × 16·vecs output channels
  const float* gyT;          // weight gradient: the image's output gradient, [OH·OW][O_pad]
  // O, O_pad (a multiple of 16·vecs), OH, OW, the epilogue, yb ([OH·OW][O_pad] scratch, then the
  // pooled rows) and y (the image's NCHW output); the tap fields are unused.
  DirectConvJob out;
};

struct WinogradKernels {
  // U[ξ][c][o] = (G g Gᵀ)[ξ] for input channels [c0, c1), from wT[c·9 + tap][o] (O_pad lanes).
  void (*weights)(const float* wT, int64_t C, int64_t O_pad, float* U, int64_t c0, int64_t c1);
  // Rows [r0, r1) of xT.
  void (*pad)(const WinogradImage& im, int64_t r0, int64_t r1);
  // Tiles [t0, t1) (at most CH; V and M are this call's): the transforms and GEMMs, into yb.
  void (*tiles)(const WinogradImage& im, int64_t t0, int64_t t1);
  // Weight gradient of tiles [t0, t1) (at most CH, below T): the input and output-gradient transforms
  // into V and M, then GW[ξ][c][o] += Σ_t V[t][ξ][c] · M[t][ξ][o] (GW: [16][Cp][O_pad]).
  void (*grad_tiles)(const WinogradImage& im, int64_t t0, int64_t t1, float* GW);
  // gwT[c·9 + tap][o] = (Gᵀ GW[·][c][o] G)[tap] for input channels [c0, c1).
  void (*grad_weights)(const float* GW, int64_t Cp, int64_t O_pad, float* gwT, int64_t c0, int64_t c1);
};
// Null when AVX-512 code is not compiled; the caller must also check that the CPU runs it.
extern const WinogradKernels* const kWinogradAvx512;

// GEMM register blocks compiled: tiles per block, for 32 output channels (vecs 2) and for 16.
constexpr int kWinogradRows2[] = {14, 8, 7};
constexpr int kWinogradRows1[] = {28, 16, 14};

}  // namespace nabla
