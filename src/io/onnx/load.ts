// Loading ONNX files: bytes → validated model description → OnnxModule.
import { readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { FormatError } from "../../errors.js";
import { decodeModel } from "./decode.js";
import { OnnxModule } from "./onnx-module.js";

/** ONNX files are protobufs, which cannot exceed 2 GiB. */
const MAX_FILE_BYTES = 2 ** 31;

export interface ParseOptions {
  /** Names the model in error messages. */
  source?: string;
  /** The folder external-data files are resolved in (and confined to); none refuses external data. */
  baseDir?: string;
}

/** Build a trainable module from ONNX bytes. */
export function parseModel(bytes: Uint8Array, options: ParseOptions = {}): OnnxModule {
  const model = decodeModel(bytes, {
    source: options.source ?? "<buffer>",
    external: options.baseDir === undefined ? null : { baseDir: options.baseDir },
  });
  return new OnnxModule(model);
}

/** Read an .onnx file (external data is read from its folder and may not leave it). */
export function load(path: string): OnnxModule {
  let bytes: Buffer;
  try {
    const size = statSync(path).size;
    if (size > MAX_FILE_BYTES)
      throw new FormatError(`${path}: ${size} bytes is larger than any valid ONNX file`);
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof FormatError) throw err;
    throw new FormatError(`${path}: cannot read ONNX file: ${(err as Error).message}`);
  }
  return parseModel(bytes, { source: path, baseDir: dirname(resolve(path)) });
}
