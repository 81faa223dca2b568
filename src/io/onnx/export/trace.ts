// Tracing a Module into an ONNX graph.
//
// The module runs once on the example input in eval mode with recording on (the input is made
// to require grad, so every op that depends on it lands on the autograd tape). Forward hooks on
// known leaf layers (Conv2d, Linear, BatchNorm, activations, pools, Flatten, ...) note which
// tensor each layer produced from which input. Then the graph is walked back from the output:
// a tensor made by a leaf layer becomes that layer's ONNX node(s) (and the ops inside the layer
// are skipped); any other tensor with a tape node becomes the ONNX form of that op; a tensor
// with neither is a constant — a parameter/buffer (named by its state-dict key) or a value the
// forward created. No hook in the autograd engine is needed: the tape already links every
// output to its inputs.
import { Tensor } from "../../../tensor/tensor.js";
import { enableGrad, noGrad } from "../../../autograd/engine.js";
import { clone } from "../../../autograd/ops/movement.js";
import { isFloating } from "../../../tensor/dtype.js";
import { DTypeError, ValueError } from "../../../errors.js";
import type { AnyModule, RemovableHandle } from "../../../nn/module.js";
import { GraphBuilder } from "./graph-builder.js";
import { layerEmitter } from "./layers.js";
import { emitPrimitive } from "./primitives.js";

interface LayerRecord {
  module: AnyModule;
  input: Tensor;
}

export interface TracedGraph {
  builder: GraphBuilder;
  inputName: string;
  outputName: string;
  input: Tensor;
  output: Tensor;
}

/** Run `module` on `example` and translate what it computed into ONNX nodes. */
export function traceModule(
  module: AnyModule,
  example: Tensor,
  opset: number,
  inputName = "input",
): TracedGraph {
  if (!isFloating(example.dtype)) {
    throw new DTypeError(`ONNX export: the example input must be float32 or float64, got ${example.dtype}`);
  }
  const wasTraining = [...module.modules()].map((m) => [m, m.training] as const);
  module.eval();
  const layers = new Map<Tensor, LayerRecord>();
  const handles: RemovableHandle[] = [];
  for (const m of module.modules()) {
    if (!layerEmitter(m)) continue;
    handles.push(
      m.registerForwardHook((mod, inputs, output) => {
        const x = inputs[0];
        // A layer that hands back its input (Identity, Dropout in eval) adds no node.
        if (output instanceof Tensor && x instanceof Tensor && output !== x && !layers.has(output)) {
          layers.set(output, { module: mod, input: x });
        }
      }),
    );
  }
  const input = noGrad(() => clone(example.detach()));
  input.requiresGrad = true;
  let output: unknown;
  try {
    output = enableGrad(() => module.call(input));
  } finally {
    for (const h of handles) h.remove();
    for (const [m, t] of wasTraining) m.training = t;
  }
  if (!(output instanceof Tensor))
    throw new ValueError("ONNX export: the module must return a single Tensor");

  const builder = new GraphBuilder(opset);
  const stateNames = new Map<Tensor, string>();
  for (const [k, t] of module.namedParameters()) stateNames.set(t, k);
  for (const [k, t] of module.namedBuffers()) stateNames.set(t, k);
  const tensorName = (t: Tensor) => builder.initializer(t, stateNames.get(t) ?? "const");

  const names = new Map<Tensor, string>([[input, inputName]]);
  builder.fresh(inputName);
  const dependencies = (t: Tensor): readonly Tensor[] => {
    const layer = layers.get(t);
    if (layer) return [layer.input];
    return tapeInputs(t);
  };
  const emit = (t: Tensor): string => {
    const layer = layers.get(t);
    if (layer) {
      const emitter = layerEmitter(layer.module)!;
      return emitter(layer.module, {
        g: builder,
        input: names.get(layer.input)!,
        x: layer.input,
        y: t,
        tensor: tensorName,
      });
    }
    if (t.gradFn) {
      const inputs = tapeInputs(t);
      return emitPrimitive({
        g: builder,
        op: t.gradFn.name,
        inputs,
        names: inputs.map((i) => names.get(i)!),
        y: t,
      });
    }
    return tensorName(t);
  };

  // Iterative depth-first post-order walk, each tensor entered once (deep networks must not
  // overflow the JS stack, and DenseNet's shared inputs must not be revisited).
  const entered = new Set<Tensor>(names.keys());
  const stack: [Tensor, number][] = [[output, 0]];
  entered.add(output);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const deps = dependencies(top[0]);
    if (top[1] < deps.length) {
      const next = deps[top[1]++]!;
      if (!entered.has(next)) {
        entered.add(next);
        stack.push([next, 0]);
      }
      continue;
    }
    stack.pop();
    names.set(top[0], emit(top[0]));
  }
  return { builder, inputName, outputName: names.get(output)!, input, output };
}

/**
 * The inputs the tape recorded for t's op. cat's tape entry once kept the caller's array itself,
 * which a caller may append to afterwards (DenseNet's growing feature list); the core now copies
 * it, and for cat only the prefix whose sizes add up to the output is taken all the same.
 */
function tapeInputs(t: Tensor): readonly Tensor[] {
  const node = t.gradFn;
  if (!node) return [];
  if (node.name !== "cat") return node.inputs;
  for (let d = 0; d < t.ndim; d++) {
    let total = 0;
    for (let k = 0; k < node.inputs.length; k++) {
      const s = node.inputs[k]!;
      if (s.ndim !== t.ndim || s.shape.some((n, i) => i !== d && n !== t.shape[i])) break;
      total += s.shape[d]!;
      if (total === t.shape[d]) return node.inputs.slice(0, k + 1);
      if (total > t.shape[d]!) break;
    }
  }
  return node.inputs;
}
