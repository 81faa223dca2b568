// The native int8 kernels (native/int8*.cpp) seen from TypeScript: weight packing, the call,
// and the choice between native and reference (src/compress/int8-ref.ts) kernels.
//
// Packed weight layout (per group): [ceil(K/4)][Op][4] signed bytes, K = (C/groups)·kh·kw taken
// in (ky, kx, ci) order (the kernel's im2col reads channels-last runs) and Op = outputs per group
// rounded up to 16 — four consecutive k of one output channel sit together, which is what one
// 32-bit lane of vpdpbusd / vpmaddubsw consumes. Padding is zero.
import { nativeAddon } from "../backend/native/index.js";
import { getBackend } from "../backend/registry.js";
import { ACT_CODES, int8Conv2dRef, outputSize, type Int8Layer } from "./int8-ref.js";

interface Int8Addon {
  int8Conv2d(
    x: Float32Array,
    params: Int32Array,
    packed: Int8Array,
    rowSum: Int32Array,
    wScale: Float32Array,
    bias: Float32Array,
    xScale: number,
    xZero: number,
    act: number,
    out: Float32Array,
  ): void;
  int8Isa(): string;
  int8SelectIsa(isa: string): boolean;
}

let override: Int8Addon | null | undefined;

/** The addon's int8 functions, or null (no addon, or one built without them). */
export function int8Addon(): Int8Addon | null {
  if (override !== undefined) return override;
  const lib = nativeAddon() as unknown as Partial<Int8Addon> | null;
  return lib && typeof lib.int8Conv2d === "function" ? (lib as Int8Addon) : null;
}

/** Use another addon build (tests and benchmarks of a freshly built copy); null: none. */
export function setInt8Addon(lib: Int8Addon | null | undefined): void {
  override = lib;
}

export type Int8Kernel = "auto" | "ref" | "native";
let kernelChoice: Int8Kernel = "auto";

/** "auto" (default): native when the addon has int8 kernels and the native backend is active. */
export function setInt8Kernel(choice: Int8Kernel): void {
  kernelChoice = choice;
}

function useNative(): Int8Addon | null {
  if (kernelChoice === "ref") return null;
  const lib = int8Addon();
  if (kernelChoice === "native") return lib;
  return lib && getBackend().name === "native" ? lib : null;
}

/** The micro-kernel the native int8 GEMM uses ("avx512vnni", "avx2", "generic"), or null. */
export function int8Isa(): string | null {
  return int8Addon()?.int8Isa() ?? null;
}

export function packInt8Weights(layer: Int8Layer): Int8Array {
  const [kh, kw] = layer.kernelSize;
  const groups = layer.groups;
  const og = layer.outChannels / groups;
  const cg = layer.inChannels / groups;
  const khw = kh * kw;
  const kg = cg * khw;
  const k4 = Math.ceil(kg / 4);
  const op = Math.ceil(og / 16) * 16;
  const packed = new Int8Array(groups * k4 * op * 4);
  for (let g = 0; g < groups; g++) {
    const base = g * k4 * op * 4;
    for (let o = 0; o < og; o++) {
      const src = (g * og + o) * kg;
      // Weights are stored (ci, ky, kx); the kernel's k order is (ky, kx, ci).
      for (let ci = 0; ci < cg; ci++) {
        for (let j = 0; j < khw; j++) {
          const k = j * cg + ci;
          packed[base + ((k >> 2) * op + o) * 4 + (k & 3)] = layer.weight[src + ci * khw + j]!;
        }
      }
    }
  }
  return packed;
}

const params = new Int32Array(17);
// Keyed by the layer view: QuantizedBase makes a new view whenever its buffers change.
const packCache = new WeakMap<Int8Layer, Int8Array>();

/** Run one int8 convolution with the chosen kernel; returns [oh, ow]. */
export function int8Conv2d(
  x: Float32Array,
  shape: readonly [number, number, number, number],
  layer: Int8Layer,
  out: Float32Array,
): void {
  const lib = useNative();
  if (!lib) return int8Conv2dRef(x, shape, layer, out);
  let packed = packCache.get(layer);
  if (!packed) {
    packed = packInt8Weights(layer);
    packCache.set(layer, packed);
  }
  const [n, c, h, w] = shape;
  const [oh, ow] = outputSize(layer, h, w);
  // Field by field: an array literal here would be one more allocation per layer call.
  params[0] = n;
  params[1] = c;
  params[2] = h;
  params[3] = w;
  params[4] = layer.outChannels;
  params[5] = layer.kernelSize[0];
  params[6] = layer.kernelSize[1];
  params[7] = layer.stride[0];
  params[8] = layer.stride[1];
  params[9] = layer.padding[0];
  params[10] = layer.padding[1];
  params[11] = layer.dilation[0];
  params[12] = layer.dilation[1];
  params[13] = layer.groups;
  params[14] = oh;
  params[15] = ow;
  params[16] = layer.pool ?? 0;
  lib.int8Conv2d(
    x,
    params,
    packed,
    layer.rowSum,
    layer.weightScale,
    layer.bias,
    layer.inputScale,
    layer.inputZeroPoint,
    ACT_CODES[layer.act],
    out,
  );
}
