// Int8 convolution / linear: quantize the float input (per-tensor affine, 7-bit), im2col in
// bytes, int8 GEMM with int32 accumulation (VNNI, AVX2 or scalar, chosen at run time), then one
// pass that removes the zero-point term, scales, adds the bias, applies ReLU/ReLU6 and writes
// float32 NCHW. See int8.h for the exact numerics (shared with src/compress/int8-ref.ts).
//
// The floating-point epilogue must not be contracted into FMAs, or results would differ from the
// reference in the last bit: this file is compiled for the baseline ISA, which has no FMA. (A
// `#pragma GCC optimize("fp-contract=off")` would also do, but it stops GCC from inlining the
// standard-library helpers into this file's functions, which made the kernels several times slower.)
#include <napi.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "int8.h"
#include "threadpool.h"

namespace nabla {
namespace {

void int8_gemm_generic(const uint8_t* a, int64_t rows, int64_t k4, const int8_t* b, int64_t op, int32_t* c,
                       int64_t ldc) {
  for (int64_t r = 0; r < rows; r++) {
    int32_t* cr = c + r * ldc;
    for (int64_t o = 0; o < op; o++) cr[o] = 0;
    const uint8_t* ar = a + r * 4 * k4;
    for (int64_t k = 0; k < k4; k++) {
      const int8_t* bk = b + k * op * 4;
      for (int64_t o = 0; o < op; o++)
        for (int j = 0; j < 4; j++) cr[o] += static_cast<int32_t>(ar[4 * k + j]) * bk[4 * o + j];
    }
  }
}

struct Isa {
  const char* name;
  Int8GemmFn fn;
};

Isa best_isa() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
    return {"avx512vnni", int8_gemm_avx512vnni};
  if (__builtin_cpu_supports("avx2")) return {"avx2", int8_gemm_avx2};
#endif
  return {"generic", int8_gemm_generic};
}

Isa g_isa = best_isa();

// The AVX-512 epilogue runs with the VNNI kernels (same CPUs); other ISAs use the scalar one.
inline bool vector_epilogue() {
#if defined(__x86_64__) || defined(__i386__)
  return g_isa.fn == int8_gemm_avx512vnni;
#else
  return false;
#endif
}

// Per-thread byte buffers (grown on demand, kept for the thread's life).
struct Buffers {
  std::vector<uint8_t> xq, cols;
  std::vector<int32_t> acc;
};
thread_local Buffers t_buf;

struct Conv {
  int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups, oh, ow;
};

// floor(x / scale + 0.5) + zero, clamped to [0, 127] (NaN → 0). Beyond ±1024 the clamp decides,
// so the floor is taken on a small range with integer truncation instead of a libm call.
inline uint8_t quantize(float x, double scale, int32_t zero) {
  const double t = static_cast<double>(x) / scale + 0.5;
  if (!(t > -1024.0)) return 0;
  if (t > 1024.0) return 127;
  int64_t i = static_cast<int64_t>(t);
  if (static_cast<double>(i) > t) i--;
  const int64_t q = i + zero;
  return static_cast<uint8_t>(q < 0 ? 0 : q > 127 ? 127 : q);
}

struct Epilogue {
  const int32_t* row_sum;
  const float* w_scale;
  const float* bias;
  double x_scale;
  int32_t x_zero;
  int act;  // 0 none, 1 relu, 2 relu6

  // dst[r·dst_stride] = act((acc[r·acc_stride] − xz·Σw[o])·(xs·ws[o]) + bias[o]) for r < rows.
  // acc − xz·Σw fits int32: |acc|, |xz·Σw| ≤ 127·127·K < 2^30 (K is checked by the caller).
  template <int ACT>
  void column(const int32_t* acc, int64_t acc_stride, int64_t o, float* dst, int64_t dst_stride,
              int64_t rows) const {
    const double m = x_scale * static_cast<double>(w_scale[o]);
    const int32_t corr = x_zero * row_sum[o];
    const double b = static_cast<double>(bias[o]);
    for (int64_t r = 0; r < rows; r++) {
      double v = static_cast<double>(acc[r * acc_stride] - corr) * m + b;
      if (ACT >= 1 && v < 0) v = 0;
      if (ACT == 2 && v > 6) v = 6;
      dst[r * dst_stride] = static_cast<float>(v);
    }
  }

  void write(const int32_t* acc, int64_t acc_stride, int64_t o, float* dst, int64_t dst_stride,
             int64_t rows) const {
    if (dst_stride == 1 && vector_epilogue()) {
      const double m = x_scale * static_cast<double>(w_scale[o]);
      return int8_epilogue_avx512(acc, acc_stride, x_zero * row_sum[o], m, static_cast<double>(bias[o]), act, dst,
                                  rows);
    }
    if (act == 0) column<0>(acc, acc_stride, o, dst, dst_stride, rows);
    else if (act == 1) column<1>(acc, acc_stride, o, dst, dst_stride, rows);
    else column<2>(acc, acc_stride, o, dst, dst_stride, rows);
  }
};

// Rows [r0, r1) of a linear layer: x [n][c] → out [n][o].
void linear_rows(const float* x, const Conv& p, const int8_t* packed, const Epilogue& ep, float* out, int64_t r0,
                 int64_t r1) {
  const int64_t k4 = (p.c + 3) / 4, op = (p.o + 15) / 16 * 16, rows = r1 - r0;
  Buffers& b = t_buf;
  if (b.cols.size() < static_cast<size_t>(rows * 4 * k4)) b.cols.resize(rows * 4 * k4);
  if (b.acc.size() < static_cast<size_t>(rows * op)) b.acc.resize(rows * op);
  for (int64_t r = 0; r < rows; r++) {
    uint8_t* dst = b.cols.data() + r * 4 * k4;
    const float* src = x + (r0 + r) * p.c;
    for (int64_t k = 0; k < p.c; k++) dst[k] = quantize(src[k], ep.x_scale, ep.x_zero);
    for (int64_t k = p.c; k < 4 * k4; k++) dst[k] = 0;
  }
  g_isa.fn(b.cols.data(), rows, k4, packed, op, b.acc.data(), op);
  for (int64_t o = 0; o < p.o; o++) ep.write(b.acc.data() + o, op, o, out + r0 * p.o + o, p.o, rows);
}

// Output positions [q0, q1) of sample `s` of a convolution, all groups. Per group the input is
// quantized once into a zero-point-padded channels-last buffer, so each im2col row is kh·kw
// contiguous runs of C/groups bytes; the packed weights use the same k order (ky, kx, ci).
void conv_part(const float* x, const Conv& p, const int8_t* packed, const Epilogue& ep, float* out, int64_t s,
               int64_t q0, int64_t q1) {
  const int64_t cg = p.c / p.groups, og = p.o / p.groups, kg = cg * p.kh * p.kw;
  const int64_t k4 = (kg + 3) / 4, op = (og + 15) / 16 * 16, rows = q1 - q0, plane = p.h * p.w;
  const int64_t hp = p.h + 2 * p.ph, wp = p.w + 2 * p.pw, positions = p.oh * p.ow;
  Buffers& b = t_buf;
  if (b.xq.size() < static_cast<size_t>(hp * wp * cg)) b.xq.resize(hp * wp * cg);
  if (b.cols.size() < static_cast<size_t>(rows * 4 * k4)) b.cols.resize(rows * 4 * k4);
  if (b.acc.size() < static_cast<size_t>(rows * op)) b.acc.resize(rows * op);
  const uint8_t zero = static_cast<uint8_t>(ep.x_zero);
  // Everything the byte loops read, in locals: stores through uint8_t* may alias any object, so
  // fields read through `p`, `ep` or `b` would be reloaded after every byte written.
  const int64_t kh = p.kh, kw = p.kw, sh = p.sh, sw = p.sw, dh = p.dh, dw = p.dw, ow_n = p.ow;
  const int64_t h = p.h, w = p.w, ph = p.ph, pw = p.pw, row_len = 4 * k4;
  const double x_scale = ep.x_scale;
  const int32_t x_zero = ep.x_zero;
  uint8_t* const xq = b.xq.data();
  uint8_t* const cols = b.cols.data();
  for (int64_t g = 0; g < p.groups; g++) {
    std::memset(xq, zero, hp * wp * cg);
    const float* xg = x + (s * p.c + g * cg) * plane;
    for (int64_t ci = 0; ci < cg; ci++)
      for (int64_t iy = 0; iy < h; iy++) {
        uint8_t* row = xq + ((iy + ph) * wp + pw) * cg + ci;
        const float* src = xg + ci * plane + iy * w;
        if (vector_epilogue()) {
          int8_quantize_avx512(src, w, x_scale, x_zero, row, cg);
        } else {
          for (int64_t ix = 0; ix < w; ix++) row[ix * cg] = quantize(src[ix], x_scale, x_zero);
        }
      }
    int64_t oy = q0 / ow_n, ox = q0 % ow_n;  // output position of row r, stepped (no division per row)
    for (int64_t r = 0; r < rows; r++) {
      uint8_t* dst = cols + r * row_len;
      for (int64_t ky = 0; ky < kh; ky++)
        for (int64_t kx = 0; kx < kw; kx++) {
          const uint8_t* src = xq + ((oy * sh + ky * dh) * wp + ox * sw + kx * dw) * cg;
          if (cg >= 16) {
            std::memcpy(dst, src, cg);
          } else {
            for (int64_t ci = 0; ci < cg; ci++) dst[ci] = src[ci];
          }
          dst += cg;
        }
      for (int64_t k = kg; k < row_len; k++) cols[r * row_len + k] = 0;
      if (++ox == ow_n) ox = 0, oy++;
    }
    g_isa.fn(b.cols.data(), rows, k4, packed + g * k4 * op * 4, op, b.acc.data(), op);
    // acc is [rows][op] and out is channel-major: write it out in blocks of 64 rows, so the
    // column-wise reads of a block stay in L1 instead of striding through the whole of acc.
    constexpr int64_t kRowBlock = 64;
    for (int64_t r0 = 0; r0 < rows; r0 += kRowBlock) {
      const int64_t rb = std::min(kRowBlock, rows - r0);
      for (int64_t oo = 0; oo < og; oo++) {
        const int64_t o = g * og + oo;
        ep.write(b.acc.data() + r0 * op + oo, op, o, out + (s * p.o + o) * positions + q0 + r0, 1, rb);
      }
    }
  }
}

template <typename T>
T* typed(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type type, int64_t need, const char* what) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    throw Napi::TypeError::New(info.Env(), std::string("int8Conv2d: ") + what + " has the wrong array type");
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (static_cast<int64_t>(ta.ElementLength()) < need)
    throw Napi::RangeError::New(info.Env(), std::string("int8Conv2d: ") + what + " is too short");
  return reinterpret_cast<T*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
}

// int8Conv2d(x, params Int32Array[16], packed Int8Array, rowSum Int32Array, wScale Float32Array,
//            bias Float32Array, xScale, xZero, act, out)
Napi::Value Int8Conv2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int32_t* q = typed<int32_t>(info, 1, napi_int32_array, 16, "params");
  Conv p{q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9], q[10], q[11], q[12], q[13], q[14], q[15]};
  if (p.groups < 1 || p.c % p.groups || p.o % p.groups || p.sh < 1 || p.sw < 1 || p.dh < 1 || p.dw < 1 || p.n < 0 ||
      p.oh < 0 || p.ow < 0 || p.kh < 1 || p.kw < 1 || p.ph < 0 || p.pw < 0 || p.c < 1 || p.o < 1 ||
      (p.oh - 1) * p.sh + (p.kh - 1) * p.dh >= p.h + 2 * p.ph || (p.ow - 1) * p.sw + (p.kw - 1) * p.dw >= p.w + 2 * p.pw)
    throw Napi::RangeError::New(env, "int8Conv2d: invalid parameters");
  const int64_t cg = p.c / p.groups, og = p.o / p.groups, kg = cg * p.kh * p.kw;
  const int64_t k4 = (kg + 3) / 4, op = (og + 15) / 16 * 16;
  if (kg > 65536) throw Napi::RangeError::New(env, "int8Conv2d: more than 65536 products per output (int32 range)");
  const float* x = typed<float>(info, 0, napi_float32_array, p.n * p.c * p.h * p.w, "x");
  const int8_t* packed = typed<int8_t>(info, 2, napi_int8_array, p.groups * k4 * op * 4, "packed weights");
  Epilogue ep{};
  ep.row_sum = typed<int32_t>(info, 3, napi_int32_array, p.o, "rowSum");
  ep.w_scale = typed<float>(info, 4, napi_float32_array, p.o, "wScale");
  ep.bias = typed<float>(info, 5, napi_float32_array, p.o, "bias");
  ep.x_scale = info[6].As<Napi::Number>().DoubleValue();
  ep.x_zero = info[7].As<Napi::Number>().Int32Value();
  ep.act = info[8].As<Napi::Number>().Int32Value();
  if (!(ep.x_scale > 0) || ep.x_zero < 0 || ep.x_zero > 127 || ep.act < 0 || ep.act > 2)
    throw Napi::RangeError::New(env, "int8Conv2d: invalid quantization parameters");
  // params[16], when present: 2 = a fused 2×2, stride-2 max-pool after the activation.
  const int64_t pool = info[1].As<Napi::TypedArray>().ElementLength() >= 17 ? q[16] : 0;
  if (pool != 0 && (pool != 2 || p.oh < 2 || p.ow < 2))
    throw Napi::RangeError::New(env, "int8Conv2d: invalid fused pool");
  const int64_t ph2 = p.oh / 2, pw2 = p.ow / 2;
  float* result = typed<float>(info, 9, napi_float32_array, pool ? p.n * p.o * ph2 * pw2 : p.n * p.o * p.oh * p.ow,
                               "out");
  // With a pool the convolution goes to a per-thread buffer first (reused across calls).
  static thread_local std::vector<float> full;
  if (pool) full.resize(static_cast<size_t>(p.n * p.o * p.oh * p.ow));
  float* out = pool ? full.data() : result;

  const double macs = static_cast<double>(p.n) * p.oh * p.ow * p.o * kg;
  const int threads = threads_for(macs, 1 << 23);  // waking workers costs more than small layers take
  const bool linear = p.h == 1 && p.w == 1 && p.kh == 1 && p.kw == 1 && p.ph == 0 && p.pw == 0 && p.groups == 1;
  if (linear) {
    // One GEMM over the batch rows, split in blocks of 4 rows between threads.
    const int64_t blocks = (p.n + 3) / 4;
    parallel_for(blocks, threads, [&](int64_t lo, int64_t hi) {
      linear_rows(x, p, packed, ep, out, 4 * lo, std::min<int64_t>(p.n, 4 * hi));
    });
  } else {
    // Work units: whole samples, or (for small batches) slices of one sample's output positions.
    const int64_t positions = p.oh * p.ow;
    const int64_t parts = p.n >= threads ? 1 : std::min<int64_t>(threads, (positions + 3) / 4);
    parallel_for(p.n * parts, threads, [&](int64_t lo, int64_t hi) {
      for (int64_t u = lo; u < hi; u++) {
        int64_t q0, q1;
        split_range(positions, static_cast<int>(parts), static_cast<int>(u % parts), q0, q1);
        if (q1 > q0) conv_part(x, p, packed, ep, out, u / parts, q0, q1);
      }
    });
  }
  if (pool) {
    // The epilogue's values are finite, so the max does not depend on the comparison order.
    const int64_t planes = p.n * p.o;
    parallel_for(planes, threads_for(static_cast<double>(planes) * p.oh * p.ow, 1 << 16), [&](int64_t b, int64_t e) {
      for (int64_t pl = b; pl < e; pl++)
        for (int64_t y = 0; y < ph2; y++) {
          const float* r0 = out + (pl * p.oh + 2 * y) * p.ow;
          const float* r1 = r0 + p.ow;
          float* dst = result + (pl * ph2 + y) * pw2;
          for (int64_t xx = 0; xx < pw2; xx++)
            dst[xx] = std::max(std::max(r0[2 * xx], r0[2 * xx + 1]), std::max(r1[2 * xx], r1[2 * xx + 1]));
        }
    });
  }
  return env.Undefined();
}

Napi::Value Int8Isa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), g_isa.name); }

// int8SelectIsa(name): "avx512vnni" | "avx2" | "generic"; false if this CPU lacks it.
Napi::Value Int8SelectIsa(const Napi::CallbackInfo& info) {
  const std::string want = info[0].As<Napi::String>().Utf8Value();
  const Isa best = best_isa();
  bool ok = false;
  if (want == "generic") {
    g_isa = {"generic", int8_gemm_generic};
    ok = true;
  }
#if defined(__x86_64__) || defined(__i386__)
  if (want == "avx2" && __builtin_cpu_supports("avx2")) {
    g_isa = {"avx2", int8_gemm_avx2};
    ok = true;
  }
  if (want == "avx512vnni" && std::strcmp(best.name, "avx512vnni") == 0) {
    g_isa = best;
    ok = true;
  }
#endif
  return Napi::Boolean::New(info.Env(), ok);
}

}  // namespace

void register_int8(Napi::Env env, Napi::Object exports) {
  exports.Set("int8Conv2d", Napi::Function::New(env, Int8Conv2d, "int8Conv2d"));
  exports.Set("int8Isa", Napi::Function::New(env, Int8Isa, "int8Isa"));
  exports.Set("int8SelectIsa", Napi::Function::New(env, Int8SelectIsa, "int8SelectIsa"));
}

}  // namespace nabla
