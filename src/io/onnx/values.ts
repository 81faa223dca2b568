// The values an ONNX graph computes with, as nabla tensors.
//
// nabla has no int64 dtype, and ONNX shape arithmetic (Shape → Gather → Concat → Reshape) is all
// int64. Integer values are therefore held in float64 tensors, which represent every integer up
// to 2^53 exactly — far beyond any real tensor dimension or index — and the ONNX element type
// travels beside the tensor, so Cast, Div (truncating for integers) and export know what the
// value really is. Floating values are float32/float64 tensors that autograd sees as usual.
import { Tensor } from "../../tensor/tensor.js";
import type { DType } from "../../tensor/dtype.js";
import { fromArray } from "../../tensor/creation.js";
import { FormatError, NotSupportedError } from "../../errors.js";

/** ONNX TensorProto.DataType codes. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
} as const;

const TYPE_NAMES = new Map<number, string>(Object.entries(DataType).map(([k, v]) => [v, k.toLowerCase()]));

export function dataTypeName(code: number): string {
  return TYPE_NAMES.get(code) ?? `unknown(${code})`;
}

/** A tensor in a graph together with its ONNX element type. */
export interface Value {
  readonly tensor: Tensor;
  readonly type: number;
}

const INTEGER_TYPES: ReadonlySet<number> = new Set([
  DataType.UINT8,
  DataType.INT8,
  DataType.UINT16,
  DataType.INT16,
  DataType.INT32,
  DataType.INT64,
  DataType.UINT32,
  DataType.UINT64,
]);

export function isIntegerType(type: number): boolean {
  return INTEGER_TYPES.has(type);
}

export function isFloatType(type: number): boolean {
  return (
    type === DataType.FLOAT ||
    type === DataType.DOUBLE ||
    type === DataType.FLOAT16 ||
    type === DataType.BFLOAT16
  );
}

/** The nabla dtype that holds values of an ONNX element type. */
export function storageDType(type: number, where: string): DType {
  if (type === DataType.FLOAT || type === DataType.FLOAT16 || type === DataType.BFLOAT16) return "float32";
  if (type === DataType.DOUBLE) return "float64";
  if (type === DataType.BOOL) return "bool";
  if (isIntegerType(type)) return "float64";
  throw new NotSupportedError(`${where}: ONNX element type ${dataTypeName(type)} is not supported`);
}

/** Element type computed in: half-precision inputs are computed (and reported) as float. */
export function computeType(type: number): number {
  return type === DataType.FLOAT16 || type === DataType.BFLOAT16 ? DataType.FLOAT : type;
}

export function value(tensor: Tensor, type: number): Value {
  return { tensor, type: computeType(type) };
}

/** A float tensor as a Value (float32 → FLOAT, float64 → DOUBLE). */
export function floatValue(tensor: Tensor): Value {
  return { tensor, type: tensor.dtype === "float64" ? DataType.DOUBLE : DataType.FLOAT };
}

/** A list of integers as a 1-D INT64 value. */
export function intsValue(values: readonly number[], shape: readonly number[] = [values.length]): Value {
  return { tensor: fromArray(Float64Array.from(values), shape), type: DataType.INT64 };
}

/** The elements of an integer (or integral float) value as JS numbers. */
export function toInts(v: Value, what: string): number[] {
  const out = Array.from(v.tensor.data, Number);
  for (const x of out) {
    if (!Number.isInteger(x)) throw new FormatError(`${what}: expected integers, got ${x}`);
  }
  return out;
}

/** The elements of a value as JS numbers. */
export function toNumbers(v: Value): number[] {
  return Array.from(v.tensor.data, Number);
}
