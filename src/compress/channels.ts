// Channel dependency analysis for structured pruning.
//
// Every Conv2d (groups 1) and Linear is a *source*: it creates its output channels. For every
// data tensor of a traced forward pass we work out where each of its channels (dim 1) came from:
// (source, index), or "fixed" for the model input and anything we cannot follow. The rules:
//   Conv2d / Linear             new source; their inputs are recorded as consumers
//   depthwise Conv2d            channel i of the output is channel i of the input (tied)
//   BN, activations, pooling    channels pass through unchanged
//   add/sub/mul of two tensors  channels at the same index are tied: their sources must keep the
//                               same channels (a residual addition), so the sources are merged
//   cat along dim 1             the channel lists are concatenated (DenseNet)
//   flatten [N,C,H,W]→[N,C·H·W] each channel owns a block of H·W features (fmnistCnn's classifier)
// Channels reaching the model output, an op we do not know, or a layer called twice become
// fixed: their sources are not pruned. Sources tied together form one *group*, pruned as one.
import type { Tensor } from "../tensor/tensor.js";
import type { AnyModule, Module } from "../nn/module.js";
import { Conv2d } from "../nn/layers/conv.js";
import { Linear } from "../nn/layers/linear.js";
import { BatchNorm1d, BatchNorm2d } from "../nn/layers/batchnorm.js";
import { Dropout, Flatten, Identity } from "../nn/layers/misc.js";
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from "../nn/layers/pooling.js";
import * as act from "../nn/layers/activation.js";
import { traceModel, type Trace } from "./trace.js";

/** Where one channel came from: source id (−1: fixed) and its index in that source. */
export interface ChannelRef {
  src: number;
  idx: number;
}

/** Channels of a tensor along dim 1; a flattened tensor has `block` features per channel. */
export interface ChannelMap {
  refs: ChannelRef[];
  block: number;
}

export interface Source {
  id: number;
  module: Conv2d | Linear;
  name: string;
  channels: number;
  fixed: boolean;
}

/** A layer whose input channels must follow the pruning (weight dim 1 / features). */
export interface Consumer {
  module: Conv2d | Linear;
  name: string;
  input: ChannelMap;
}

/** A per-channel layer whose channels follow its input (BN, depthwise conv: dim 0). */
export interface Follower {
  module: BatchNorm2d | BatchNorm1d | Conv2d;
  name: string;
  map: ChannelMap;
}

export interface ChannelGraph {
  sources: Source[];
  consumers: Consumer[];
  followers: Follower[];
  /** Groups of tied, prunable sources (each group is pruned with one set of kept indices). */
  groups: Source[][];
}

const PASS_THROUGH = [
  act.ReLU,
  act.ReLU6,
  act.LeakyReLU,
  act.ELU,
  act.GELU,
  act.SiLU,
  act.Hardswish,
  act.Hardsigmoid,
  act.Sigmoid,
  act.Tanh,
  MaxPool2d,
  AvgPool2d,
  AdaptiveAvgPool2d,
  Dropout,
  Identity,
];

const ELEMENTWISE_UNARY = new Set([
  "neg", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "erf", "sign", "floor",
  "ceil", "round", "clone", "rsqrt", "square", "cast", "maxPool2d", "pad", "narrow", "slice",
  "mean", "sum", "amax", "amin", "gelu", "leakyRelu", "elu", "clamp",
]); // prettier-ignore
const ELEMENTWISE_BINARY = new Set(["add", "sub", "mul", "div", "maximum", "minimum", "pow", "where"]);

export function isDepthwise(m: Conv2d): boolean {
  return m.groups > 1 && m.groups === m.inChannels && m.groups === m.outChannels;
}

export function analyzeChannels(model: Module, inputShape: readonly number[]): ChannelGraph {
  const trace = traceModel(model, inputShape);
  return new Analysis(trace).run();
}

class Analysis {
  private readonly sources: Source[] = [];
  private readonly consumers: Consumer[] = [];
  private readonly followers: Follower[] = [];
  private readonly maps = new Map<Tensor, ChannelMap>();
  private readonly parent: number[] = [];
  private readonly sourceOf = new Map<AnyModule, Source>();

  constructor(private readonly trace: Trace) {}

  run(): ChannelGraph {
    const out = this.mapOf(this.trace.output);
    this.fix(out);
    // A module that ran more than once cannot be rewired for one call only.
    for (const [m, n] of this.trace.callCount) {
      const source = this.sourceOf.get(m);
      if (n > 1 && source) source.fixed = true;
    }
    for (const c of this.consumers) if (this.trace.callCount.get(c.module)! > 1) this.fix(c.input);
    for (const f of this.followers) if (this.trace.callCount.get(f.module)! > 1) this.fix(f.map);
    const byRoot = new Map<number, Source[]>();
    for (const s of this.sources) {
      const r = this.find(s.id);
      byRoot.set(r, [...(byRoot.get(r) ?? []), s]);
    }
    const groups: Source[][] = [];
    for (const g of byRoot.values()) {
      const ok = g.every((s) => !s.fixed && s.channels === g[0]!.channels);
      if (ok) groups.push(g);
      else for (const s of g) s.fixed = true;
    }
    return { sources: this.sources, consumers: this.consumers, followers: this.followers, groups };
  }

  private find(i: number): number {
    while (this.parent[i] !== i) i = this.parent[i] = this.parent[this.parent[i]!]!;
    return i;
  }

  private union(a: number, b: number): void {
    this.parent[this.find(a)] = this.find(b);
  }

  private fixed(n: number, block = 1): ChannelMap {
    return { refs: Array.from({ length: n }, (_, i) => ({ src: -1, idx: i })), block };
  }

  /** Mark every source appearing in `map` as unprunable. */
  private fix(map: ChannelMap): void {
    for (const r of map.refs) if (r.src >= 0) this.sources[r.src]!.fixed = true;
  }

  private newSource(module: Conv2d | Linear, name: string, channels: number): ChannelMap {
    const id = this.sources.length;
    const s: Source = { id, module, name, channels, fixed: false };
    this.sources.push(s);
    this.parent.push(id);
    this.sourceOf.set(module, s);
    return { refs: Array.from({ length: channels }, (_, i) => ({ src: id, idx: i })), block: 1 };
  }

  private channelsOf(t: Tensor): number {
    return t.ndim >= 2 ? t.shape[1]! : 0;
  }

  mapOf(t: Tensor): ChannelMap {
    let m = this.maps.get(t);
    if (!m) {
      m = this.compute(t);
      this.maps.set(t, m);
    }
    return m;
  }

  private compute(t: Tensor): ChannelMap {
    const call = this.trace.producer.get(t);
    if (call) return this.layerRule(call.module, call.name, call.input, t);
    const node = t.gradFn;
    if (!node || t === this.trace.input) return this.fixed(this.channelsOf(t));
    const data = node.inputs.filter((i) => i.requiresGrad);
    const name = node.name;
    const sameChannels = (i: Tensor) =>
      i.ndim >= 2 && t.ndim >= 2 && i.shape[1] === t.shape[1] && i.shape[0] === t.shape[0];
    if (
      data.length === 1 &&
      ELEMENTWISE_UNARY.has(name) &&
      sameChannels(data[0]!) &&
      t.ndim === data[0]!.ndim
    ) {
      return this.mapOf(data[0]!);
    }
    if (ELEMENTWISE_BINARY.has(name) && data.length >= 1 && data.every(sameChannels)) {
      const constants = node.inputs.filter((i) => !i.requiresGrad);
      // A constant that varies along the channel dim would have to be pruned too: give up.
      const perChannel = constants.some((c) => {
        const d = c.ndim - t.ndim + 1;
        return d >= 0 && (c.shape[d] ?? 1) > 1;
      });
      const maps = data.map((i) => this.mapOf(i));
      if (!perChannel && this.tie(maps)) return maps[0]!;
    }
    if (name === "cat" && data.length === node.inputs.length) return this.catRule(node.inputs, t);
    if (name === "reshape" && data.length === 1) {
      const x = data[0]!;
      if (x.ndim === 4 && t.ndim === 2 && t.shape[0] === x.shape[0] && t.shape[1] === x.numel / x.shape[0]!) {
        const m = this.mapOf(x);
        return { refs: m.refs, block: x.shape[2]! * x.shape[3]! * m.block };
      }
      if (x.ndim === t.ndim && x.shape.every((d, i) => d === t.shape[i])) return this.mapOf(x);
    }
    if (name === "conv2d" && data.length === 1 && node.inputs[1] && !node.inputs[1].requiresGrad) {
      // A depthwise conv with a constant weight: how avgPool2d is computed.
      const w = node.inputs[1];
      if (w.shape[1] === 1 && w.shape[0] === data[0]!.shape[1] && sameChannels(data[0]!))
        return this.mapOf(data[0]!);
    }
    for (const i of data) this.fix(this.mapOf(i));
    return this.fixed(this.channelsOf(t));
  }

  /** Tie channel maps that are added/multiplied element-wise; false when they cannot be tied. */
  private tie(maps: ChannelMap[]): boolean {
    const first = maps[0]!;
    for (const m of maps.slice(1)) {
      if (m.refs.length !== first.refs.length || m.block !== first.block) return false;
      for (let i = 0; i < m.refs.length; i++) {
        const a = first.refs[i]!;
        const b = m.refs[i]!;
        if (a.src === b.src && a.idx === b.idx) continue;
        if (a.src < 0 || b.src < 0 || a.idx !== b.idx) {
          for (const x of maps) this.fix(x);
          return true; // the result is well defined; only pruning is ruled out
        }
        this.union(a.src, b.src);
      }
    }
    return true;
  }

  private catRule(inputs: readonly Tensor[], t: Tensor): ChannelMap {
    const maps = inputs.map((i) => this.mapOf(i));
    const alongChannels =
      t.ndim === 4 &&
      inputs.reduce((s, i) => s + i.shape[1]!, 0) === t.shape[1] &&
      maps.every((m) => m.block === 1);
    if (alongChannels) return { refs: maps.flatMap((m) => m.refs), block: 1 };
    if (inputs.every((i) => i.shape[1] === t.shape[1]) && this.tie(maps)) return maps[0]!;
    for (const m of maps) this.fix(m);
    return this.fixed(this.channelsOf(t));
  }

  private layerRule(module: AnyModule, name: string, input: Tensor, output: Tensor): ChannelMap {
    const inMap = this.mapOf(input);
    if (module instanceof Conv2d) {
      if (module.groups === 1) {
        this.consumers.push({ module, name, input: inMap });
        return this.newSource(module, name, module.outChannels);
      }
      if (isDepthwise(module)) {
        this.followers.push({ module, name, map: inMap });
        return inMap;
      }
      this.fix(inMap); // grouped convolution: channel groups would have to shrink evenly
      return this.fixed(module.outChannels);
    }
    if (module instanceof Linear) {
      if (input.ndim !== 2) {
        this.fix(inMap);
        return this.fixed(module.outFeatures);
      }
      this.consumers.push({ module, name, input: inMap });
      return this.newSource(module, name, module.outFeatures);
    }
    if (module instanceof BatchNorm2d || module instanceof BatchNorm1d) {
      if (inMap.block !== 1) {
        this.fix(inMap);
        return this.fixed(this.channelsOf(output));
      }
      this.followers.push({ module, name, map: inMap });
      return inMap;
    }
    if (module instanceof Flatten && input.ndim === 4 && output.ndim === 2) {
      return { refs: inMap.refs, block: input.shape[2]! * input.shape[3]! * inMap.block };
    }
    if (
      PASS_THROUGH.some((k) => module instanceof k) &&
      output.ndim === input.ndim &&
      output.shape[1] === input.shape[1]
    )
      return inMap;
    // Unknown layer: follow its inner ops instead.
    return this.viaOps(output);
  }

  private viaOps(t: Tensor): ChannelMap {
    const producer = this.trace.producer;
    const call = producer.get(t)!;
    producer.delete(t);
    try {
      return this.compute(t);
    } finally {
      producer.set(t, call);
    }
  }
}
