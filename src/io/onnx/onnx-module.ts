// An imported ONNX graph as a trainable nabla Module.
//
// Float initializers become Parameters (BatchNormalization's running mean/var become buffers),
// registered under their initializer names split at the dots, so a PyTorch export of resnet18
// has the state-dict keys "layer1.0.conv1.weight", ... as in PyTorch. Integer initializers and
// float ones used only as settings (Resize scales, Clip bounds, ...) stay constants outside the
// state dict. forward() interprets the nodes in order with nabla's autograd ops, so backward()
// and any optimizer work on an imported model as on a native one.
import { Module } from "../../nn/module.js";
import { Parameter } from "../../nn/parameter.js";
import { Tensor } from "../../tensor/tensor.js";
import { formatShape } from "../../tensor/shape.js";
import { cast } from "../../autograd/ops/elementwise.js";
import { NablaError, ShapeError, ValueError } from "../../errors.js";
import type { GraphIO, OnnxModelProto, OnnxNode } from "./decode.js";
import { lookupOp, OpContext, type OpImpl } from "./ops/index.js";
import { stateKeys } from "./naming.js";
import { DataType, floatValue, isFloatType, type Value } from "./values.js";

/** A submodule that only holds parameters and buffers (a level of the dotted key tree). */
export class ParameterGroup extends Module<[], never> {
  forward(): never {
    throw new ValueError("ParameterGroup holds an imported model's tensors; call the OnnxModule instead");
  }
}

/** Inputs that carry settings rather than data: float initializers used only here stay constants. */
const SETTING_INPUTS: Record<string, readonly number[]> = {
  Reshape: [1],
  Resize: [1, 2, 3],
  Clip: [1, 2],
  Pad: [1, 2, 3],
  Slice: [1, 2, 3, 4],
  Squeeze: [1],
  Unsqueeze: [1],
  Expand: [1],
  Tile: [1],
  Split: [1],
  ConstantOfShape: [0],
  Dropout: [1, 2],
  Range: [0, 1, 2],
  Gather: [1],
  ReduceMean: [1],
  ReduceSum: [1],
  ReduceMax: [1],
  ReduceMin: [1],
};

type Source = { kind: "state"; key: string } | { kind: "constant"; value: Value };

export class OnnxModule extends Module {
  readonly opset: number;
  readonly producer: string;
  readonly source: string;
  readonly inputs: readonly GraphIO[];
  readonly outputs: readonly GraphIO[];
  readonly nodes: readonly OnnxNode[];
  readonly metadata: Readonly<Record<string, string>>;
  /** Initializer name → state-dict key (for float initializers held as parameters/buffers). */
  readonly stateKeyOf = new Map<string, string>();
  private readonly impls: OpImpl[];
  private readonly sources = new Map<string, Source>();
  /** For each node, the values whose last reader it is (freed after it runs). */
  private readonly frees: string[][];

  constructor(model: OnnxModelProto) {
    super();
    this.opset = model.opset;
    this.producer = model.producer;
    this.source = model.source;
    this.inputs = model.inputs;
    this.outputs = model.outputs;
    this.nodes = model.nodes;
    this.metadata = model.metadata;
    // Every op is looked up now, so an unsupported one fails at load time, not mid-training.
    this.impls = model.nodes.map((n) => lookupOp(n, model.opset, model.source));
    this.registerInitializers(model);
    this.frees = lastUses(model);
  }

  private registerInitializers(model: OnnxModelProto): void {
    const dataUse = new Set<string>();
    const statsUse = new Set<string>();
    for (const node of model.nodes) {
      const settings = SETTING_INPUTS[node.opType] ?? [];
      node.inputs.forEach((name, i) => {
        if (node.opType === "BatchNormalization" && (i === 3 || i === 4)) statsUse.add(name);
        else if (!settings.includes(i)) dataUse.add(name);
      });
    }
    const stateNames: string[] = [];
    for (const [name, v] of model.initializers) {
      const stateful = isFloatType(v.type) && (dataUse.has(name) || statsUse.has(name));
      if (stateful) stateNames.push(name);
      else this.sources.set(name, { kind: "constant", value: v });
    }
    const keys = stateKeys(stateNames);
    for (const name of stateNames) {
      const segs = keys.get(name)!;
      let owner: Module<unknown[], unknown> = this as unknown as Module<unknown[], unknown>;
      for (const seg of segs.slice(0, -1)) {
        const child = [...owner.namedChildren()].find(([n]) => n === seg)?.[1];
        owner =
          child ?? owner.registerModule(seg, new ParameterGroup() as unknown as Module<unknown[], unknown>);
      }
      const leaf = segs[segs.length - 1]!;
      const tensor = model.initializers.get(name)!.tensor;
      // A tensor used as data anywhere is trainable; running statistics only are buffers.
      if (dataUse.has(name)) owner.registerParameter(leaf, new Parameter(tensor));
      else owner.registerBuffer(leaf, tensor);
      const key = segs.join(".");
      this.stateKeyOf.set(name, key);
      this.sources.set(name, { kind: "state", key });
    }
  }

  /** Every initializer's current value: parameters and buffers as trained, constants as loaded. */
  initializerValues(): Map<string, Value> {
    const state = new Map<string, Tensor>([...this.namedParameters(), ...this.namedBuffers()]);
    const out = new Map<string, Value>();
    for (const [name, src] of this.sources) {
      out.set(name, src.kind === "constant" ? src.value : floatValue(state.get(src.key)!.detach()));
    }
    return out;
  }

  /**
   * Run the graph and return its first output. Typed as a one-input module (what training code
   * expects); a multi-input graph takes its other inputs after the first, or use run().
   */
  forward(x: Tensor, ...more: Tensor[]): Tensor {
    return this.run([x, ...more]).get(this.outputs[0]!.name)!;
  }

  /** Run the graph; inputs by position or by graph-input name. Returns every graph output. */
  run(inputs: readonly Tensor[] | Readonly<Record<string, Tensor>>): Map<string, Tensor> {
    const env = new Map<string, Value>();
    this.bindInputs(inputs, env);
    const state = new Map<string, Tensor>([...this.namedParameters(), ...this.namedBuffers()]);
    for (const [name, src] of this.sources) {
      if (src.kind === "constant") env.set(name, src.value);
      else env.set(name, floatValue(state.get(src.key)!));
    }
    this.nodes.forEach((node, i) => {
      const ctx = new OpContext(
        node,
        node.inputs.map((n) => (n === "" ? null : env.get(n)!)),
        this.opset,
        this.training,
      );
      let outs: (Value | null)[];
      try {
        outs = this.impls[i]!(ctx);
      } catch (err) {
        if (err instanceof NablaError && !err.message.includes(ctx.where))
          err.message = `${ctx.where}: ${err.message}`;
        throw err;
      }
      node.outputs.forEach((name, k) => {
        const v = outs[k];
        if (name === "") return;
        if (!v) throw ctx.fail(`output ${k} ("${name}") was not produced`);
        env.set(name, v);
      });
      for (const name of this.frees[i]!) env.delete(name);
    });
    return new Map(this.outputs.map((o) => [o.name, env.get(o.name)!.tensor]));
  }

  private bindInputs(
    inputs: readonly Tensor[] | Readonly<Record<string, Tensor>>,
    env: Map<string, Value>,
  ): void {
    const byName = !Array.isArray(inputs) && !(inputs instanceof Tensor);
    if (!byName && (inputs as readonly Tensor[]).length !== this.inputs.length) {
      throw new ValueError(
        `${this.source}: the model takes ${this.inputs.length} input(s) (${this.inputs.map((i) => i.name).join(", ")}), got ${(inputs as readonly Tensor[]).length}`,
      );
    }
    this.inputs.forEach((info, i) => {
      const t = byName
        ? (inputs as Readonly<Record<string, Tensor>>)[info.name]
        : (inputs as readonly Tensor[])[i];
      if (!t) throw new ValueError(`${this.source}: input "${info.name}" is missing`);
      if (info.shape && info.shape.length !== t.ndim) {
        throw new ShapeError(
          `${this.source}: input "${info.name}" must have rank ${info.shape.length} (${describeShape(info.shape)}), got ${formatShape(t.shape)}`,
        );
      }
      const type = info.type || DataType.FLOAT;
      if (type === DataType.FLOAT && t.dtype !== "float32")
        env.set(info.name, floatValue(cast(t, "float32")));
      else if (type === DataType.DOUBLE && t.dtype !== "float64")
        env.set(info.name, floatValue(cast(t, "float64")));
      else if (isFloatType(type)) env.set(info.name, floatValue(t));
      else env.set(info.name, { tensor: cast(t, t.dtype === "bool" ? "bool" : "float64"), type });
    });
  }

  override extraRepr(): string {
    const io = (l: readonly GraphIO[]) =>
      l.map((i) => `${i.name}: ${i.shape ? describeShape(i.shape) : "?"}`).join(", ");
    return `opset=${this.opset}, nodes=${this.nodes.length}, inputs=(${io(this.inputs)}), outputs=(${io(this.outputs)})`;
  }
}

function describeShape(shape: readonly (number | string | null)[]): string {
  return `[${shape.map((d) => d ?? "?").join(", ")}]`;
}

/** For each node, the values it reads last (not graph outputs), so they can be released. */
function lastUses(model: OnnxModelProto): string[][] {
  const last = new Map<string, number>();
  model.nodes.forEach((n, i) => n.inputs.forEach((name) => name && last.set(name, i)));
  const keep = new Set(model.outputs.map((o) => o.name));
  const frees: string[][] = model.nodes.map(() => []);
  for (const [name, i] of last) if (!keep.has(name)) frees[i]!.push(name);
  return frees;
}
