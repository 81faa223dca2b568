// The IDX file format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/):
//
//   bytes 0-1  zero
//   byte  2    element type: 0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, 0x0d float32, 0x0e float64
//   byte  3    number of dimensions d
//   then d big-endian uint32 sizes, then the elements, big-endian, row-major.
//
// Files may be gzip-compressed (detected by the gzip magic bytes, not by the name). Every way a
// file can be wrong — unreadable gzip, bad magic, sizes that do not match the bytes — is a
// FormatError naming the file and the byte offset.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { FormatError } from "../errors.js";

export type IdxType = "uint8" | "int8" | "int16" | "int32" | "float32" | "float64";

export interface IdxArray {
  type: IdxType;
  /** The sizes from the header, e.g. [60000, 28, 28]. */
  dims: number[];
  /** The elements in file order (converted to native endianness). */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, { type: IdxType; bytes: number }> = {
  0x08: { type: "uint8", bytes: 1 },
  0x09: { type: "int8", bytes: 1 },
  0x0b: { type: "int16", bytes: 2 },
  0x0c: { type: "int32", bytes: 4 },
  0x0d: { type: "float32", bytes: 4 },
  0x0e: { type: "float64", bytes: 8 },
};

const TYPE_CODES: Record<IdxType, number> = {
  uint8: 0x08,
  int8: 0x09,
  int16: 0x0b,
  int32: 0x0c,
  float32: 0x0d,
  float64: 0x0e,
};

/** True if the bytes start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Read a file, gunzipping it when it is gzip data. `name` is used in error messages. */
export function readMaybeGzip(path: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new FormatError(`${path}: cannot read file (${(e as Error).message})`);
  }
  return gunzipIfNeeded(bytes, path);
}

export function gunzipIfNeeded(bytes: Uint8Array, name: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (e) {
    throw new FormatError(
      `${name}: corrupt or truncated gzip data (compressed file ends at offset ${bytes.length}): ` +
        (e as Error).message,
    );
  }
}

/** Parse IDX bytes (already decompressed). */
export function parseIdx(bytes: Uint8Array, name = "<idx>"): IdxArray {
  if (bytes.length < 4) {
    throw new FormatError(`${name}: truncated IDX header at offset ${bytes.length} (need 4 bytes of magic)`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new FormatError(`${name}: not an IDX file: bad magic number ${magic} at offset 0 (expected 00 00 tt dd)`);
  }
  const kind = TYPES[bytes[2]!];
  if (!kind) {
    throw new FormatError(`${name}: unknown IDX element type 0x${bytes[2]!.toString(16)} at offset 2`);
  }
  const ndim = bytes[3]!;
  if (ndim === 0) throw new FormatError(`${name}: IDX header at offset 3 declares 0 dimensions`);
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new FormatError(
      `${name}: truncated IDX header at offset ${bytes.length} (need ${headerBytes} bytes for ${ndim} sizes)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const expected = headerBytes + count * kind.bytes;
  if (bytes.length < expected) {
    throw new FormatError(
      `${name}: truncated IDX data: header says [${dims.join(", ")}] ${kind.type} (${expected} bytes), ` +
        `file ends at offset ${bytes.length}`,
    );
  }
  if (bytes.length > expected) {
    throw new FormatError(
      `${name}: ${bytes.length - expected} unexpected trailing bytes after offset ${expected} ` +
        `(header says [${dims.join(", ")}] ${kind.type})`,
    );
  }
  return { type: kind.type, dims, data: decode(view, headerBytes, count, kind.type) };
}

function decode(view: DataView, start: number, count: number, type: IdxType): IdxArray["data"] {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  switch (type) {
    case "uint8":
      // A copy, so the (possibly large) gunzip buffer is not kept alive by a view into it.
      return bytes.slice(start, start + count);
    case "int8":
      return new Int8Array(bytes.slice(start, start + count).buffer);
    case "int16": {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(start + 2 * i, false);
      return out;
    }
    case "int32": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(start + 4 * i, false);
      return out;
    }
    case "float32": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(start + 4 * i, false);
      return out;
    }
    case "float64": {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(start + 8 * i, false);
      return out;
    }
  }
}

/** Read an IDX file, raw or gzip-compressed. */
export function readIdx(path: string): IdxArray {
  return parseIdx(readMaybeGzip(path), path);
}

/** Encode an array as IDX bytes (used to build the shipped subset and test fixtures). */
export function encodeIdx(array: IdxArray): Uint8Array {
  const ndim = array.dims.length;
  const count = array.dims.reduce((a, b) => a * b, 1);
  if (count !== array.data.length) {
    throw new FormatError(`encodeIdx: ${array.data.length} elements do not fit [${array.dims.join(", ")}]`);
  }
  const size = TYPES[TYPE_CODES[array.type]]!.bytes;
  const out = new Uint8Array(4 + 4 * ndim + count * size);
  const view = new DataView(out.buffer);
  out[2] = TYPE_CODES[array.type];
  out[3] = ndim;
  array.dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const start = 4 + 4 * ndim;
  for (let i = 0; i < count; i++) {
    const v = array.data[i]!;
    const at = start + i * size;
    switch (array.type) {
      case "uint8":
        view.setUint8(at, v);
        break;
      case "int8":
        view.setInt8(at, v);
        break;
      case "int16":
        view.setInt16(at, v, false);
        break;
      case "int32":
        view.setInt32(at, v, false);
        break;
      case "float32":
        view.setFloat32(at, v, false);
        break;
      case "float64":
        view.setFloat64(at, v, false);
        break;
    }
  }
  return out;
}
