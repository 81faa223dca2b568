// nabla layers → ONNX nodes. A layer's settings (stride, padding, eps, ...) live on the module,
// so layers are exported whole from their fields rather than from the primitive ops inside.
// BatchNorm is kept as a BatchNormalization node (not folded into the convolution): the export
// is exact, keeps the state-dict names, and ONNX Runtime folds it itself when it optimises.
import type { Tensor } from "../../../tensor/tensor.js";
import { ones, zeros } from "../../../tensor/creation.js";
import { pair, type Pair } from "../../../autograd/ops/conv.js";
import { NotSupportedError } from "../../../errors.js";
import type { AnyModule } from "../../../nn/module.js";
import { Conv2d } from "../../../nn/layers/conv.js";
import { Linear } from "../../../nn/layers/linear.js";
import { BatchNorm1d, BatchNorm2d } from "../../../nn/layers/batchnorm.js";
import * as act from "../../../nn/layers/activation.js";
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from "../../../nn/layers/pooling.js";
import { Dropout, Flatten, Identity } from "../../../nn/layers/misc.js";
import { attr, type GraphBuilder } from "./graph-builder.js";

export interface LayerCall {
  g: GraphBuilder;
  /** ONNX name of the layer's input. */
  input: string;
  x: Tensor;
  y: Tensor;
  /** Initializer for one of the layer's tensors, named by its state-dict key. */
  tensor(t: Tensor): string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Emitter = (m: any, c: LayerCall) => string;

const pads2 = (p: readonly [number, number]) => [p[0], p[1], p[0], p[1]];

const conv: Emitter = (m: Conv2d, c) => {
  const [kh, kw] = m.kernelSize;
  const [dh, dw] = m.dilation;
  let padding: [number, number];
  if (m.padding === "valid") padding = [0, 0];
  else if (m.padding === "same") padding = [(dh * (kh - 1)) / 2, (dw * (kw - 1)) / 2];
  else padding = m.padding;
  const inputs = [c.input, c.tensor(m.weight)];
  if (m.bias) inputs.push(c.tensor(m.bias));
  return c.g.op("Conv", inputs, [
    attr.ints("kernel_shape", m.kernelSize),
    attr.ints("strides", m.stride),
    attr.ints("pads", pads2(padding)),
    attr.ints("dilations", m.dilation),
    attr.int("group", m.groups),
  ]);
};

const linear: Emitter = (m: Linear, c) => {
  const w = c.tensor(m.weight);
  if (c.x.ndim === 2) {
    const inputs = [c.input, w];
    if (m.bias) inputs.push(c.tensor(m.bias));
    return c.g.op("Gemm", inputs, [attr.int("transB", 1)]);
  }
  const y = c.g.op("MatMul", [c.input, c.g.op("Transpose", [w], [attr.ints("perm", [1, 0])])]);
  return m.bias ? c.g.op("Add", [y, c.tensor(m.bias)]) : y;
};

const batchNorm: Emitter = (m: BatchNorm2d, c) => {
  if (!m.runningMean || !m.runningVar) {
    throw new NotSupportedError(
      `ONNX export: ${m.constructor.name} without running statistics normalises with batch statistics in eval mode, which ONNX inference cannot express`,
    );
  }
  const n = m.numFeatures;
  const dtype = c.x.dtype;
  const weight = m.weight ? c.tensor(m.weight) : c.g.initializer(ones([n], { dtype }), "bn_scale");
  const bias = m.bias ? c.tensor(m.bias) : c.g.initializer(zeros([n], { dtype }), "bn_bias");
  return c.g.op(
    "BatchNormalization",
    [c.input, weight, bias, c.tensor(m.runningMean), c.tensor(m.runningVar)],
    [attr.float("epsilon", m.eps), attr.float("momentum", 1 - (m.momentum ?? 0.1))],
  );
};

const clip = (c: LayerCall, lo: number, hi: number) =>
  c.g.op("Clip", [c.input, c.g.scalar(lo, c.x.dtype, "clip_min"), c.g.scalar(hi, c.x.dtype, "clip_max")]);

const hardSigmoid = (c: LayerCall, input: string) =>
  c.g.op("HardSigmoid", [input], [attr.float("alpha", 1 / 6), attr.float("beta", 0.5)]);

/** x/2·(1 + erf(x/√2)) or the tanh form, from ops every opset has (Gelu is opset 20). */
const gelu: Emitter = (m: act.GELU, c) => {
  const { g } = c;
  const s = (v: number) => g.scalar(v, c.x.dtype);
  let inner: string;
  if (m.approximate === "tanh") {
    const cube = g.op("Mul", [g.op("Mul", [c.input, c.input]), c.input]);
    const poly = g.op("Add", [c.input, g.op("Mul", [cube, s(0.044715)])]);
    inner = g.op("Tanh", [g.op("Mul", [poly, s(Math.sqrt(2 / Math.PI))])]);
  } else {
    inner = g.op("Erf", [g.op("Mul", [c.input, s(Math.SQRT1_2)])]);
  }
  return g.op("Mul", [g.op("Mul", [c.input, s(0.5)]), g.op("Add", [inner, s(1)])]);
};

const softmaxLike =
  (opType: string): Emitter =>
  (m: act.Softmax, c) => {
    const axis = m.dim < 0 ? m.dim + c.x.ndim : m.dim;
    if (c.g.opset < 13 && axis !== c.x.ndim - 1) {
      throw new NotSupportedError(`ONNX export: ${opType} over a non-last dim needs opset ≥ 13`);
    }
    return c.g.op(opType, [c.input], [attr.int("axis", axis)]);
  };

const maxPool: Emitter = (m: MaxPool2d, c) =>
  c.g.op(
    "MaxPool",
    [c.input],
    [
      attr.ints("kernel_shape", pair(m.kernelSize, "kernelSize", "MaxPool2d")),
      attr.ints("strides", pair(m.stride, "stride", "MaxPool2d")),
      attr.ints("pads", pads2(pair(m.padding, "padding", "MaxPool2d"))),
      attr.ints("dilations", pair(m.dilation, "dilation", "MaxPool2d")),
      attr.int("ceil_mode", m.ceilMode ? 1 : 0),
    ],
  );

const avgPool: Emitter = (m: AvgPool2d, c) =>
  c.g.op(
    "AveragePool",
    [c.input],
    [
      attr.ints("kernel_shape", pair(m.kernelSize, "kernelSize", "AvgPool2d")),
      attr.ints("strides", pair(m.stride, "stride", "AvgPool2d")),
      attr.ints("pads", pads2(pair(m.padding, "padding", "AvgPool2d"))),
      attr.int("ceil_mode", m.ceilMode ? 1 : 0),
      attr.int("count_include_pad", m.countIncludePad ? 1 : 0),
    ],
  );

const adaptiveAvgPool: Emitter = (m: AdaptiveAvgPool2d, c) => adaptiveAvgPool2d(c, m.outputSize);

/**
 * Adaptive average pooling: global when the output is 1×1, a plain AveragePool when the input
 * divides evenly, and otherwise two MatMuls with PyTorch's window-averaging matrices
 * (out = P_h · x · P_wᵀ), which is exact for any sizes, shrinking or growing.
 */
export function adaptiveAvgPool2d(c: LayerCall, outputSize: Pair): string {
  const [oh, ow] = pair(outputSize, "outputSize", "AdaptiveAvgPool2d");
  const h = c.x.shape[2]!;
  const w = c.x.shape[3]!;
  if (oh === 1 && ow === 1) return c.g.op("GlobalAveragePool", [c.input]);
  if (h % oh === 0 && w % ow === 0) {
    const k = [h / oh, w / ow];
    return c.g.op("AveragePool", [c.input], [attr.ints("kernel_shape", k), attr.ints("strides", k)]);
  }
  const ph = windowMatrix(oh, h, c.x);
  const pwT = windowMatrix(ow, w, c.x).t().contiguous();
  const rows = c.g.op("MatMul", [c.input, c.g.initializer(pwT, "adaptive_pool_w")]);
  return c.g.op("MatMul", [c.g.initializer(ph, "adaptive_pool_h"), rows]);
}

/** [out, in] matrix averaging PyTorch's window [floor(i·in/out), ceil((i+1)·in/out)) per row. */
function windowMatrix(out: number, size: number, like: Tensor): Tensor {
  const m = zeros([out, size], { dtype: like.dtype });
  for (let i = 0; i < out; i++) {
    const a = Math.floor((i * size) / out);
    const b = Math.ceil(((i + 1) * size) / out);
    for (let j = a; j < b; j++) m.storage[i * size + j] = 1 / (b - a);
  }
  return m;
}

const flatten: Emitter = (m: Flatten, c) => {
  const end = m.endDim < 0 ? m.endDim + c.x.ndim : m.endDim;
  if (m.startDim === 1 && end === c.x.ndim - 1) return c.g.op("Flatten", [c.input], [attr.int("axis", 1)]);
  return c.g.op("Reshape", [c.input, c.g.ints([0, ...c.y.shape.slice(1)])]);
};

const identity: Emitter = (_m, c) => c.g.op("Identity", [c.input]);

const EMITTERS = new Map<unknown, Emitter>([
  [Conv2d, conv],
  [Linear, linear],
  [BatchNorm1d, batchNorm],
  [BatchNorm2d, batchNorm],
  [act.ReLU, (_m, c) => c.g.op("Relu", [c.input])],
  [act.ReLU6, (_m, c) => clip(c, 0, 6)],
  [
    act.LeakyReLU,
    (m: act.LeakyReLU, c) => c.g.op("LeakyRelu", [c.input], [attr.float("alpha", m.negativeSlope)]),
  ],
  [act.ELU, (m: act.ELU, c) => c.g.op("Elu", [c.input], [attr.float("alpha", m.alpha)])],
  [act.GELU, gelu],
  [act.SiLU, (_m, c) => c.g.op("Mul", [c.input, c.g.op("Sigmoid", [c.input])])],
  [
    act.Hardswish,
    (_m, c) =>
      c.g.opset >= 14 ? c.g.op("HardSwish", [c.input]) : c.g.op("Mul", [c.input, hardSigmoid(c, c.input)]),
  ],
  [act.Hardsigmoid, (_m, c) => hardSigmoid(c, c.input)],
  [act.Sigmoid, (_m, c) => c.g.op("Sigmoid", [c.input])],
  [act.Tanh, (_m, c) => c.g.op("Tanh", [c.input])],
  [act.Softmax, softmaxLike("Softmax")],
  [act.LogSoftmax, softmaxLike("LogSoftmax")],
  [MaxPool2d, maxPool],
  [AvgPool2d, avgPool],
  [AdaptiveAvgPool2d, adaptiveAvgPool],
  [Flatten, flatten],
  [Dropout, identity],
  [Identity, identity],
]);

/** The exporter for a known leaf layer (by exact class: a subclass may compute differently). */
export function layerEmitter(m: AnyModule): Emitter | null {
  return EMITTERS.get(m.constructor) ?? null;
}
