// Tracing: run the model once and record how data flows through it, so compression passes can
// see which layer feeds which — through residual additions, concatenations and flattens that
// live in forward() code rather than in modules.
//
// How: every leaf module gets a forward hook that records (module, input, output). The input
// requires grad and the parameters temporarily do not, so the autograd tape recorded by the
// pass holds exactly the ops that depend on the input: the data-flow graph. Walking gradFn
// links back from the output gives every op (add, cat, reshape, ...) between the hooked layers.
// Tensors that do not require grad (weights, constants) are not data.
import { zeros } from "../tensor/creation.js";
import { Tensor } from "../tensor/tensor.js";
import { enableGrad } from "../autograd/engine.js";
import type { AnyModule, Module, RemovableHandle } from "../nn/module.js";
import { Parameter } from "../nn/parameter.js";
import { ValueError } from "../errors.js";

export interface LayerCall {
  module: AnyModule;
  /** Dotted name of the module in the model. */
  name: string;
  input: Tensor;
  output: Tensor;
}

export interface Trace {
  input: Tensor;
  output: Tensor;
  /** Leaf-module calls in execution order. */
  calls: LayerCall[];
  /** The call that produced a tensor (leaf modules returning their input are left out). */
  producer: Map<Tensor, LayerCall>;
  /** How many times each leaf module ran. */
  callCount: Map<AnyModule, number>;
  /** How many primitive op inputs read each data tensor (plus 1 for the model output). */
  uses: Map<Tensor, number>;
  names: Map<AnyModule, string>;
}

/** Trace `model` in eval mode on zeros of shape [batch, ...inputShape]. */
export function traceModel(model: Module, inputShape: readonly number[], batch = 2): Trace {
  const calls: LayerCall[] = [];
  const handles: RemovableHandle[] = [];
  const names = new Map<AnyModule, string>();
  const modes = new Map<AnyModule, boolean>();
  for (const [name, m] of model.namedModules()) {
    modes.set(m, m.training);
    names.set(m, name);
    if (m === model || [...m.children()].length > 0) continue;
    handles.push(
      m.registerForwardHook((mod, inputs, output) => {
        const input = inputs[0];
        if (input instanceof Tensor && output instanceof Tensor)
          calls.push({ module: mod, name, input, output });
      }),
    );
  }
  const params = [...model.parameters()];
  const grads = params.map((p) => p.requiresGrad);
  const input = zeros([batch, ...inputShape]);
  input.requiresGrad = true;
  let output: unknown;
  try {
    model.eval();
    for (const p of params) p.requiresGrad = false;
    output = enableGrad(() => model.call(input));
  } finally {
    for (const h of handles) h.remove();
    params.forEach((p, i) => (p.requiresGrad = grads[i]!));
    for (const [m, training] of modes) m.training = training;
  }
  if (!(output instanceof Tensor)) throw new ValueError("trace: the model must return one tensor");
  const producer = new Map<Tensor, LayerCall>();
  const callCount = new Map<AnyModule, number>();
  for (const c of calls) {
    callCount.set(c.module, (callCount.get(c.module) ?? 0) + 1);
    if (c.output !== c.input) producer.set(c.output, c);
  }
  // Count uses by walking the tape once (each node visited once).
  const uses = new Map<Tensor, number>([[output, 1]]);
  const seen = new Set<Tensor>();
  const stack: Tensor[] = [output];
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t) || !t.gradFn) continue;
    seen.add(t);
    for (const i of t.gradFn.inputs) {
      if (!i.requiresGrad) continue;
      uses.set(i, (uses.get(i) ?? 0) + 1);
      stack.push(i);
    }
  }
  return { input, output, calls, producer, callCount, uses, names };
}

// ---- module surgery -------------------------------------------------------------------------
//
// Layers keep their configuration in readonly fields (so user code cannot change a layer behind
// its parameters' back). Compression passes are the one place that does: they resize layers in
// place and swap modules, always keeping the parameters, the registered names and the typed
// fields in step. These helpers are the only code that writes those fields.

/** Point every own field of `owner` (and every element of its array fields) at `to` instead of `from`. */
function replaceInFields(owner: object, from: unknown, to: unknown): void {
  const fields = owner as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    const v = fields[key];
    if (v === from) fields[key] = to;
    else if (Array.isArray(v)) v.forEach((e, i) => e === from && (v[i] = to));
  }
}

/** Replace parameter `name` of `module` by a new Parameter holding `value` (requiresGrad kept). */
export function setParameter(module: AnyModule, name: string, value: Tensor): Parameter {
  const old = [...module.namedParameters(false)].find(([n]) => n === name)?.[1];
  const p = new Parameter(value.detach().contiguous().clone(), old?.requiresGrad ?? true);
  module.registerParameter(name, p);
  if (old) replaceInFields(module, old, p);
  else if ((module as unknown as Record<string, unknown>)[name] === null) setField(module, name, p);
  return p;
}

/** Replace buffer `name` of `module` (persistence kept). */
export function setBuffer(module: AnyModule, name: string, value: Tensor): void {
  const old = [...module.namedBuffers(false)].find(([n]) => n === name)?.[1];
  const persistent = old === undefined || module.stateDict().has(name);
  const t = value.detach().contiguous().clone();
  module.registerBuffer(name, t, persistent);
  if (old) replaceInFields(module, old, t);
}

/** Write a readonly configuration field (inChannels, outChannels, groups, numFeatures, ...). */
export function setField(module: AnyModule, field: string, value: unknown): void {
  (module as unknown as Record<string, unknown>)[field] = value;
}

/** Replace the submodule at dotted path `name` in `root` by `replacement`. */
export function replaceModule(root: Module, name: string, replacement: AnyModule): void {
  const dot = name.lastIndexOf(".");
  const parentName = dot < 0 ? "" : name.slice(0, dot);
  const childName = name.slice(dot + 1);
  const parent = [...root.namedModules()].find(([n]) => n === parentName)?.[1];
  const old = parent ? [...parent.namedChildren()].find(([n]) => n === childName)?.[1] : undefined;
  if (!parent || !old) throw new ValueError(`replaceModule: no submodule "${name}"`);
  parent.registerModule(childName, replacement);
  replaceInFields(parent, old, replacement);
}
