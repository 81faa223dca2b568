// Shared helpers for the native backend: growable per-thread scratch memory and small utilities.
// This header is included by the per-ISA translation units too, so it must stay free of anything
// that would instantiate shared inline code there (see gemm_kernels.h for why).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace nabla {

// Total bytes held by all scratch buffers of all threads. The addon reports changes of this figure
// to V8 (AdjustExternalMemory) after each call, so the GC knows about memory it cannot see.
extern std::atomic<int64_t> g_scratch_bytes;

// Scratch slot ids: a thread may hold several independent buffers at once (e.g. packed A and
// im2col columns), each grows on demand and is never freed while the thread lives, so the hot
// path does not allocate once shapes have been seen.
enum ScratchSlot {
  kScratchPackA,  // GEMM: packed A block (per thread)
  kScratchPackB,  // GEMM: packed B panel (owned by the thread that calls gemm)
  kScratchCol,    // conv: im2col columns / padded input
  kScratchOut,    // conv: output or gradient on the padded grid
  kScratchIdx,    // conv: row offset tables (int64 stored in the float buffer)
  kScratchMisc,   // conv: per-chunk partial weight gradients (calling thread)
  kScratchDirect, // conv: packed weights and epilogue vectors of the direct path (calling thread)
  kScratchPool,   // conv: one image's convolution before a fused pool, off the direct path
  kScratchWinoU,  // conv: Winograd weights: transform when not cached, weight gradient (calling thread)
  kScratchWinoE,  // conv: Winograd padded epilogue vectors (calling thread)
  kScratchWinoV,  // conv: Winograd transformed input of one image
  kScratchWinoM,  // conv: Winograd transformed output of one image
  kScratchWinoX2, // conv: Winograd padded input of a pair's second convolution (conv2d_pair_forward)
  kScratchSlots
};

// Returns a 64-byte aligned buffer of at least n floats owned by the calling thread.
float* scratch(ScratchSlot slot, size_t n);

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Sets `var` (a thread-local setting such as t_thread_cap) to `value` for the scope, then
// restores it.
template <typename T>
class Scoped {
 public:
  Scoped(T& var, T value) : var_(var), saved_(var) { var_ = value; }
  ~Scoped() { var_ = saved_; }
  Scoped(const Scoped&) = delete;
  Scoped& operator=(const Scoped&) = delete;

 private:
  T& var_;
  T saved_;
};

}  // namespace nabla
