// TensorProto ↔ nabla tensors. Decoding validates everything a hostile file could get wrong
// (dims, element counts, data lengths, external-data paths) before allocating or reading, so a
// bad file is a FormatError naming the tensor — never a huge allocation, a crash or a read
// outside the model's folder.
import { onnx } from "./protobuf.js";
import { Tensor } from "../../tensor/tensor.js";
import { FormatError, NotSupportedError } from "../../errors.js";
import { DataType, dataTypeName, storageDType, value, type Value } from "./values.js";
import { readExternalData, type ExternalDataSource } from "./external-data.js";
import type Long from "long";

/** No single tensor may hold more elements than this (4 GiB of float32). */
export const MAX_TENSOR_ELEMENTS = 2 ** 30;
const MAX_DIM = 2 ** 31 - 1;

/** An int64 field as decoded by protobufjs (a Long, or a number when Long is unavailable). */
export function int64(v: number | Long | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === "number" ? v : v.toNumber();
}

const BYTES_PER_ELEMENT: Record<number, number> = {
  [DataType.FLOAT]: 4,
  [DataType.UINT8]: 1,
  [DataType.INT8]: 1,
  [DataType.UINT16]: 2,
  [DataType.INT16]: 2,
  [DataType.INT32]: 4,
  [DataType.INT64]: 8,
  [DataType.BOOL]: 1,
  [DataType.FLOAT16]: 2,
  [DataType.DOUBLE]: 8,
  [DataType.UINT32]: 4,
  [DataType.UINT64]: 8,
  [DataType.BFLOAT16]: 2,
};

/** Check a declared shape and return its element count. */
export function checkDims(dims: readonly number[], what: string): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > MAX_DIM) {
      throw new FormatError(`${what}: invalid dimension ${d} in dims [${dims.join(", ")}]`);
    }
    n *= d;
  }
  if (n > MAX_TENSOR_ELEMENTS) {
    throw new FormatError(
      `${what}: dims [${dims.join(", ")}] declare ${n} elements, more than the limit of ${MAX_TENSOR_ELEMENTS}`,
    );
  }
  return n;
}

export interface DecodeContext {
  /** Names the file in error messages. */
  source: string;
  /** Where external data may be read from (null: in-memory model, external data refused). */
  external: ExternalDataSource | null;
}

/** Decode one TensorProto into a Value (integers as float64, half floats as float32). */
export function decodeTensor(t: onnx.ITensorProto, ctx: DecodeContext, role = "tensor"): Value {
  const name = t.name ?? "";
  const what = `${ctx.source}: ${role} "${name}"`;
  const type = t.dataType ?? 0;
  const width = BYTES_PER_ELEMENT[type];
  if (width === undefined) {
    throw new NotSupportedError(`${what}: element type ${dataTypeName(type)} is not supported`);
  }
  if (t.segment) throw new NotSupportedError(`${what}: segmented tensors are not supported`);
  const dims = (t.dims ?? []).map(int64);
  const n = checkDims(dims, what);
  const dtype = storageDType(type, what);

  let raw: Uint8Array | null = null;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    if (ctx.external === null) {
      throw new FormatError(`${what}: has external data, which needs the model's file path (use load(path))`);
    }
    raw = readExternalData(t.externalData ?? [], n * width, ctx.external, what);
  } else if (t.rawData && t.rawData.length > 0) {
    raw = t.rawData;
  }

  let values: ArrayLike<number>;
  if (raw !== null) {
    if (raw.length !== n * width) {
      throw new FormatError(
        `${what}: raw_data has ${raw.length} bytes but dims [${dims.join(", ")}] of ${dataTypeName(type)} need ${n * width}`,
      );
    }
    values = fromRaw(raw, type, n);
  } else {
    const typed = typedField(t, type);
    if (typed.length !== n) {
      throw new FormatError(
        `${what}: has ${typed.length} stored values but dims [${dims.join(", ")}] declare ${n}`,
      );
    }
    values =
      type === DataType.FLOAT16 || type === DataType.BFLOAT16
        ? Float32Array.from(typed, (bits) => halfToFloat(bits, type))
        : typed;
  }
  const tensor = new Tensor(allocFrom(dtype, values, n), dims, dtype);
  return value(tensor, type);
}

function allocFrom(dtype: string, values: ArrayLike<number>, n: number) {
  switch (dtype) {
    case "float32":
      return values instanceof Float32Array ? values : Float32Array.from({ length: n }, (_, i) => values[i]!);
    case "float64":
      return values instanceof Float64Array ? values : Float64Array.from({ length: n }, (_, i) => values[i]!);
    default: {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = values[i] ? 1 : 0;
      return out;
    }
  }
}

/** The typed repeated field that holds a tensor's values when raw_data is absent. */
function typedField(t: onnx.ITensorProto, type: number): ArrayLike<number> {
  switch (type) {
    case DataType.FLOAT:
      return t.floatData ?? [];
    case DataType.DOUBLE:
      return t.doubleData ?? [];
    case DataType.INT64:
      return (t.int64Data ?? []).map(int64);
    case DataType.UINT32:
    case DataType.UINT64:
      return (t.uint64Data ?? []).map(int64);
    default:
      return t.int32Data ?? [];
  }
}

/** Little-endian bytes → numbers (copied to an aligned buffer first). */
function fromRaw(raw: Uint8Array, type: number, n: number): ArrayLike<number> {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  // A fresh copy: protobufjs hands out Node Buffers, whose slice() would share the pool.
  const aligned = new Uint8Array(raw).buffer;
  switch (type) {
    case DataType.FLOAT:
      return new Float32Array(aligned, 0, n);
    case DataType.DOUBLE:
      return new Float64Array(aligned, 0, n);
    case DataType.INT64: {
      const big = new BigInt64Array(aligned, 0, n);
      return Float64Array.from(big, (b) => Number(b));
    }
    case DataType.UINT64: {
      const big = new BigUint64Array(aligned, 0, n);
      return Float64Array.from(big, (b) => Number(b));
    }
    case DataType.INT32:
      return new Int32Array(aligned, 0, n);
    case DataType.UINT32:
      return new Uint32Array(aligned, 0, n);
    case DataType.INT16:
      return new Int16Array(aligned, 0, n);
    case DataType.UINT16:
      return new Uint16Array(aligned, 0, n);
    case DataType.INT8:
      return new Int8Array(aligned, 0, n);
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
      return Float32Array.from({ length: n }, (_, i) => halfToFloat(view.getUint16(2 * i, true), type));
    default:
      return new Uint8Array(aligned, 0, n);
  }
}

/** IEEE half or bfloat16 bit pattern → number. */
function halfToFloat(bits: number, type: number): number {
  if (type === DataType.BFLOAT16) {
    const f = new Float32Array(1);
    new Uint32Array(f.buffer)[0] = (bits & 0xffff) << 16;
    return f[0]!;
  }
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** A float64-held integer back to int64, saturating: INT64_MAX read as 2^63 must not wrap. */
function toInt64(v: number): bigint {
  const b = BigInt(Math.trunc(v));
  return b > INT64_MAX ? INT64_MAX : b < INT64_MIN ? INT64_MIN : b;
}

const byteView = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Encode a tensor as a TensorProto with raw little-endian data. */
export function encodeTensor(tensor: Tensor, name: string, type: number): onnx.ITensorProto {
  const src = tensor.contiguous().data;
  let bytes: Uint8Array;
  switch (type) {
    // Same element type: a byte view of the data, no copy (the encoder copies once).
    case DataType.FLOAT:
      bytes = byteView(src instanceof Float32Array ? src : new Float32Array(src));
      break;
    case DataType.DOUBLE:
      bytes = byteView(src instanceof Float64Array ? src : new Float64Array(src));
      break;
    case DataType.INT64:
      bytes = new Uint8Array(BigInt64Array.from(Array.from(src, toInt64)).buffer);
      break;
    case DataType.INT32:
      bytes = new Uint8Array(Int32Array.from(src).buffer);
      break;
    case DataType.BOOL:
    case DataType.UINT8:
      bytes = Uint8Array.from(src);
      break;
    case DataType.INT8:
      bytes = new Uint8Array(Int8Array.from(src).buffer);
      break;
    default:
      throw new NotSupportedError(`ONNX export: cannot encode element type ${dataTypeName(type)}`);
  }
  return { name, dims: [...tensor.shape], dataType: type, rawData: bytes };
}
