// The safetensors format (as written by Hugging Face's safetensors and PyTorch users):
//   8 bytes  little-endian u64 N = header length
//   N bytes  JSON: { "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//                    "__metadata__": {string: string} }   (padded with spaces)
//   rest     the raw little-endian tensor bytes, offsets relative to the end of the header.
// Reading validates everything a hostile file could get wrong before touching the data.
import { readFileSync } from "node:fs";
import { Tensor } from "../tensor/tensor.js";
import type { DType, TypedArray } from "../tensor/dtype.js";
import { FormatError } from "../errors.js";
import { writeFileAtomic } from "./atomic.js";

const MAX_HEADER = 100 * 1024 * 1024;

const TO_SAFE: Record<DType, string> = {
  float32: "F32",
  float64: "F64",
  int32: "I32",
  int8: "I8",
  uint8: "U8",
  bool: "BOOL",
};

const ELEMENT_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export interface SafetensorsContents {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/** Encode named tensors (and optional string metadata) as safetensors bytes. */
export function serializeSafetensors(
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header["__metadata__"] = metadata;
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const data = t.contiguous().data;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    header[name] = {
      dtype: TO_SAFE[t.dtype],
      shape: [...t.shape],
      data_offsets: [offset, offset + bytes.length],
    };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // Pad so the data starts 8-byte aligned (what the reference implementation does).
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.from(json, "utf8");
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Decode safetensors bytes. `source` names the file in error messages. */
export function parseSafetensors(bytes: Uint8Array, source = "<buffer>"): SafetensorsContents {
  const fail = (msg: string, offset: number) => new FormatError(`${source}: ${msg} (at byte ${offset})`);
  if (bytes.length < 8) throw fail(`file is ${bytes.length} bytes, too short for a safetensors header`, 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > MAX_HEADER || 8 + headerLen > bytes.length) {
    throw fail(`header length ${headerLen} exceeds the file size ${bytes.length}`, 0);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString("utf8")) as Record<
      string,
      unknown
    >;
  } catch (err) {
    throw fail(`header is not valid JSON: ${(err as Error).message}`, 8);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header))
    throw fail("header is not a JSON object", 8);
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: Record<string, Tensor> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      for (const [k, v] of Object.entries((entry ?? {}) as Record<string, unknown>)) metadata[k] = String(v);
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = String(e.dtype);
    const elem = ELEMENT_BYTES[dtype];
    if (elem === undefined) throw fail(`tensor "${name}" has unsupported dtype ${dtype}`, 8);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw fail(`tensor "${name}" has an invalid shape`, 8);
    }
    const shape = e.shape as number[];
    const offsets = e.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) {
      throw fail(`tensor "${name}" has invalid data_offsets`, 8);
    }
    const [begin, end] = offsets as [number, number];
    const count = shape.reduce((a, b) => a * b, 1);
    if (end < begin || end > dataLen)
      throw fail(
        `tensor "${name}" data [${begin}, ${end}) lies outside the ${dataLen} data bytes`,
        dataStart + begin,
      );
    if (end - begin !== count * elem) {
      throw fail(
        `tensor "${name}" of shape [${shape.join(", ")}] ${dtype} needs ${count * elem} bytes, has ${end - begin}`,
        dataStart + begin,
      );
    }
    ranges.push([begin, end, name]);
    tensors[name] = decode(bytes.subarray(dataStart + begin, dataStart + end), dtype, shape, name, source);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]![0] < ranges[i - 1]![1])
      throw fail(`tensors "${ranges[i - 1]![2]}" and "${ranges[i]![2]}" overlap`, dataStart + ranges[i]![0]);
  }
  return { tensors, metadata };
}

function decode(raw: Uint8Array, dtype: string, shape: number[], name: string, source: string): Tensor {
  // Copy into a fresh, aligned buffer: the file's data need not be aligned for typed arrays.
  const buf = new Uint8Array(raw).buffer; // a copy (Buffer.slice would be a view)
  const dv = new DataView(buf);
  const n = raw.length / (ELEMENT_BYTES[dtype] ?? 1);
  const make = (data: TypedArray, d: DType) => new Tensor(data, shape, d);
  switch (dtype) {
    case "F32":
      return make(new Float32Array(buf), "float32");
    case "F64":
      return make(new Float64Array(buf), "float64");
    case "I32":
      return make(new Int32Array(buf), "int32");
    case "I8":
      return make(new Int8Array(buf), "int8");
    case "U8":
      return make(new Uint8Array(buf), "uint8");
    case "BOOL":
      return make(new Uint8Array(buf), "bool");
    case "I16": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i, true);
      return make(out, "int32");
    }
    case "I64": {
      // nabla has no int64: values must fit in int32 (PyTorch stores counters like
      // num_batches_tracked as int64).
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = dv.getBigInt64(8 * i, true);
        if (v > 2147483647n || v < -2147483648n) {
          throw new FormatError(
            `${source}: tensor "${name}" holds int64 value ${v}, outside nabla's int32 range`,
          );
        }
        out[i] = Number(v);
      }
      return make(out, "int32");
    }
    case "F16": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
      return make(out, "float32");
    }
    case "BF16": {
      const out = new Float32Array(n);
      const f = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < n; i++) {
        f.setUint32(0, dv.getUint16(2 * i, true) << 16);
        out[i] = f.getFloat32(0);
      }
      return make(out, "float32");
    }
    default:
      throw new FormatError(`${source}: tensor "${name}" has unsupported dtype ${dtype}`);
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

export function saveSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> = {},
): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}

export function loadSafetensors(path: string): SafetensorsContents {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new FormatError(
      `${path}: cannot read file (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
  return parseSafetensors(bytes, path);
}
