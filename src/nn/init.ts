// Weight initialisation, like torch.nn.init: every function fills a tensor in place (no graph is
// recorded) and returns it. Random fills draw from a nabla Generator (the default one unless
// `generator` is given), so a seed reproduces a model exactly.
//
// Speed matters here: VGG-16 has 138M parameters. Calling generator.random()/normal() per
// element costs ~2 s and ~8 s for that many; the fills below run the generator's xoshiro128**
// step on local state and sample normals with a ziggurat instead: ~0.4 s and ~2 s.
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
 * The generator's xoshiro128** stream, drawn in blocks: refill() runs the generator's step on
 * local variables (which V8 keeps in registers), next() hands the words out. save() stores the
 * state after the last word handed out, so the generator continues exactly as if each word had
 * come from nextUint32().
 */
class Stream {
  private readonly block = new Int32Array(4096);
  private readonly states = new Uint32Array(4);
  private readonly blockStart = new Uint32Array(4);
  private pos = 4096;
  private refilled = false;

  constructor(private readonly g: Generator) {
    this.states.set(g.getState().s);
  }

  private refill(): void {
    this.blockStart.set(this.states);
    let [s0, s1, s2, s3] = this.states as unknown as [number, number, number, number];
    const block = this.block;
    for (let i = 0; i < block.length; i++) {
      const r = Math.imul(s1, 5);
      block[i] = Math.imul((r << 7) | (r >>> 25), 9);
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
    }
    this.states.set([s0, s1, s2, s3]);
    this.pos = 0;
    this.refilled = true;
  }

  /** The next word as a signed 32-bit integer (small integers stay unboxed in V8). */
  next(): number {
    if (this.pos === this.block.length) this.refill();
    return this.block[this.pos++]!;
  }

  /** Uniform in (0, 1). */
  open01(): number {
    return ((this.next() >>> 0) + 0.5) * 2.3283064365386963e-10;
  }

  /** Leave the generator just after the last word used: the current block's start, advanced. */
  save(): void {
    if (!this.refilled) return;
    const [s0, s1, s2, s3] = this.blockStart as unknown as [number, number, number, number];
    this.g.setState({ s: [s0, s1, s2, s3], spare: this.g.getState().spare });
    for (let i = 0; i < this.pos; i++) this.g.nextUint32();
  }
}

/**
 * Fill with uniform samples in [lo, hi) (32 random bits each). The xoshiro128** step is written
 * out on local variables once more here: this loop is the hot one (every default-initialised
 * layer), and locals run it twice as fast as the block stream.
 */
export function fillUniform(out: TypedArray, lo: number, hi: number, g: Generator = defaultGenerator): void {
  const state = g.getState();
  let [s0, s1, s2, s3] = state.s;
  const scale = (hi - lo) * 2.3283064365386963e-10;
  for (let i = 0; i < out.length; i++) {
    const r = Math.imul(s1, 5);
    out[i] = lo + (Math.imul((r << 7) | (r >>> 25), 9) >>> 0) * scale;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
  }
  g.setState({ s: [s0 >>> 0, s1 >>> 0, s2 >>> 0, s3 >>> 0], spare: state.spare });
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
    const hz = u >> 7; // the signed top 25 bits, in [-2^24, 2^24)
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
