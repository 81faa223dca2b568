// ONNX external data: large initializers stored in side files next to the model, named by a
// relative `location` with a byte `offset` and `length`. The location comes from the file, so
// it is untrusted: it must be a plain relative path that stays inside the model's folder after
// resolving symlinks, and the byte range must lie inside that file. Only the declared range is
// read.
import { closeSync, fstatSync, openSync, readSync, realpathSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import type { onnx } from "./protobuf.js";
import { FormatError } from "../../errors.js";

export interface ExternalDataSource {
  /** The folder holding the model file; external data must stay inside it. */
  baseDir: string;
}

function parseCount(text: string | undefined, key: string, what: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,15}$/.test(text))
    throw new FormatError(`${what}: external data ${key} "${text}" is not a byte count`);
  return Number(text);
}

/** Read exactly `expectedBytes` bytes of external data described by `entries`. */
export function readExternalData(
  entries: readonly onnx.IStringStringEntryProto[],
  expectedBytes: number,
  source: ExternalDataSource,
  what: string,
): Uint8Array {
  const info = new Map<string, string>();
  for (const e of entries) info.set(e.key ?? "", e.value ?? "");
  const location = info.get("location");
  if (!location) throw new FormatError(`${what}: external data has no location`);
  const path = safePath(location, source.baseDir, what);
  const offset = parseCount(info.get("offset"), "offset", what) ?? 0;
  const length = parseCount(info.get("length"), "length", what);

  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw new FormatError(`${what}: cannot open external data file "${location}": ${(err as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new FormatError(`${what}: external data "${location}" is not a regular file`);
    const size = length ?? stat.size - offset;
    if (size !== expectedBytes) {
      throw new FormatError(
        `${what}: external data "${location}" holds ${size} bytes but the tensor needs ${expectedBytes}`,
      );
    }
    if (offset + size > stat.size) {
      throw new FormatError(
        `${what}: external data range [${offset}, ${offset + size}) lies outside "${location}" (${stat.size} bytes)`,
      );
    }
    const out = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const got = readSync(fd, out, done, size - done, offset + done);
      if (got === 0) throw new FormatError(`${what}: external data "${location}" ended early`);
      done += got;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Resolve `location` inside `baseDir`, refusing anything that could point elsewhere. */
function safePath(location: string, baseDir: string, what: string): string {
  const refuse = (why: string) =>
    new FormatError(
      `${what}: external data location "${location}" ${why}; it must be a relative path inside the model's folder`,
    );
  if (location.includes("\0")) throw refuse("contains a NUL byte");
  if (isAbsolute(location) || /^[a-zA-Z]:/.test(location) || location.startsWith("\\"))
    throw refuse("is absolute");
  if (location.split(/[\\/]/).includes("..")) throw refuse("climbs out with ..");
  let base: string;
  let target: string;
  try {
    base = realpathSync(baseDir);
    target = realpathSync(resolve(base, location));
  } catch (err) {
    throw new FormatError(`${what}: external data file "${location}" not found: ${(err as Error).message}`);
  }
  const rel = relative(base, target);
  if (rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel))
    throw refuse("resolves outside it");
  return target;
}
