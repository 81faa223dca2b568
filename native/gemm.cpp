// GEMM driver: Goto/BLIS loop nest around the ISA-specific micro-kernel.
//
//   for jc (NC columns of B/C)
//     for pc (KC of the shared dimension)   B panel kc×nc packed once, shared by all threads
//       for ic (MC rows)                    A block mc×kc packed per thread (stays in L2)
//         for jr (NR panels)                B micro-panel kc×NR stays in L1
//           for ir (MR panels)              micro-kernel, C tile in registers
//
// With several threads, the rows of C are cut into parts that run through every pc themselves
// (see gemm_blocked).
#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <thread>

#include "common.h"
#include "threadpool.h"

namespace nabla {

void StridedSource::row(int64_t r, int64_t q0, int64_t len, float* dst, int64_t ds) const {
  const float* s = p + r * rs + q0 * cs;
  if (cs == 1 && ds == 1) {
    std::memcpy(dst, s, static_cast<size_t>(len) * sizeof(float));
  } else if (cs == 1) {
    for (int64_t i = 0; i < len; i++) dst[i * ds] = s[i];
  } else {
    for (int64_t i = 0; i < len; i++) dst[i * ds] = s[i * cs];
  }
}

namespace {

const GemmKernel* pick_kernel() {
#if !defined(__x86_64__) && !defined(__i386__)
  return &kGemmGeneric;
#else
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
    return &kGemmAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &kGemmAvx2;
  return &kGemmGeneric;
#endif
}

const GemmKernel* g_kernel = pick_kernel();
// Mutable copy so benchmarks can try other cache blockings (gemm_set_blocking).
GemmKernel g_tuned = {};

// Row segments are copied from the source in pieces of at most this many floats through a stack
// buffer when one source row feeds several panels: one source call per row instead of per panel
// (source calls decode indices, which dominates for narrow panels).
constexpr int64_t kRowBuf = 2048;

// Packs rows [i0, i0+mrows) × k [k0, k0+kc) of logical A into MR-row panels.
void pack_a(const GemmKernel& uk, Operand A, int64_t i0, int64_t mrows, int64_t k0, int64_t kc, float* dst) {
  const int MR = uk.mr;
  if (!A.transposed) {
    // With AVX-512, panels whose rows are contiguous are transposed in registers.
    const PackRowsFn pack16 = std::strcmp(uk.isa, "avx512") == 0 && MR <= 16 ? kPackRowsAvx512 : nullptr;
    for (int64_t p = 0; p < mrows; p += MR, dst += kc * MR) {
      const int64_t m = std::min<int64_t>(MR, mrows - p);
      if (pack16 != nullptr) {
        const float* rows[16];
        bool direct = true;
        for (int64_t r = 0; r < m && direct; r++) direct = (rows[r] = A.src->span(i0 + p + r, k0, kc)) != nullptr;
        if (direct) {
          pack16(rows, static_cast<int>(m), kc, dst, MR);
          continue;
        }
      }
      for (int64_t r = 0; r < m; r++) A.src->row(i0 + p + r, k0, kc, dst + r, MR);
      for (int64_t r = m; r < MR; r++)
        for (int64_t k = 0; k < kc; k++) dst[k * MR + r] = 0.f;
    }
    return;
  }
  // Source rows are k: each holds one MR-slice of every panel.
  alignas(64) float buf[kRowBuf];
  const int64_t chunk = (kRowBuf / MR) * MR;  // whole panels per piece
  for (int64_t s0 = 0; s0 < mrows; s0 += chunk) {
    const int64_t span = std::min(chunk, mrows - s0);
    float* pdst = dst + (s0 / MR) * kc * MR;
    for (int64_t k = 0; k < kc; k++) {
      A.src->row(k0 + k, i0 + s0, span, buf, 1);
      for (int64_t p = 0; p < span; p += MR) {
        const int64_t m = std::min<int64_t>(MR, span - p);
        float* d = pdst + (p / MR) * kc * MR + k * MR;
        for (int64_t r = 0; r < m; r++) d[r] = buf[p + r];  // short: a loop beats a memcpy call
        for (int64_t r = m; r < MR; r++) d[r] = 0.f;
      }
    }
  }
}

// Packs NR-column panels [panel_begin, panel_end) of the B block (k0.., j0..) into dst.
void pack_b(const GemmKernel& uk, Operand B, int64_t k0, int64_t kc, int64_t j0, int64_t ncols,
            int64_t panel_begin, int64_t panel_end, float* dst) {
  const int NR = uk.nr;
  if (B.transposed) {
    // Source rows are columns of the panel. With AVX-512, 16 of them are read 16 floats at a
    // time and transposed in registers; blocks whose rows are not contiguous (e.g. crossing an
    // image in a convolution) and the remainders go through row() with strided stores.
    const Transpose16Fn t16 = std::strcmp(uk.isa, "avx512") == 0 && NR % 16 == 0 ? kTranspose16Avx512 : nullptr;
    for (int64_t pnl = panel_begin; pnl < panel_end; pnl++) {
      float* d = dst + pnl * kc * NR;
      const int64_t jj = pnl * NR;
      const int64_t n = std::min<int64_t>(NR, ncols - jj);
      int64_t c0 = 0;
      if (t16 != nullptr) {
        for (; c0 + 16 <= n; c0 += 16) {
          const float* rows[16];
          int64_t k = 0;
          for (; k + 16 <= kc; k += 16) {
            bool direct = true;
            for (int i = 0; i < 16 && direct; i++) direct = (rows[i] = B.src->span(j0 + jj + c0 + i, k0 + k, 16));
            if (direct) {
              t16(rows, d + k * NR + c0, NR);
            } else {
              for (int i = 0; i < 16; i++) B.src->row(j0 + jj + c0 + i, k0 + k, 16, d + k * NR + c0 + i, NR);
            }
          }
          if (k < kc)
            for (int i = 0; i < 16; i++) B.src->row(j0 + jj + c0 + i, k0 + k, kc - k, d + k * NR + c0 + i, NR);
        }
      }
      for (int64_t c = c0; c < n; c++) B.src->row(j0 + jj + c, k0, kc, d + c, NR);
      for (int64_t c = n; c < NR; c++)
        for (int64_t k = 0; k < kc; k++) d[k * NR + c] = 0.f;
    }
    return;
  }
  // Source rows are k: each holds one NR-slice of every panel.
  alignas(64) float buf[kRowBuf];
  const int64_t per = std::max<int64_t>(1, kRowBuf / NR);
  for (int64_t p0 = panel_begin; p0 < panel_end; p0 += per) {
    const int64_t p1 = std::min(panel_end, p0 + per);
    const int64_t span = std::min(p1 * NR, ncols) - p0 * NR;
    for (int64_t k = 0; k < kc; k++) {
      // Read the source row in place when it is contiguous, else through the row buffer.
      const float* src = B.src->span(k0 + k, j0 + p0 * NR, span);
      if (src == nullptr) {
        B.src->row(k0 + k, j0 + p0 * NR, span, buf, 1);
        src = buf;
      }
      for (int64_t pnl = p0; pnl < p1; pnl++) {
        const int64_t off = (pnl - p0) * NR;
        const int64_t n = std::min<int64_t>(NR, span - off);
        float* d = dst + pnl * kc * NR + k * NR;
        for (int64_t c = 0; c < n; c++) d[c] = src[off + c];
        for (int64_t c = n; c < NR; c++) d[c] = 0.f;
      }
    }
  }
}

// Splits the threads into a tm × tn grid over (MR-row units, NR panels) minimising the largest
// per-thread share; ties favour splitting M (B panel is shared, A blocks are not duplicated).
void thread_grid(int threads, int64_t m_units, int64_t n_units, int& tm, int& tn) {
  tm = 1;
  tn = threads;
  int64_t best = -1;
  for (int a = threads; a >= 1; a--) {
    if (threads % a) continue;
    const int b = threads / a;
    const int64_t cost = ceil_div(m_units, a) * ceil_div(n_units, b);
    if (best < 0 || cost < best) {
      best = cost;
      tm = a;
      tn = b;
    }
  }
}

}  // namespace

const GemmKernel& gemm_kernel() { return *g_kernel; }

void gemm_set_blocking(int mc, int kc, int nc) {
  g_tuned = *g_kernel;
  if (mc > 0) g_tuned.mc = static_cast<int>(round_up(mc, g_tuned.mr));
  if (kc > 0) g_tuned.kc = kc;
  if (nc > 0) g_tuned.nc = static_cast<int>(round_up(nc, g_tuned.nr));
  g_kernel = &g_tuned;
}

bool gemm_select(const char* isa) {
  const GemmKernel* best = pick_kernel();
  if (std::strcmp(isa, "avx512") == 0) {
    if (best != &kGemmAvx512) return false;
    g_kernel = &kGemmAvx512;
  } else if (std::strcmp(isa, "avx2") == 0) {
    if (best == &kGemmGeneric) return false;
    g_kernel = &kGemmAvx2;
  } else if (std::strcmp(isa, "generic") == 0) {
    g_kernel = &kGemmGeneric;
  } else {
    return false;
  }
  return true;
}

namespace {

// C block rows [m_begin, m_end) × panels [pb, pe) of one NC column block for one K block: A
// packed MC rows at a time into this thread's buffer, each against the packed B panels that
// `panel(p)` returns.
template <typename PanelFn>
void compute_block(const GemmKernel& uk, Operand A, int64_t m_begin, int64_t m_end, int64_t pb, int64_t pe,
                   int64_t pc, int64_t kc, int64_t jc, int64_t nc, float* C, int64_t rs_c, int64_t cs_c, bool acc,
                   const PanelFn& panel) {
  const int MR = uk.mr, NR = uk.nr;
  const int64_t mc_max = round_up(std::min<int64_t>(uk.mc, m_end - m_begin), MR);
  float* abuf = scratch(kScratchPackA, static_cast<size_t>(mc_max * kc));
  for (int64_t ic = m_begin; ic < m_end; ic += mc_max) {
    const int64_t mc = std::min(mc_max, m_end - ic);
    pack_a(uk, A, ic, mc, pc, kc, abuf);
    for (int64_t pnl = pb; pnl < pe; pnl++) {
      const int64_t j = pnl * NR;
      const int n = static_cast<int>(std::min<int64_t>(NR, nc - j));
      const float* bp = panel(pnl);
      for (int64_t ir = 0; ir < mc; ir += MR) {
        const int m = static_cast<int>(std::min<int64_t>(MR, mc - ir));
        uk.fn(kc, abuf + ir * kc, bp, C + (ic + ir) * rs_c + (jc + j) * cs_c, rs_c, cs_c, m, n, acc);
      }
    }
  }
}


// B panels packed on first use, for the multi-threaded loop: one flag per group of panels of each
// K block (0 free, 1 being packed, 2 ready). Owned by the calling thread; the workers only see it
// through the job.
constexpr int64_t kPanelsPerGroup = 4;
// Floats of packed B a multi-threaded product keeps at once (8 MB).
constexpr int64_t kMaxPackedB = int64_t(2) << 20;
thread_local std::unique_ptr<std::atomic<int>[]> t_pack_flags;
thread_local int64_t t_pack_flags_cap = 0;

std::atomic<int>* pack_flags(int64_t n) {
  if (n > t_pack_flags_cap) {
    t_pack_flags_cap = std::max(n, 2 * t_pack_flags_cap);
    t_pack_flags.reset(new std::atomic<int>[static_cast<size_t>(t_pack_flags_cap)]);
  }
  for (int64_t i = 0; i < n; i++) t_pack_flags[i].store(0, std::memory_order_relaxed);
  return t_pack_flags.get();
}

// The Goto/BLIS loop nest with the micro-kernel `uk`: per NC column block and K block, B packed
// once and shared, A packed MC rows at a time per thread.
//
// On one thread the K blocks reuse one B buffer. On several, each NC column block is one job:
// the rows are cut into about one MC block per part (a multiple of the thread count), and a part,
// claimed by whichever thread is free, runs through every K block itself. B is packed for all K
// blocks at once, a group of panels at a time by the first thread that needs it, so threads never
// wait at a barrier between K blocks, and a core slowed by something else leaves parts to the
// other. Every element of C is summed over the same K blocks in the same order either way.
void gemm_blocked(const GemmKernel& uk, int64_t M, int64_t N, int64_t K, Operand A, Operand B, float* C,
                  int64_t rs_c, int64_t cs_c, bool accumulate, int threads) {
  const int MR = uk.mr, NR = uk.nr;
  // Balanced block sizes: K = 288 with KC = 256 would otherwise run a 256 and a 32 block.
  const int64_t kc_max = ceil_div(K, ceil_div(K, uk.kc));
  const int64_t nc_max = round_up(ceil_div(N, ceil_div(N, uk.nc)), NR);
  const int64_t m_units = ceil_div(M, MR);
  const int64_t k_blocks = ceil_div(K, kc_max);

  if (threads <= 1) {
    float* bbuf = scratch(kScratchPackB, static_cast<size_t>(kc_max * nc_max));
    for (int64_t jc = 0; jc < N; jc += nc_max) {
      const int64_t nc = std::min(nc_max, N - jc), n_panels = ceil_div(nc, NR);
      for (int64_t pc = 0; pc < K; pc += kc_max) {
        const int64_t kc = std::min(kc_max, K - pc);
        pack_b(uk, B, pc, kc, jc, nc, 0, n_panels, bbuf);
        compute_block(uk, A, 0, M, 0, n_panels, pc, kc, jc, nc, C, rs_c, cs_c, accumulate || pc > 0,
                      [&](int64_t pnl) { return bbuf + pnl * kc * NR; });
      }
    }
    return;
  }

  // K blocks per job: all of them, unless their packed B would pass kMaxPackedB (a long K, such as
  // a weight gradient summed over many images); then one job per window of K blocks.
  const int64_t window = std::max<int64_t>(1, std::min(k_blocks, kMaxPackedB / (kc_max * nc_max)));
  float* bbuf = scratch(kScratchPackB, static_cast<size_t>(window * kc_max * nc_max));
  for (int64_t jc = 0; jc < N; jc += nc_max) {
    const int64_t nc = std::min(nc_max, N - jc), n_panels = ceil_div(nc, NR);
    const int64_t groups = ceil_div(n_panels, kPanelsPerGroup);
    int tm, tn;
    thread_grid(threads, m_units, n_panels, tm, tn);
    if (tn == 1) {
      const int64_t blocks = round_up(ceil_div(m_units, std::max<int64_t>(1, uk.mc / MR)), threads);
      tm = static_cast<int>(std::max<int64_t>(tm, std::min(m_units, blocks)));
    }
    for (int64_t kb0 = 0; kb0 < k_blocks; kb0 += window) {
      const int64_t kb1 = std::min(k_blocks, kb0 + window);
      std::atomic<int>* flags = pack_flags((kb1 - kb0) * groups);
      ThreadPool::instance().run(tm * tn, [&](int t) {
        int64_t ub, ue, pb, pe;
        split_range(m_units, tm, t / tn, ub, ue);
        split_range(n_panels, tn, t % tn, pb, pe);
        if (ub >= ue || pb >= pe) return;
        const int64_t m_begin = ub * MR, m_end = std::min(M, ue * MR);
        for (int64_t kb = kb0; kb < kb1; kb++) {
          const int64_t pc = kb * kc_max, kc = std::min(kc_max, K - pc);
          float* kbuf = bbuf + (kb - kb0) * kc_max * nc_max;  // this K block's panels
          const auto panel = [&](int64_t pnl) -> const float* {
            const int64_t g = pnl / kPanelsPerGroup;
            std::atomic<int>& flag = flags[(kb - kb0) * groups + g];
            if (flag.load(std::memory_order_acquire) != 2) {
              int expected = 0;
              if (flag.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
                pack_b(uk, B, pc, kc, jc, nc, g * kPanelsPerGroup, std::min(n_panels, (g + 1) * kPanelsPerGroup),
                       kbuf);
                flag.store(2, std::memory_order_release);
              } else {
                for (int spins = 0; flag.load(std::memory_order_acquire) != 2; spins++) {
                  if (spins < 4000) cpu_relax();
                  else std::this_thread::yield();
                }
              }
            }
            return kbuf + pnl * kc * NR;
          };
          compute_block(uk, A, m_begin, m_end, pb, pe, pc, kc, jc, nc, C, rs_c, cs_c, accumulate || pc > 0, panel);
        }
      });
    }
  }
}

// Source view shifted by (dr, dq): row(r, q0, …) reads base row r + dr from column q0 + dq.
struct ShiftedSource final : MatSource {
  const MatSource* base;
  int64_t dr, dq;
  ShiftedSource(const MatSource* b, int64_t r, int64_t q) : base(b), dr(r), dq(q) {}
  void row(int64_t r, int64_t q0, int64_t len, float* dst, int64_t ds) const override {
    base->row(r + dr, q0 + dq, len, dst, ds);
  }
  const float* span(int64_t r, int64_t q0, int64_t len) const override { return base->span(r + dr, q0 + dq, len); }
};

// Up to this many multiply-adds a multi-threaded product splits C by columns (see gemm).
constexpr double kSplitColumnsMaxMacs = 32.0 * 1024 * 1024;

}  // namespace

void gemm(int64_t M, int64_t N, int64_t K, Operand A, Operand B, float* C, int64_t rs_c, int64_t cs_c,
          bool accumulate, int threads, bool allow_swap) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) C[i * rs_c + j * cs_c] = 0.f;
    return;
  }
  // The register tile: the selected ISA's kernel, or on AVX-512 the 8×48 one when the matrix
  // shape pads less with it (e.g. 16 or 32 rows: 14-row panels would be 43% / 24% padding). The
  // choice depends on the shape only, so results stay independent of the thread count.
  const GemmKernel* chosen = g_kernel;
  if (std::strcmp(g_kernel->isa, "avx512") == 0 && g_kernel->mr == kGemmAvx512.mr) {
    const GemmKernel& narrow = kGemmAvx512Narrow;
    const int64_t wide_area = round_up(M, chosen->mr) * round_up(N, chosen->nr);
    const int64_t narrow_area = round_up(M, narrow.mr) * round_up(N, narrow.nr);
    if (narrow_area * 20 < wide_area * 19) chosen = &narrow;
  }
  const GemmKernel& uk = *chosen;
  const int MR = uk.mr, NR = uk.nr;
  if (allow_swap) {
    // Padding waste of the register tile in each orientation; swap only for a clear gain because
    // the swapped C is written element by element through the tile buffer.
    const int64_t direct = round_up(M, MR) * round_up(N, NR);
    const int64_t swapped = round_up(N, MR) * round_up(M, NR);
    if (swapped * 20 < direct * 19) {
      std::swap(M, N);
      std::swap(A, B);
      A.transposed = !A.transposed;
      B.transposed = !B.transposed;
      std::swap(rs_c, cs_c);
    }
  }

  threads = std::max(1, std::min<int>(threads, ThreadPool::instance().size()));
  // Small products (the linear layers of a CNN: 64×128×3136) split C by columns, one dispatch
  // per call: the blocked loop below syncs its threads twice per K block, which costs more than
  // such a block's work. Kernel, swap and K blocking were fixed above from the whole product, so
  // every element is summed in the same order either way (results do not depend on threads).
  const int64_t col_panels = ceil_div(N, NR);
  const int parts = static_cast<int>(std::min<int64_t>(threads, col_panels));
  if (parts > 1 && static_cast<double>(M) * N * K <= kSplitColumnsMaxMacs) {
    ThreadPool::instance().run(parts, [&](int t) {
      int64_t pb, pe;
      split_range(col_panels, parts, t, pb, pe);
      const int64_t j0 = pb * NR, j1 = std::min(N, pe * NR);
      if (j0 >= j1) return;
      // Columns j0.. of op(B): rows of the stored matrix when transposed, else its columns.
      const ShiftedSource shifted(B.src, B.transposed ? j0 : 0, B.transposed ? 0 : j0);
      gemm_blocked(uk, M, j1 - j0, K, A, {&shifted, B.transposed}, C + j0 * cs_c, rs_c, cs_c, accumulate, 1);
    });
    return;
  }
  gemm_blocked(uk, M, N, K, A, B, C, rs_c, cs_c, accumulate, threads);
}

namespace {

// Σ x[i]·y[i] with 16 independent partial sums (vectorisable without reassociating), combined in
// a fixed pairwise order.
float dot(const float* x, const float* y, int64_t len) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= len; i += 16)
    for (int t = 0; t < 16; t++) acc[t] += x[i + t] * y[i + t];
  for (; i < len; i++) acc[0] += x[i] * y[i];
  for (int w = 8; w >= 1; w /= 2)
    for (int t = 0; t < w; t++) acc[t] += acc[t + w];
  return acc[0];
}

}  // namespace

void gemm_small_m(int64_t m, int64_t n, int64_t k, const float* a, bool trans_a, const float* b, bool trans_b,
                  float* c, int threads) {
  // Rows of op(A) as contiguous vectors (a transposed A is gathered once; it has m·k elements).
  const float* rows = a;
  if (trans_a && m > 1) {
    float* t = scratch(kScratchMisc, static_cast<size_t>(m * k));
    for (int64_t i = 0; i < m; i++)
      for (int64_t kk = 0; kk < k; kk++) t[i * k + kk] = a[kk * m + i];
    rows = t;
  }
  const int parts = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n / 16)));
  // On AVX-512 the weight streams through hand-written kernels (GCC's vectorisation of the loops
  // below targets the baseline ISA); a column range is the same work whichever thread runs it.
  const bool avx512 = kGemvAvx512.dot != nullptr && std::strcmp(gemm_kernel().isa, "avx512") == 0;
  parallel_for(n, parts, [&](int64_t j0, int64_t j1) {
    for (int64_t i = 0; i < m; i++) {
      const float* x = rows + i * k;
      float* ci = c + i * n;
      if (avx512) {
        if (trans_b)
          kGemvAvx512.dot(x, b, k, j0, j1, ci);
        else
          kGemvAvx512.axpy(x, b, k, n, j0, j1, ci);
      } else if (trans_b) {
        for (int64_t j = j0; j < j1; j++) ci[j] = dot(x, b + j * k, k);
      } else {
        // c[i][j] = Σ_kk x[kk]·B[kk][j], accumulated over kk in order for every j.
        std::fill(ci + j0, ci + j1, 0.f);
        for (int64_t kk = 0; kk < k; kk++) {
          const float xv = x[kk];
          const float* brow = b + kk * n;
          for (int64_t j = j0; j < j1; j++) ci[j] += xv * brow[j];
        }
      }
    }
  });
}

}  // namespace nabla
