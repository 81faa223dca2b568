// N-API entry points. Each function validates its arguments (a bad call must throw, never read
// out of bounds), borrows the typed arrays' memory (zero copy) and runs the kernel synchronously.
// The addon is context-aware (Napi::Addon): per-environment state lives in the instance, so it
// loads in worker_threads; the thread pool and scratch memory are shared by the process.
#include <napi.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "common.h"
#include "conv.h"
#include "elementwise.h"
#include "gemm.h"
#include "norm.h"
#include "optim.h"
#include "pool.h"
#include "program_threads.h"
#include "threadpool.h"
#include "int8.h"  // compress: int8 kernels, see src/compress/int8-native.ts

namespace nabla {
namespace {

// Tensors are large, short-lived typed arrays that V8 allocates with calloc. By default glibc
// serves every block over 128 KiB with a fresh mmap and unmaps it on free, so each training step
// pays a page fault per 4 KiB of every activation and gradient (measured: 10–15 % of an
// fmnist-cnn step). Serving blocks up to 32 MiB from the heap, and keeping up to 256 MiB of freed
// heap instead of trimming it, lets the next step reuse the same memory. Done once per process,
// and not when the user tunes malloc through its own environment variables.
void tune_malloc_once() {
#if defined(__GLIBC__)
  static std::atomic<bool> done{false};
  if (done.exchange(true)) return;
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr || std::getenv("MALLOC_TRIM_THRESHOLD_") != nullptr) return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

// Scratch bytes already reported to some V8 isolate (process-wide, like the scratch itself).
std::atomic<int64_t> g_reported_bytes{0};

template <typename T>
T* array_arg(const Napi::CallbackInfo& info, size_t i, int64_t need, const char* what) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray()) throw Napi::TypeError::New(info.Env(), std::string(what) + ": expected a typed array");
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  napi_typedarray_type want = std::is_same<T, float>::value     ? napi_float32_array
                              : std::is_same<T, int32_t>::value ? napi_int32_array
                                                                : napi_uint8_array;
  if (ta.TypedArrayType() != want) throw Napi::TypeError::New(info.Env(), std::string(what) + ": wrong element type");
  if (static_cast<int64_t>(ta.ElementLength()) < need)
    throw Napi::RangeError::New(info.Env(), std::string(what) + ": array too short");
  return reinterpret_cast<T*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
}

// Like array_arg, but null/undefined gives nullptr (an output the caller does not want).
template <typename T>
T* optional_array_arg(const Napi::CallbackInfo& info, size_t i, int64_t need, const char* what) {
  if (info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  return array_arg<T>(info, i, need, what);
}

int64_t int_arg(const Napi::CallbackInfo& info, size_t i) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), "expected a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d < 0 || d != static_cast<double>(static_cast<int64_t>(d)))
    throw Napi::RangeError::New(info.Env(), "expected a non-negative integer");
  return static_cast<int64_t>(d);
}

// A recorded run of kernel calls: one segment of an inference plan (src/nn/plan.ts), replayed
// with a single call instead of one per kernel. While a program is recorded (planBegin … planEnd),
// the kernels marked "recordable" below run as usual and also append themselves to it, with their
// arguments already read and checked. planRun runs them again in order, the new input's data in
// place of the recorded input's. The arrays stay the plan's: its JavaScript side keeps them alive
// and checks before each run that none was detached.
struct Program {
  const float* input = nullptr;  // the recorded input's data
  int64_t input_len = 0;
  std::vector<std::function<void(const float*)>> steps;  // each is given the run's input data
  ProgramThreads threads;  // on one thread or all of them (program_threads.h)
};

// Pairs of float arrays that must hold the same bits: an inference plan's copies of the values
// its batch-norm folds were computed from, against the live parameters (src/nn/plan.ts). One call
// compares them all (memcmp), where JavaScript compared ~3,400 numbers one by one per resnet20
// call. The arrays stay the plan's, which checks before each use that none was detached.
struct SameBitsGuard {
  std::vector<const float*> a, b;
  std::vector<size_t> bytes;
};

// p, with the run's input `in` in place of the recorded input `rec` (null outside programs).
inline const float* sub(const float* p, const float* rec, const float* in) {
  return rec != nullptr && p == rec ? in : p;
}

class NablaAddon : public Napi::Addon<NablaAddon> {
 public:
  NablaAddon(Napi::Env env, Napi::Object exports) {
    tune_malloc_once();
    DefineAddon(exports, {
                             InstanceMethod("info", &NablaAddon::Info),
                             InstanceMethod("selectIsa", &NablaAddon::SelectIsa),
                             InstanceMethod("setGemmBlocking", &NablaAddon::SetGemmBlocking),
                             InstanceMethod("setNumThreads", &NablaAddon::SetNumThreads),
                             InstanceMethod("matmul", &NablaAddon::Matmul),
                             InstanceMethod("conv2d", &NablaAddon::Conv2d),
                             InstanceMethod("conv2dFused", &NablaAddon::Conv2dFused),
                             InstanceMethod("conv2dPairFused", &NablaAddon::Conv2dPairFused),
                             InstanceMethod("conv2dBackwardInput", &NablaAddon::Conv2dBackwardInput),
                             InstanceMethod("conv2dBackwardWeight", &NablaAddon::Conv2dBackwardWeight),
                             InstanceMethod("maxPool2d", &NablaAddon::MaxPool2d),
                             InstanceMethod("maxPool2dBackward", &NablaAddon::MaxPool2dBackward),
                             InstanceMethod("reluBackward", &NablaAddon::ReluBackward),
                             InstanceMethod("batchNormStats", &NablaAddon::BatchNormStats),
                             InstanceMethod("channelAffine", &NablaAddon::ChannelAffine),
                             InstanceMethod("batchNormReluPool", &NablaAddon::BatchNormReluPool),
                             InstanceMethod("batchNormReluPoolBackward", &NablaAddon::BatchNormReluPoolBackward),
                             InstanceMethod("batchNormBackward", &NablaAddon::BatchNormBackward),
                             InstanceMethod("reduce", &NablaAddon::Reduce),
                             InstanceMethod("softmax", &NablaAddon::Softmax),
                             InstanceMethod("unary", &NablaAddon::Unary),
                             InstanceMethod("binary", &NablaAddon::Binary),
                             InstanceMethod("sgdStep", &NablaAddon::SgdStep),
                             InstanceMethod("planBegin", &NablaAddon::PlanBegin),
                             InstanceMethod("planSteps", &NablaAddon::PlanSteps),
                             InstanceMethod("planEnd", &NablaAddon::PlanEnd),
                             InstanceMethod("planRun", &NablaAddon::PlanRun),
                             InstanceMethod("guardMake", &NablaAddon::GuardMake),
                             InstanceMethod("guardHolds", &NablaAddon::GuardHolds),
                         });
    register_int8(env, exports);  // compress: int8Conv2d, int8Isa, int8SelectIsa
  }

 private:
  std::unique_ptr<Program> recording_;  // the program being recorded, if any

  // The recorded input's data while recording (null otherwise): the `rec` of sub().
  const float* recorded_input() const { return recording_ ? recording_->input : nullptr; }

  // Runs a recordable kernel call now (on the recorded input) and, while recording, appends it.
  template <typename F>
  void run_step(F step) {
    step(recorded_input());
    if (recording_) recording_->steps.emplace_back(std::move(step));
  }

  // planBegin(input): record the recordable kernel calls that follow, on this input.
  Napi::Value PlanBegin(const Napi::CallbackInfo& info) {
    const float* x = array_arg<float>(info, 0, 0, "input");
    recording_ = std::make_unique<Program>();
    recording_->input = x;
    recording_->input_len = static_cast<int64_t>(info[0].As<Napi::TypedArray>().ElementLength());
    return info.Env().Undefined();
  }

  // planSteps(): the calls recorded so far, or -1 when not recording.
  Napi::Value PlanSteps(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), recording_ ? static_cast<double>(recording_->steps.size()) : -1);
  }

  // planEnd(): stop recording; the program (an opaque handle freed with it), or null if empty.
  Napi::Value PlanEnd(const Napi::CallbackInfo& info) {
    std::unique_ptr<Program> program = std::move(recording_);
    if (!program || program->steps.empty()) return info.Env().Null();
    return Napi::External<Program>::New(info.Env(), program.release(), [](Napi::Env, Program* p) { delete p; });
  }

  // planRun(program, input): the program's calls, in order, on this input.
  Napi::Value PlanRun(const Napi::CallbackInfo& info) {
    if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "planRun: expected a program");
    Program* program = info[0].As<Napi::External<Program>>().Data();
    const float* x = array_arg<float>(info, 1, program->input_len, "input");
    const auto start = std::chrono::steady_clock::now();
    {
      const ThreadSetting setting = program->threads.next(ThreadPool::instance().size());
      Scoped<int> cap(t_thread_cap, setting == ThreadSetting::kOne ? 1 : 0);
      Scoped<bool> small(t_split_small_convs, setting == ThreadSetting::kAllSmall);
      for (const auto& step : program->steps) step(x);
    }
    program->threads.record(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count());
    report_scratch(info.Env());
    return info.Env().Undefined();
  }

  // guardMake([a0, b0, a1, b1, …]): a guard over pairs of Float32Arrays of equal lengths.
  Napi::Value GuardMake(const Napi::CallbackInfo& info) {
    if (!info[0].IsArray()) throw Napi::TypeError::New(info.Env(), "guardMake: expected an array of pairs");
    Napi::Array list = info[0].As<Napi::Array>();
    if (list.Length() % 2 != 0) throw Napi::RangeError::New(info.Env(), "guardMake: expected pairs of arrays");
    auto guard = std::make_unique<SameBitsGuard>();
    for (uint32_t i = 0; i < list.Length(); i += 2) {
      Napi::Value u = list.Get(i), v = list.Get(i + 1);
      if (!u.IsTypedArray() || !v.IsTypedArray()) throw Napi::TypeError::New(info.Env(), "guardMake: expected typed arrays");
      Napi::TypedArray x = u.As<Napi::TypedArray>(), y = v.As<Napi::TypedArray>();
      if (x.TypedArrayType() != napi_float32_array || y.TypedArrayType() != napi_float32_array)
        throw Napi::TypeError::New(info.Env(), "guardMake: expected Float32Arrays");
      if (x.ElementLength() != y.ElementLength())
        throw Napi::RangeError::New(info.Env(), "guardMake: the arrays of a pair differ in length");
      guard->a.push_back(reinterpret_cast<const float*>(static_cast<uint8_t*>(x.ArrayBuffer().Data()) + x.ByteOffset()));
      guard->b.push_back(reinterpret_cast<const float*>(static_cast<uint8_t*>(y.ArrayBuffer().Data()) + y.ByteOffset()));
      guard->bytes.push_back(x.ByteLength());
    }
    return Napi::External<SameBitsGuard>::New(info.Env(), guard.release(), [](Napi::Env, SameBitsGuard* g) { delete g; });
  }

  // guardHolds(guard): whether every pair holds the same bits.
  Napi::Value GuardHolds(const Napi::CallbackInfo& info) {
    if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "guardHolds: expected a guard");
    const SameBitsGuard* g = info[0].As<Napi::External<SameBitsGuard>>().Data();
    for (size_t i = 0; i < g->a.size(); i++)
      if (g->bytes[i] != 0 && std::memcmp(g->a[i], g->b[i], g->bytes[i]) != 0) return Napi::Boolean::New(info.Env(), false);
    return Napi::Boolean::New(info.Env(), true);
  }

  // Tells V8 about scratch memory grown (or freed by exiting threads) since the last report.
  static void report_scratch(Napi::Env env) {
    const int64_t now = g_scratch_bytes.load();
    const int64_t before = g_reported_bytes.exchange(now);
    if (now != before) Napi::MemoryManagement::AdjustExternalMemory(env, now - before);
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    const GemmKernel& k = gemm_kernel();
    o.Set("isa", k.isa);
    o.Set("threads", ThreadPool::instance().size());
    o.Set("gemmTile", std::to_string(k.mr) + "x" + std::to_string(k.nr));
    o.Set("gemmBlocking", std::to_string(k.mc) + "/" + std::to_string(k.kc) + "/" + std::to_string(k.nc));
    o.Set("scratchBytes", static_cast<double>(g_scratch_bytes.load()));
    return o;
  }

  Napi::Value SelectIsa(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), gemm_select(info[0].As<Napi::String>().Utf8Value().c_str()));
  }

  Napi::Value SetGemmBlocking(const Napi::CallbackInfo& info) {
    gemm_set_blocking(static_cast<int>(int_arg(info, 0)), static_cast<int>(int_arg(info, 1)),
                      static_cast<int>(int_arg(info, 2)));
    return info.Env().Undefined();
  }

  // setNumThreads(n): resize the process-wide pool (workers + the calling thread).
  Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
    const int64_t n = int_arg(info, 0);
    if (n < 1 || n > 256) throw Napi::RangeError::New(info.Env(), "setNumThreads: expected 1 to 256");
    ThreadPool::instance().resize(static_cast<int>(n));
    report_scratch(info.Env());
    return info.Env().Undefined();
  }

  static void matmul(const float* a, const float* b, float* out, int64_t batch, int64_t m, int64_t k, int64_t n,
                     int64_t sa, int64_t sb, bool ta, bool tb) {
    const double flops = 2.0 * m * n * k;
    const int threads = threads_for(flops * batch, 1 << 18);
    if (m <= kSmallM) {
      // A few rows (batch-1 linear layers): dot products / row updates, no packing.
      for (int64_t i = 0; i < batch; i++) gemm_small_m(m, n, k, a + i * sa, ta, b + i * sb, tb, out + i * m * n, threads);
      return;
    }
    // Many small products: one whole product per thread; otherwise threads inside each GEMM.
    const int outer = (batch >= threads && flops < 1e8) ? threads : 1;
    const int inner = outer > 1 ? 1 : threads;
    parallel_for(batch, outer, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; i++) {
        // A: stored m×k (rows m), or k×m when transposed (rows k, used as Aᵀ).
        StridedSource as(a + i * sa, ta ? m : k, 1);
        StridedSource bs(b + i * sb, tb ? k : n, 1);
        gemm(m, n, k, {&as, ta}, {&bs, tb}, out + i * m * n, n, 1, false, inner);
      }
    });
  }

  // matmul(a, b, out, batch, m, k, n, aBatchStride, bBatchStride, transA, transB); recordable
  Napi::Value Matmul(const Napi::CallbackInfo& info) {
    const int64_t batch = int_arg(info, 3), m = int_arg(info, 4), k = int_arg(info, 5), n = int_arg(info, 6);
    const int64_t sa = int_arg(info, 7), sb = int_arg(info, 8);
    const bool ta = info[9].ToBoolean(), tb = info[10].ToBoolean();
    const int64_t last = batch > 0 ? batch - 1 : 0;
    const float* a = array_arg<float>(info, 0, batch ? last * sa + m * k : 0, "a");
    const float* b = array_arg<float>(info, 1, batch ? last * sb + k * n : 0, "b");
    float* out = array_arg<float>(info, 2, batch * m * n, "out");
    const float* rec = recorded_input();
    run_step([=](const float* in) { matmul(sub(a, rec, in), sub(b, rec, in), out, batch, m, k, n, sa, sb, ta, tb); });
    report_scratch(info.Env());
    return info.Env().Undefined();
  }

  static ConvParams conv_params(const Napi::CallbackInfo& info, size_t i) {
    const int32_t* q = array_arg<int32_t>(info, i, 16, "params");
    ConvParams p{q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9], q[10], q[11], q[12], q[13], q[14], q[15]};
    if (p.groups < 1 || p.c % p.groups || p.o % p.groups || p.sh < 1 || p.sw < 1 || p.dh < 1 || p.dw < 1 ||
        p.n < 0 || p.oh < 0 || p.ow < 0 || p.kh < 1 || p.kw < 1 || p.ph < 0 || p.pw < 0)
      throw Napi::RangeError::New(info.Env(), "conv2d: invalid parameters");
    return p;
  }

  // conv2d(x, w, params Int32Array[16], out, bias|null)
  Napi::Value Conv2d(const Napi::CallbackInfo& info) {
    const ConvParams p = conv_params(info, 2);
    const float* x = array_arg<float>(info, 0, p.n * p.c * p.h * p.w, "x");
    const float* w = array_arg<float>(info, 1, p.o * (p.c / p.groups) * p.kh * p.kw, "w");
    float* y = array_arg<float>(info, 3, p.n * p.o * p.oh * p.ow, "out");
    const float* bias = optional_array_arg<float>(info, 4, p.o, "bias");
    conv2d_forward(x, w, p, y, bias);
    report_scratch(info.Env());
    return info.Env().Undefined();
  }

  // conv2dFused(x, w, params, out, scale|null, shift|null, residual|null, relu, pool, relu6?); recordable
  Napi::Value Conv2dFused(const Napi::CallbackInfo& info) {
    const ConvParams p = conv_params(info, 2);
    ConvEpilogue e;
    e.relu = info[7].ToBoolean().Value();
    e.pool = info[8].ToBoolean().Value();
    e.relu6 = info.Length() > 9 && info[9].ToBoolean().Value();
    if (e.relu6 && !e.relu) throw Napi::RangeError::New(info.Env(), "conv2dFused: relu6 needs relu");
    const int64_t out_plane = e.pool ? (p.oh / 2) * (p.ow / 2) : p.oh * p.ow;
    const float* x = array_arg<float>(info, 0, p.n * p.c * p.h * p.w, "x");
    const float* w = array_arg<float>(info, 1, p.o * (p.c / p.groups) * p.kh * p.kw, "w");
    float* y = array_arg<float>(info, 3, p.n * p.o * out_plane, "out");
    e.scale = optional_array_arg<float>(info, 4, p.o, "scale");
    e.shift = optional_array_arg<float>(info, 5, p.o, "shift");
    e.residual = optional_array_arg<float>(info, 6, p.n * p.o * p.oh * p.ow, "residual");
    if (e.pool && e.residual != nullptr)
      throw Napi::RangeError::New(info.Env(), "conv2dFused: pool and residual cannot be combined");
    const float* rec = recorded_input();
    run_step([=](const float* in) {
      ConvEpilogue ep = e;
      ep.residual = sub(e.residual, rec, in);
      conv2d_forward_fused(sub(x, rec, in), w, p, y, ep);
    });
    report_scratch(info.Env());
    return info.Env().Undefined();
  }

  // conv2dPairFused(x, w1, params1, scale1|null, shift1|null, relu1, relu6_1, mid,
  //                 w2, params2, scale2|null, shift2|null, residual|null, relu2, relu6_2, out)
  Napi::Value Conv2dPairFused(const Napi::CallbackInfo& info) {
    const ConvParams p1 = conv_params(info, 2), p2 = conv_params(info, 9);
    if (p2.n != p1.n || p2.c != p1.o || p2.h != p1.oh || p2.w != p1.ow)
      throw Napi::RangeError::New(info.Env(), "conv2dPairFused: the second convolution must take the first's output");
    ConvEpilogue e1, e2;
    e1.relu = info[5].ToBoolean().Value();
    e1.relu6 = info[6].ToBoolean().Value();
    e2.relu = info[13].ToBoolean().Value();
    e2.relu6 = info[14].ToBoolean().Value();
    if ((e1.relu6 && !e1.relu) || (e2.relu6 && !e2.relu))
      throw Napi::RangeError::New(info.Env(), "conv2dPairFused: relu6 needs relu");
    const float* x = array_arg<float>(info, 0, p1.n * p1.c * p1.h * p1.w, "x");
    const float* w1 = array_arg<float>(info, 1, p1.o * (p1.c / p1.groups) * p1.kh * p1.kw, "w1");
    e1.scale = optional_array_arg<float>(info, 3, p1.o, "scale1");
    e1.shift = optional_array_arg<float>(info, 4, p1.o, "shift1");
    float* mid = array_arg<float>(info, 7, p1.n * p1.o * p1.oh * p1.ow, "mid");
    const float* w2 = array_arg<float>(info, 8, p2.o * (p2.c / p2.groups) * p2.kh * p2.kw, "w2");
    e2.scale = optional_array_arg<float>(info, 10, p2.o, "scale2");
    e2.shift = optional_array_arg<float>(info, 11, p2.o, "shift2");
    e2.residual = optional_array_arg<float>(info, 12, p2.n * p2.o * p2.oh * p2.ow, "residual");
    float* y = array_arg<float>(info, 15, p2.n * p2.o * p2.oh * p2.ow, "out");
    const float* rec = recorded_input();
    run_step([=](const float* in) {
      ConvEpilogue second = e2;
      second.residual = sub(e2.residual, rec, in);
      conv2d_pair_forward(sub(x, rec, in), w1, p1, e1, mid, w2, p2, second, y);
    });
    report_scratch(info.Env());
    return info.Env().Undefined();
  }

  // conv2dBackwardInput(gy, w, params, out)
  Napi::Value Conv2dBackwardInput(const Napi::CallbackInfo& info) {
    const ConvParams p = conv_params(info, 2);
    const float* gy = array_arg<float>(info, 0, p.n * p.o * p.oh * p.ow, "gy");
    const float* w = array_arg<float>(info, 1, p.o * (p.c / p.groups) * p.kh * p.kw, "w");
    float* gx = array_arg<float>(info, 3, p.n * p.c * p.h * p.w, "out");
    conv2d_backward_input(gy, w, p, gx);
    report_scratch(info.Env());
    return info.Env().Undefined();
  }

  // conv2dBackwardWeight(x, gy, params, out)
  Napi::Value Conv2dBackwardWeight(const Napi::CallbackInfo& info) {
    const ConvParams p = conv_params(info, 2);
    const float* x = array_arg<float>(info, 0, p.n * p.c * p.h * p.w, "x");
    const float* gy = array_arg<float>(info, 1, p.n * p.o * p.oh * p.ow, "gy");
    float* gw = array_arg<float>(info, 3, p.o * (p.c / p.groups) * p.kh * p.kw, "out");
    conv2d_backward_weight(x, gy, p, gw);
    report_scratch(info.Env());
    return info.Env().Undefined();
  }

  static PoolParams pool_params(const Napi::CallbackInfo& info, size_t i) {
    const int32_t* q = array_arg<int32_t>(info, i, 14, "params");
    PoolParams p{q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9], q[10], q[11], q[12], q[13]};
    if (p.sh < 1 || p.sw < 1 || p.dh < 1 || p.dw < 1 || p.n < 0 || p.c < 0 || p.h < 0 || p.w < 0 || p.oh < 0 ||
        p.ow < 0 || p.kh < 1 || p.kw < 1)
      throw Napi::RangeError::New(info.Env(), "maxPool2d: invalid parameters");
    return p;
  }

  // maxPool2d(x, params Int32Array[14], out, indices); recordable
  Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
    const PoolParams p = pool_params(info, 1);
    const float* x = array_arg<float>(info, 0, p.n * p.c * p.h * p.w, "x");
    float* y = array_arg<float>(info, 2, p.n * p.c * p.oh * p.ow, "out");
    int32_t* idx = array_arg<int32_t>(info, 3, p.n * p.c * p.oh * p.ow, "indices");
    const float* rec = recorded_input();
    run_step([=](const float* in) { max_pool2d(sub(x, rec, in), p, y, idx); });
    return info.Env().Undefined();
  }

  // maxPool2dBackward(g, indices, params Int32Array[14], out)
  Napi::Value MaxPool2dBackward(const Napi::CallbackInfo& info) {
    const PoolParams p = pool_params(info, 2);
    const float* g = array_arg<float>(info, 0, p.n * p.c * p.oh * p.ow, "g");
    const int32_t* idx = array_arg<int32_t>(info, 1, p.n * p.c * p.oh * p.ow, "indices");
    float* out = array_arg<float>(info, 3, p.n * p.c * p.h * p.w, "out");
    max_pool2d_backward(g, idx, p, out);
    return info.Env().Undefined();
  }

  // reluBackward(g, y, out)
  Napi::Value ReluBackward(const Napi::CallbackInfo& info) {
    if (!info[2].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "out: expected a typed array");
    const int64_t len = static_cast<int64_t>(info[2].As<Napi::TypedArray>().ElementLength());
    const float* g = array_arg<float>(info, 0, len, "g");
    const float* y = array_arg<float>(info, 1, len, "y");
    float* out = array_arg<float>(info, 2, len, "out");
    relu_backward(g, y, len, out);
    return info.Env().Undefined();
  }

  // sgdStep(param, paramOffset, grad, gradOffset, buf|null, n, hyper) with hyper a Float64Array
  // [lr, momentum, dampening, weightDecay, nesterov, maximize, first].
  Napi::Value SgdStep(const Napi::CallbackInfo& info) {
    const int64_t xo = int_arg(info, 1), go = int_arg(info, 3), n = int_arg(info, 5);
    float* x = array_arg<float>(info, 0, xo + n, "param") + xo;
    const float* g = array_arg<float>(info, 2, go + n, "grad") + go;
    float* buf = optional_array_arg<float>(info, 4, n, "buf");
    if (!info[6].IsTypedArray() || info[6].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        info[6].As<Napi::TypedArray>().ElementLength() < 7)
      throw Napi::TypeError::New(info.Env(), "hyper: expected a Float64Array of 7");
    Napi::Float64Array hv = info[6].As<Napi::Float64Array>();
    const SgdHyper h{hv[0], hv[1], hv[2], hv[3], hv[4] != 0, hv[5] != 0, hv[6] != 0};
    sgd_step(x, g, buf, n, h);
    return info.Env().Undefined();
  }

  // batchNormStats(x, n, c, inner, mean, var)
  Napi::Value BatchNormStats(const Napi::CallbackInfo& info) {
    const int64_t n = int_arg(info, 1), c = int_arg(info, 2), inner = int_arg(info, 3);
    const float* x = array_arg<float>(info, 0, n * c * inner, "x");
    float* mean = array_arg<float>(info, 4, c, "mean");
    float* var = array_arg<float>(info, 5, c, "variance");
    batch_norm_stats(x, n, c, inner, mean, var);
    return info.Env().Undefined();
  }

  // batchNormReluPool(x, n, c, h, w, scale, shift, out, indices)
  Napi::Value BatchNormReluPool(const Napi::CallbackInfo& info) {
    const int64_t n = int_arg(info, 1), c = int_arg(info, 2), h = int_arg(info, 3), w = int_arg(info, 4);
    const int64_t pooled = n * c * (h / 2) * (w / 2);
    const float* x = array_arg<float>(info, 0, n * c * h * w, "x");
    const float* scale = array_arg<float>(info, 5, c, "scale");
    const float* shift = array_arg<float>(info, 6, c, "shift");
    float* out = array_arg<float>(info, 7, pooled, "out");
    int32_t* idx = array_arg<int32_t>(info, 8, pooled, "indices");
    batch_norm_relu_pool(x, n, c, h, w, scale, shift, out, idx);
    return info.Env().Undefined();
  }

  // batchNormReluPoolBackward(x, g, pooled, indices, n, c, h, w, mean, invstd, weight?, gx?, gWeight?, gBias?)
  Napi::Value BatchNormReluPoolBackward(const Napi::CallbackInfo& info) {
    const int64_t n = int_arg(info, 4), c = int_arg(info, 5), h = int_arg(info, 6), w = int_arg(info, 7);
    const int64_t size = n * c * (h / 2) * (w / 2);
    const float* x = array_arg<float>(info, 0, n * c * h * w, "x");
    const float* g = array_arg<float>(info, 1, size, "g");
    const float* pooled = array_arg<float>(info, 2, size, "pooled");
    const int32_t* idx = array_arg<int32_t>(info, 3, size, "indices");
    const float* mean = array_arg<float>(info, 8, c, "mean");
    const float* invstd = array_arg<float>(info, 9, c, "invstd");
    const float* weight = optional_array_arg<float>(info, 10, c, "weight");
    float* gx = optional_array_arg<float>(info, 11, n * c * h * w, "gx");
    float* gw = optional_array_arg<float>(info, 12, c, "gWeight");
    float* gb = optional_array_arg<float>(info, 13, c, "gBias");
    batch_norm_relu_pool_backward(x, g, pooled, idx, n, c, h, w, mean, invstd, weight, gx, gw, gb);
    return info.Env().Undefined();
  }

  // channelAffine(x, n, c, inner, scale, shift, relu, out, residual?); recordable
  Napi::Value ChannelAffine(const Napi::CallbackInfo& info) {
    const int64_t n = int_arg(info, 1), c = int_arg(info, 2), inner = int_arg(info, 3);
    const float* x = array_arg<float>(info, 0, n * c * inner, "x");
    const float* scale = array_arg<float>(info, 4, c, "scale");
    const float* shift = array_arg<float>(info, 5, c, "shift");
    const bool relu = info[6].ToBoolean();
    float* out = array_arg<float>(info, 7, n * c * inner, "out");
    const float* residual = optional_array_arg<float>(info, 8, n * c * inner, "residual");
    const float* rec = recorded_input();
    run_step([=](const float* in) {
      channel_affine(sub(x, rec, in), n, c, inner, scale, shift, relu, out, sub(residual, rec, in));
    });
    return info.Env().Undefined();
  }

  // batchNormBackward(x, g, n, c, inner, mean, invstd, weight?, gx?, gWeight?, gBias?, reluOut?)
  Napi::Value BatchNormBackward(const Napi::CallbackInfo& info) {
    const int64_t n = int_arg(info, 2), c = int_arg(info, 3), inner = int_arg(info, 4);
    const float* x = array_arg<float>(info, 0, n * c * inner, "x");
    const float* g = array_arg<float>(info, 1, n * c * inner, "g");
    const float* mean = array_arg<float>(info, 5, c, "mean");
    const float* invstd = array_arg<float>(info, 6, c, "invstd");
    const float* weight = optional_array_arg<float>(info, 7, c, "weight");
    float* gx = optional_array_arg<float>(info, 8, n * c * inner, "gx");
    float* gw = optional_array_arg<float>(info, 9, c, "gWeight");
    float* gb = optional_array_arg<float>(info, 10, c, "gBias");
    const float* relu_out = info.Length() > 11 ? optional_array_arg<float>(info, 11, n * c * inner, "reluOut") : nullptr;
    batch_norm_backward(x, g, n, c, inner, mean, invstd, weight, gx, gw, gb, relu_out);
    return info.Env().Undefined();
  }

  // reduce(opCode, x, outer, size, inner, out); recordable
  Napi::Value Reduce(const Napi::CallbackInfo& info) {
    const int op = static_cast<int>(int_arg(info, 0));
    const int64_t outer = int_arg(info, 2), size = int_arg(info, 3), inner = int_arg(info, 4);
    if (op >= kReduceCount) throw Napi::RangeError::New(info.Env(), "reduce: unknown op");
    const float* x = array_arg<float>(info, 1, outer * size * inner, "x");
    float* out = array_arg<float>(info, 5, outer * inner, "out");
    const float* rec = recorded_input();
    run_step([=](const float* in) { reduce(op, sub(x, rec, in), outer, size, inner, out); });
    return info.Env().Undefined();
  }

  // softmax(log, x, outer, size, inner, out); recordable
  Napi::Value Softmax(const Napi::CallbackInfo& info) {
    const bool log = info[0].ToBoolean();
    const int64_t outer = int_arg(info, 2), size = int_arg(info, 3), inner = int_arg(info, 4);
    const float* x = array_arg<float>(info, 1, outer * size * inner, "x");
    float* out = array_arg<float>(info, 5, outer * size * inner, "out");
    const float* rec = recorded_input();
    run_step([=](const float* in) { softmax(log, sub(x, rec, in), outer, size, inner, out); });
    return info.Env().Undefined();
  }

  // Reads a view: (data Float32Array, offset, strides) with strides from a Float64Array `meta`.
  // meta layout: [ndim, shape..., offset_0, strides_0..., offset_1, strides_1...].
  static int read_meta(const Napi::CallbackInfo& info, size_t meta_i, int nviews, int64_t* shape, View* views,
                       int64_t* total) {
    Napi::Value v = info[meta_i];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      throw Napi::TypeError::New(info.Env(), "meta: expected a Float64Array");
    Napi::Float64Array meta = v.As<Napi::Float64Array>();
    const int ndim = static_cast<int>(meta.ElementLength() > 0 ? meta[0] : -1);
    if (ndim < 0 || ndim > kMaxDims || meta.ElementLength() < static_cast<size_t>(1 + ndim + nviews * (1 + ndim)))
      throw Napi::RangeError::New(info.Env(), "meta: bad layout (at most 8 dims)");
    *total = 1;
    for (int d = 0; d < ndim; d++) {
      shape[d] = static_cast<int64_t>(meta[1 + d]);
      *total *= shape[d];
    }
    for (int k = 0; k < nviews; k++) {
      const size_t base = 1 + ndim + k * (1 + ndim);
      views[k].off = static_cast<int64_t>(meta[base]);
      // Bounds: the smallest and largest element offsets the view can reach.
      int64_t lo = views[k].off, hi = views[k].off;
      for (int d = 0; d < ndim; d++) {
        const int64_t s = static_cast<int64_t>(meta[base + 1 + d]);
        views[k].strides[d] = s;
        if (shape[d] > 0) (s >= 0 ? hi : lo) += s * (shape[d] - 1);
      }
      views[k].data = array_arg<float>(info, 1 + k, *total > 0 ? hi + 1 : 0, "view");
      if (*total > 0 && lo < 0) throw Napi::RangeError::New(info.Env(), "view: negative offset");
    }
    return ndim;
  }

  // unary(opCode, x, meta, out); recordable
  Napi::Value Unary(const Napi::CallbackInfo& info) {
    const int op = static_cast<int>(int_arg(info, 0));
    if (op >= kUnaryCount) throw Napi::RangeError::New(info.Env(), "unary: unknown op");
    int64_t shape[kMaxDims], total;
    View v[1];
    const int nd = read_meta(info, 2, 1, shape, v, &total);
    float* out = array_arg<float>(info, 3, total, "out");
    const float* rec = recorded_input();
    const View x = v[0];
    std::array<int64_t, kMaxDims> dims{};
    std::copy(shape, shape + nd, dims.begin());
    run_step([=](const float* in) {
      View xv = x;
      xv.data = sub(x.data, rec, in);
      unary(op, xv, nd, dims.data(), out);
    });
    return info.Env().Undefined();
  }

  // binary(opCode, a, b, meta, out); recordable
  Napi::Value Binary(const Napi::CallbackInfo& info) {
    const int op = static_cast<int>(int_arg(info, 0));
    if (op >= kBinaryCount) throw Napi::RangeError::New(info.Env(), "binary: unknown op");
    int64_t shape[kMaxDims], total;
    View v[2];
    const int nd = read_meta(info, 3, 2, shape, v, &total);
    float* out_f = nullptr;
    uint8_t* out_u = nullptr;
    if (op >= kEq) {
      out_u = array_arg<uint8_t>(info, 4, total, "out");
    } else {
      out_f = array_arg<float>(info, 4, total, "out");
    }
    const float* rec = recorded_input();
    const View a = v[0], b = v[1];
    std::array<int64_t, kMaxDims> dims{};
    std::copy(shape, shape + nd, dims.begin());
    run_step([=](const float* in) {
      View av = a, bv = b;
      av.data = sub(a.data, rec, in);
      bv.data = sub(b.data, rec, in);
      binary(op, av, bv, nd, dims.data(), out_f, out_u);
    });
    return info.Env().Undefined();
  }
};

}  // namespace
}  // namespace nabla

using nabla::NablaAddon;
NODE_API_ADDON(NablaAddon)
