// Element-wise, reduction and softmax kernels on float32.
#pragma once
#include <cstdint>

namespace nabla {

// Op codes shared with src/backend/native/index.ts (keep the orders in sync).
enum UnaryCode {
  kNeg, kExp, kLog, kSqrt, kSin, kCos, kTanh, kSigmoid, kRelu, kAbs, kSign, kFloor, kCeil, kRound, kErf,
  kCopy,  // identity: the strided float32 → contiguous copy
  kUnaryCount
};
enum BinaryCode {
  kAdd, kSub, kMul, kDiv, kPow, kMaximum, kMinimum, kEq, kNe, kLt, kLe, kGt, kGe, kBinaryCount
};
enum ReduceCode { kSum, kMax, kMin, kProd, kReduceCount };

constexpr int kMaxDims = 8;

// An operand view over a contiguous output of `shape`: element index -> off + Σ idx[d]*strides[d].
struct View {
  const float* data;
  int64_t off;
  int64_t strides[kMaxDims];
};

// out (contiguous, shape) = op(x). out may be float32 only.
void unary(int op, const View& x, int ndim, const int64_t* shape, float* out);
// out = op(a, b); comparisons write 0/1 bytes to out_u8, the others floats to out_f32.
void binary(int op, const View& a, const View& b, int ndim, const int64_t* shape, float* out_f32,
            uint8_t* out_u8);
void reduce(int op, const float* x, int64_t outer, int64_t size, int64_t inner, float* out);
void softmax(bool log, const float* x, int64_t outer, int64_t size, int64_t inner, float* out);

}  // namespace nabla
