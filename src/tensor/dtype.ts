// Element types. Storage is always a JS typed array owned by the garbage collector; a backend
// (the TypeScript reference or the native one) reads and writes these arrays in place.

export type DType = "float32" | "float64" | "int32" | "int8" | "uint8" | "bool";

export type TypedArray = Float32Array | Float64Array | Int32Array | Int8Array | Uint8Array;

export const DTYPES: readonly DType[] = ["float32", "float64", "int32", "int8", "uint8", "bool"];

export function isFloating(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

/** Allocate a zero-filled array for `n` elements of `dtype` (bool is stored as one byte 0/1). */
export function allocArray(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(n);
    case "float64":
      return new Float64Array(n);
    case "int32":
      return new Int32Array(n);
    case "int8":
      return new Int8Array(n);
    case "uint8":
    case "bool":
      return new Uint8Array(n);
  }
}

/** A typed array of `n` elements of `dtype` over existing memory (from byte 0 of `buffer`). */
export function arrayView(dtype: DType, buffer: ArrayBuffer, n: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(buffer, 0, n);
    case "float64":
      return new Float64Array(buffer, 0, n);
    case "int32":
      return new Int32Array(buffer, 0, n);
    case "int8":
      return new Int8Array(buffer, 0, n);
    case "uint8":
    case "bool":
      return new Uint8Array(buffer, 0, n);
  }
}

/** The dtype a typed array holds (Uint8Array reads as uint8; bool must be stated explicitly). */
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Int32Array) return "int32";
  if (a instanceof Int8Array) return "int8";
  return "uint8";
}

export function bytesPerElement(dtype: DType): number {
  return dtype === "float64" ? 8 : dtype === "float32" || dtype === "int32" ? 4 : 1;
}

// Type promotion for binary ops between two tensors, as PyTorch does it for the dtypes we have:
// bool < uint8/int8 < int32 < float32 < float64 (uint8 with int8 widens to int32).
const RANK: Record<DType, number> = { bool: 0, uint8: 1, int8: 1, int32: 2, float32: 3, float64: 4 };

export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  if ((a === "uint8" && b === "int8") || (a === "int8" && b === "uint8")) return "int32";
  return RANK[a] >= RANK[b] ? a : b;
}

/** Result dtype of `tensor op scalar`: a JS number never widens a tensor of its own category. */
export function promoteWithScalar(t: DType, scalar: number): DType {
  if (isFloating(t)) return t;
  if (!Number.isInteger(scalar)) return "float32";
  return t === "bool" ? "int32" : t;
}

/** Convert a JS number to what storing it in `dtype` yields (truncation, wrap-around, 0/1). */
export function castScalar(v: number, dtype: DType): number {
  switch (dtype) {
    case "float32":
      return Math.fround(v);
    case "float64":
      return v;
    case "int32":
      return Math.trunc(v) | 0;
    case "int8":
      return ((Math.trunc(v) << 24) >> 24) | 0;
    case "uint8":
      return Math.trunc(v) & 255;
    case "bool":
      return v !== 0 ? 1 : 0; // NaN is true, as in PyTorch
  }
}
