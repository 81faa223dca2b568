// Weight initialisation, like torch.nn.init: every function fills a tensor in place (no graph is
// recorded) and returns it. Random fills draw from a nabla Generator (the default one unless
// `generator` is given), so a seed reproduces a model exactly.
//
// Speed matters here: VGG-16 has 138M parameters. Calling generator.random()/normal() per
// element costs ~2 s and ~8 s for that many; the fills below run the generator's xoshiro128**
// step inline on local state and sample normals with a ziggurat, about 0.7 s and 1 s.
import type { Tensor } from "../tensor/tensor.js";
import type { TypedArray } from "../tensor/dtype.js";
import { isFloating } from "../tensor/dtype.js";
import { formatShape } from "../tensor/shape.js";
import { defaultGenerator, type Generator } from "../tensor/random.js";
import { DTypeError, ValueError } from "../errors.js";

export type Nonlinearity =
  "linear" | "conv1d" | "conv2d" | "conv3d" | "sigmoid" | "tanh" | "relu" | "leaky_relu" | "selu";

export type FanMode = "fan_in" | "fan_out";

export interface RandomInit {
  generator?: Generator;
}

/** The recommended gain for a nonlinearity (param: LeakyReLU's negative slope, default 0.01). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "linear":
    case "conv1d":
    case "conv2d":
    case "conv3d":
    case "sigmoid":
      return 1;
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leaky_relu": {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case "selu":
      return 3 / 4;
  }
}

/** fan_in = size(1)·receptive field, fan_out = size(0)·receptive field (PyTorch's rule). */
export function calculateFans(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) {
    throw new ValueError(
      `init: fan in and fan out need a tensor with at least 2 dimensions, got ${formatShape(t.shape)}`,
    );
  }
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1]! * receptive, fanOut: t.shape[0]! * receptive };
}

/** The elements of t as a writable array (t must be a contiguous floating tensor). */
function target(op: string, t: Tensor): TypedArray {
  if (!isFloating(t.dtype)) throw new DTypeError(`init.${op}: needs a floating tensor, got ${t.dtype}`);
  if (!t.isContiguous) throw new ValueError(`init.${op}: tensor must be contiguous to be filled in place`);
  return t.storage.subarray(t.offset, t.offset + t.numel);
}

export function constant(t: Tensor, value: number): Tensor {
  target("constant", t).fill(value);
  return t;
}

export function zeros(t: Tensor): Tensor {
  return constant(t, 0);
}

export function ones(t: Tensor): Tensor {
  return constant(t, 1);
}

/** Uniform samples in [a, b). */
export function uniform(t: Tensor, a = 0, b = 1, options: RandomInit = {}): Tensor {
  fillUniform(target("uniform", t), a, b, options.generator ?? defaultGenerator);
  return t;
}

/** Normal samples with the given mean and standard deviation. */
export function normal(t: Tensor, mean = 0, std = 1, options: RandomInit = {}): Tensor {
  fillNormal(target("normal", t), mean, std, options.generator ?? defaultGenerator);
  return t;
}

export interface KaimingOptions extends RandomInit {
  /** LeakyReLU negative slope (used when nonlinearity is "leaky_relu"). */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, options: KaimingOptions): number {
  const fans = calculateFans(t);
  const fan = (options.mode ?? "fan_in") === "fan_in" ? fans.fanIn : fans.fanOut;
  const gain = calculateGain(options.nonlinearity ?? "leaky_relu", options.a ?? 0);
  return fan === 0 ? 0 : gain / Math.sqrt(fan);
}

/** He initialisation, uniform in ±gain·√(3/fan). */
export function kaimingUniform(t: Tensor, options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, options);
  return uniform(t, -bound, bound, options);
}

/** He initialisation, normal with std gain/√fan. */
export function kaimingNormal(t: Tensor, options: KaimingOptions = {}): Tensor {
  return normal(t, 0, kaimingStd(t, options), options);
}

export interface XavierOptions extends RandomInit {
  gain?: number;
}

/** Glorot initialisation, uniform in ±gain·√(6/(fan_in + fan_out)). */
export function xavierUniform(t: Tensor, options: XavierOptions = {}): Tensor {
  const { fanIn, fanOut } = calculateFans(t);
  const bound = (options.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(t, -bound, bound, options);
}

/** Glorot initialisation, normal with std gain·√(2/(fan_in + fan_out)). */
export function xavierNormal(t: Tensor, options: XavierOptions = {}): Tensor {
  const { fanIn, fanOut } = calculateFans(t);
  return normal(t, 0, (options.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)), options);
}

// ---- fast fills ---------------------------------------------------------------------------

/**
 * The generator's xoshiro128** stream on local state: load it, draw, store it back, so the
 * draws continue the generator's sequence exactly as nextUint32() would.
 */
class Stream {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(private readonly g: Generator) {
    const [s0, s1, s2, s3] = g.getState().s;
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
  }

  next(): number {
    const r = Math.imul(this.s1, 5);
    const result = Math.imul((r << 7) | (r >>> 25), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /** Uniform in (0, 1). */
  open01(): number {
    return (this.next() + 0.5) * 2.3283064365386963e-10;
  }

  save(): void {
    const spare = this.g.getState().spare;
    this.g.setState({ s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0], spare });
  }
}

/** Fill with uniform samples in [lo, hi) (32 random bits each). */
export function fillUniform(out: TypedArray, lo: number, hi: number, g: Generator = defaultGenerator): void {
  const stream = new Stream(g);
  const scale = (hi - lo) * 2.3283064365386963e-10;
  for (let i = 0; i < out.length; i++) out[i] = lo + stream.next() * scale;
  stream.save();
}

// Marsaglia & Tsang's 128-layer ziggurat (J. Stat. Software 5(8), 2000). Each draw uses one
// 32-bit word: bits 0–6 pick the layer and bits 7–31 give a signed 25-bit value, so layer and
// value are independent (the fix Doornik 2005 proposed for the original's shared bits).
const ZIG_R = 3.442619855899;
const M1 = 2 ** 24;
const kn = new Float64Array(128);
const wn = new Float64Array(128);
const fn = new Float64Array(128);
{
  const vn = 9.91256303526217e-3;
  let dn = ZIG_R;
  let tn = dn;
  const q = vn / Math.exp(-0.5 * dn * dn);
  kn[0] = (dn / q) * M1;
  kn[1] = 0;
  wn[0] = q / M1;
  wn[127] = dn / M1;
  fn[0] = 1;
  fn[127] = Math.exp(-0.5 * dn * dn);
  for (let i = 126; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(vn / dn + Math.exp(-0.5 * dn * dn)));
    kn[i + 1] = (dn / tn) * M1;
    tn = dn;
    fn[i] = Math.exp(-0.5 * dn * dn);
    wn[i] = dn / M1;
  }
}

function standardNormal(stream: Stream): number {
  for (;;) {
    const u = stream.next();
    const iz = u & 127;
    const hz = (u >>> 7) - M1;
    const x = hz * wn[iz]!;
    if (Math.abs(hz) < kn[iz]!) return x; // inside the layer's rectangle: ~99% of draws
    if (iz === 0) {
      // The tail beyond R, by Marsaglia's exponential method.
      let tx: number;
      let ty: number;
      do {
        tx = -Math.log(stream.open01()) / ZIG_R;
        ty = -Math.log(stream.open01());
      } while (ty + ty < tx * tx);
      return hz > 0 ? ZIG_R + tx : -ZIG_R - tx;
    }
    if (fn[iz]! + stream.open01() * (fn[iz - 1]! - fn[iz]!) < Math.exp(-0.5 * x * x)) return x;
  }
}

/** Fill with normal samples of the given mean and standard deviation. */
export function fillNormal(
  out: TypedArray,
  mean: number,
  std: number,
  g: Generator = defaultGenerator,
): void {
  const stream = new Stream(g);
  for (let i = 0; i < out.length; i++) out[i] = mean + std * standardNormal(stream);
  stream.save();
}
