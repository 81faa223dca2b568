// Module: the base class of every layer and model, shaped like PyTorch's nn.Module.
//
// A module owns three kinds of named state, registered explicitly (TypeScript has no
// __setattr__ hook, so registration is a call that returns what it registered and the field
// stays typed):
//
//   this.weight = this.registerParameter("weight", new Parameter(...));   // trainable
//   this.runningMean = this.registerBuffer("running_mean", zeros([c]));    // saved, not trained
//   this.conv1 = this.registerModule("conv1", new Conv2d(3, 64, 3));       // a submodule
//
// The registered names (not the field names) make the stateDict() keys, so they follow PyTorch's
// spelling (running_mean, num_batches_tracked) and the keys equal PyTorch's for the same model.
//
// Calling convention: subclasses implement `forward(...)`; users call `module.call(...)`, which
// is PyTorch's `module(...)`: it runs the forward pre-hooks, forward, then the forward hooks.
// Models call their submodules through `call` too, so hooks fire at every level.
import { Tensor } from "../tensor/tensor.js";
import { isFloating, type DType } from "../tensor/dtype.js";
import { formatShape } from "../tensor/shape.js";
import { noGrad } from "../autograd/engine.js";
import { cast } from "../autograd/ops/elementwise.js";
import { ValueError } from "../errors.js";
import { Parameter } from "./parameter.js";

/** Any module, whatever its forward signature (used for children and generic walks). */
export type AnyModule = Module<unknown[], unknown>;

/** Runs before forward; may return replacement inputs. */
export type ForwardPreHook<M, In> = (module: M, inputs: In) => In | void;
/** Runs after forward; may return a replacement output. */
export type ForwardHook<M, In, Out> = (module: M, inputs: In, output: Out) => Out | void;

/** A registered hook; `remove()` unregisters it. */
export class RemovableHandle {
  constructor(private readonly removeFn: () => void) {}
  remove(): void {
    this.removeFn();
  }
}

/** Ordered map of dotted names to tensors, as stateDict() returns it (PyTorch's OrderedDict). */
export type StateDict = Map<string, Tensor>;

/** What loadStateDict found: keys the model expected but the dict lacked, and extra keys. */
export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export interface ShapeMismatch {
  key: string;
  expected: readonly number[];
  got: readonly number[];
}

/** loadStateDict failed; the fields list every problem, the message names them. */
export class StateDictError extends ValueError {
  constructor(
    readonly missingKeys: string[],
    readonly unexpectedKeys: string[],
    readonly shapeMismatches: ShapeMismatch[],
    moduleName: string,
  ) {
    const parts: string[] = [];
    const list = (keys: string[]) => keys.map((k) => `"${k}"`).join(", ");
    if (missingKeys.length) parts.push(`Missing key(s) in state_dict: ${list(missingKeys)}.`);
    if (unexpectedKeys.length) parts.push(`Unexpected key(s) in state_dict: ${list(unexpectedKeys)}.`);
    for (const m of shapeMismatches) {
      parts.push(
        `size mismatch for ${m.key}: copying a param with shape ${formatShape(m.got)} from checkpoint, ` +
          `the shape in current model is ${formatShape(m.expected)}.`,
      );
    }
    super(`Error(s) in loading state_dict for ${moduleName}:\n\t${parts.join("\n\t")}`);
  }
}

let nextHookId = 0;

// Bumped whenever any module gains or loses a submodule, parameter, buffer or forward hook, and by
// train()/eval(), so facts derived from a module tree's structure (graph_owned.ts's
// keepsNoReference, plan.ts's inference plans) can be remembered until the next change anywhere.
let structureVersion = 0;

/** The count of structural changes (submodules, parameters, buffers, hooks) made to any module so far. */
export function moduleStructureVersion(): number {
  return structureVersion;
}

/**
 * What `call()` asks first, if set (nn/plan.ts's inference plans): a result to return instead of
 * running forward, or undefined to run it as usual.
 */
let callHook: ((module: AnyModule, inputs: unknown[]) => unknown) | null = null;

export function setCallHook(hook: ((module: AnyModule, inputs: unknown[]) => unknown) | null): void {
  callHook = hook;
}

function checkName(kind: string, name: string): void {
  if (name === "" || name.includes(".")) {
    throw new ValueError(`${kind} name must be a non-empty string without ".", got "${name}"`);
  }
}

export abstract class Module<In extends unknown[] = [Tensor], Out = Tensor> {
  /** True in training mode (Dropout drops, BatchNorm uses batch statistics); see train()/eval(). */
  training = true;
  private readonly paramMap = new Map<string, Parameter | null>();
  private readonly bufferMap = new Map<string, Tensor | null>();
  private readonly nonPersistent = new Set<string>();
  private readonly moduleMap = new Map<string, AnyModule | null>();
  // Stored loosely typed so Module<[Tensor], Tensor> stays assignable to AnyModule.
  private readonly preHooks = new Map<number, ForwardPreHook<unknown, unknown[]>>();
  private readonly hooks = new Map<number, ForwardHook<unknown, unknown[], unknown>>();

  /** The computation. Implement it; call the module with `call()`. */
  abstract forward(...inputs: In): Out;

  /** Whether any forward (pre-)hook is registered on this module itself. */
  hasForwardHooks(): boolean {
    return this.preHooks.size > 0 || this.hooks.size > 0;
  }

  /** Run the module: forward pre-hooks, forward, forward hooks (PyTorch's `module(x)`). */
  call(...inputs: In): Out {
    if (callHook !== null) {
      const planned = callHook(this as AnyModule, inputs);
      if (planned !== undefined) return planned as Out;
    }
    if (this.preHooks.size === 0 && this.hooks.size === 0) return this.forward(...inputs);
    let args = inputs;
    for (const hook of [...this.preHooks.values()]) {
      const replaced = hook(this, args);
      if (replaced !== undefined) args = replaced as In;
    }
    let out = this.forward(...args);
    for (const hook of [...this.hooks.values()]) {
      const replaced = hook(this, args, out);
      if (replaced !== undefined) out = replaced as Out;
    }
    return out;
  }

  // ---- registration -----------------------------------------------------------------------

  /** Register a trainable tensor (null registers the name with no tensor, like bias=False). */
  registerParameter<P extends Parameter | null>(name: string, param: P): P {
    checkName("parameter", name);
    if (this.bufferMap.has(name) || this.moduleMap.has(name))
      throw new ValueError(`registerParameter: "${name}" is already registered as a buffer or module`);
    this.paramMap.set(name, param);
    structureVersion++;
    return param;
  }

  /** Register a non-trainable tensor; persistent buffers are part of stateDict(). */
  registerBuffer<T extends Tensor | null>(name: string, tensor: T, persistent = true): T {
    checkName("buffer", name);
    if (this.paramMap.has(name) || this.moduleMap.has(name))
      throw new ValueError(`registerBuffer: "${name}" is already registered as a parameter or module`);
    this.bufferMap.set(name, tensor);
    structureVersion++;
    if (persistent) this.nonPersistent.delete(name);
    else this.nonPersistent.add(name);
    return tensor;
  }

  /** Register a submodule; its state appears under "name." in stateDict(). */
  registerModule<M extends AnyModule | null>(name: string, module: M): M {
    checkName("module", name);
    if (this.paramMap.has(name) || this.bufferMap.has(name))
      throw new ValueError(`registerModule: "${name}" is already registered as a parameter or buffer`);
    this.moduleMap.set(name, module);
    structureVersion++;
    return module;
  }

  /** PyTorch's add_module (same as registerModule). */
  addModule<M extends AnyModule | null>(name: string, module: M): M {
    return this.registerModule(name, module);
  }

  // ---- hooks ------------------------------------------------------------------------------

  /** `hook(module, inputs)` runs before forward; returning an array replaces the inputs. */
  registerForwardPreHook(hook: ForwardPreHook<this, In>): RemovableHandle {
    const id = nextHookId++;
    this.preHooks.set(id, hook as unknown as ForwardPreHook<unknown, unknown[]>);
    structureVersion++;
    return new RemovableHandle(() => {
      if (this.preHooks.delete(id)) structureVersion++;
    });
  }

  /** `hook(module, inputs, output)` runs after forward; returning a value replaces the output. */
  registerForwardHook(hook: ForwardHook<this, In, Out>): RemovableHandle {
    const id = nextHookId++;
    this.hooks.set(id, hook as unknown as ForwardHook<unknown, unknown[], unknown>);
    structureVersion++;
    return new RemovableHandle(() => {
      if (this.hooks.delete(id)) structureVersion++;
    });
  }

  // ---- traversal --------------------------------------------------------------------------

  /** Direct submodules with their names, in registration order. */
  *namedChildren(): Generator<[string, AnyModule]> {
    for (const [name, m] of this.moduleMap) if (m) yield [name, m];
  }

  *children(): Generator<AnyModule> {
    for (const m of this.moduleMap.values()) if (m) yield m;
  }

  /** Whether every direct submodule satisfies `test` (a plain loop: inference calls it per forward). */
  everyChild(test: (m: AnyModule) => boolean): boolean {
    for (const m of this.moduleMap.values()) if (m && !test(m)) return false;
    return true;
  }

  /** This module and every descendant, pre-order, with dotted names ("" for this one). */
  *namedModules(prefix = "", seen = new Set<AnyModule>()): Generator<[string, AnyModule]> {
    if (seen.has(this as AnyModule)) return;
    seen.add(this as AnyModule);
    yield [prefix, this as AnyModule];
    for (const [name, m] of this.namedChildren()) {
      yield* m.namedModules(prefix ? `${prefix}.${name}` : name, seen);
    }
  }

  *modules(): Generator<AnyModule> {
    for (const [, m] of this.namedModules()) yield m;
  }

  /** Parameters with dotted names (each tensor once, even if shared). */
  *namedParameters(recurse = true): Generator<[string, Parameter]> {
    const seen = new Set<Tensor>();
    const owners: Iterable<[string, AnyModule]> = recurse ? this.namedModules() : [["", this as AnyModule]];
    for (const [prefix, m] of owners) {
      for (const [name, p] of m.paramMap) {
        if (!p || seen.has(p)) continue;
        seen.add(p);
        yield [prefix ? `${prefix}.${name}` : name, p];
      }
    }
  }

  *parameters(recurse = true): Generator<Parameter> {
    for (const [, p] of this.namedParameters(recurse)) yield p;
  }

  *namedBuffers(recurse = true): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    const owners: Iterable<[string, AnyModule]> = recurse ? this.namedModules() : [["", this as AnyModule]];
    for (const [prefix, m] of owners) {
      for (const [name, b] of m.bufferMap) {
        if (!b || seen.has(b)) continue;
        seen.add(b);
        yield [prefix ? `${prefix}.${name}` : name, b];
      }
    }
  }

  *buffers(recurse = true): Generator<Tensor> {
    for (const [, b] of this.namedBuffers(recurse)) yield b;
  }

  /** Number of parameter elements (optionally only those that require grad). */
  numParameters(onlyTrainable = false): number {
    let n = 0;
    for (const p of this.parameters()) if (!onlyTrainable || p.requiresGrad) n += p.numel;
    return n;
  }

  // ---- modes and gradients ----------------------------------------------------------------

  /** Set training mode on this module and every descendant. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    structureVersion++; // (nn/plan.ts plans only trees in eval mode)
    return this;
  }

  /** Evaluation mode: train(false). */
  eval(): this {
    return this.train(false);
  }

  /** Drop every parameter's gradient (PyTorch 2's default, set_to_none=True). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Turn gradient tracking of every parameter on or off (freezing a model). */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad = requiresGrad;
    return this;
  }

  /** Call fn on every descendant (children first) and then on this module. */
  apply(fn: (module: AnyModule) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this as AnyModule);
    return this;
  }

  // ---- dtype conversion -------------------------------------------------------------------

  /**
   * Convert floating-point parameters and buffers to `dtype` (integer buffers such as
   * num_batches_tracked keep theirs). Parameters are replaced by new Parameter objects, and
   * every field that held the old tensor is pointed at the new one, so typed fields stay in
   * sync; build optimizers after converting.
   */
  to(dtype: DType): this {
    if (!isFloating(dtype)) throw new ValueError(`Module.to: expected a floating dtype, got ${dtype}`);
    const converted = new Map<Tensor, Tensor>();
    const convert = <T extends Tensor>(t: T, make: (c: Tensor) => T): T => {
      let c = converted.get(t) as T | undefined;
      if (!c) {
        c = make(noGrad(() => cast(t.detach(), dtype)));
        converted.set(t, c);
      }
      return c;
    };
    for (const m of this.modules()) {
      for (const [name, p] of m.paramMap) {
        if (!p || p.dtype === dtype || !isFloating(p.dtype)) continue;
        const np = convert(p, (c) => new Parameter(c, p.requiresGrad));
        m.paramMap.set(name, np);
        replaceField(m, p, np);
        structureVersion++;
      }
      for (const [name, b] of m.bufferMap) {
        if (!b || b.dtype === dtype || !isFloating(b.dtype)) continue;
        const nb = convert(b, (c) => c);
        m.bufferMap.set(name, nb);
        replaceField(m, b, nb);
        structureVersion++;
      }
    }
    return this;
  }

  double(): this {
    return this.to("float64");
  }

  float(): this {
    return this.to("float32");
  }

  // ---- state dict -------------------------------------------------------------------------

  /**
   * Parameters and persistent buffers under dotted names, in PyTorch's order (each module's
   * parameters, then its buffers, then its children's). Tensors are detached views sharing
   * storage with the model (keepVars returns the Parameter objects themselves).
   */
  stateDict(options: { keepVars?: boolean } = {}): StateDict {
    const sd: StateDict = new Map();
    const visit = (m: AnyModule, prefix: string) => {
      for (const [name, p] of m.paramMap) if (p) sd.set(prefix + name, options.keepVars ? p : p.detach());
      for (const [name, b] of m.bufferMap) {
        if (b && !m.nonPersistent.has(name)) sd.set(prefix + name, options.keepVars ? b : b.detach());
      }
      for (const [name, child] of m.moduleMap) if (child) visit(child, `${prefix}${name}.`);
    };
    visit(this as AnyModule, "");
    return sd;
  }

  /**
   * Copy tensors from `stateDict` into this model's parameters and buffers (in place, converting
   * dtype). Everything is checked before anything is copied: shape mismatches always throw a
   * StateDictError; missing and unexpected keys throw unless `strict: false`.
   */
  loadStateDict(
    stateDict: StateDict | Readonly<Record<string, Tensor>>,
    options: { strict?: boolean } = {},
  ): LoadResult {
    const strict = options.strict ?? true;
    const source = stateDict instanceof Map ? stateDict : new Map(Object.entries(stateDict));
    const own = this.stateDict({ keepVars: true });
    const missingKeys = [...own.keys()].filter((k) => !source.has(k));
    const unexpectedKeys = [...source.keys()].filter((k) => !own.has(k));
    const shapeMismatches: ShapeMismatch[] = [];
    for (const [key, target] of own) {
      const src = source.get(key);
      if (src && !sameShape(src.shape, target.shape)) {
        shapeMismatches.push({ key, expected: target.shape, got: src.shape });
      }
    }
    if (shapeMismatches.length || (strict && (missingKeys.length || unexpectedKeys.length))) {
      throw new StateDictError(
        strict ? missingKeys : [],
        strict ? unexpectedKeys : [],
        shapeMismatches,
        this.constructor.name,
      );
    }
    noGrad(() => {
      for (const [key, target] of own) {
        const src = source.get(key);
        if (!src) continue;
        const values = src.dtype === target.dtype ? src.detach() : cast(src.detach(), target.dtype);
        target.data.set(values.data);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- printing ---------------------------------------------------------------------------

  /** The layer's own settings for toString(), e.g. "3, 64, kernelSize=(3, 3)". */
  extraRepr(): string {
    return "";
  }

  /** A readable tree like PyTorch's module repr. */
  toString(): string {
    const extra = this.extraRepr();
    const extraLines = extra ? extra.split("\n") : [];
    const childLines = [...this.namedChildren()].map(
      ([name, m]) => `(${name}): ${m.toString().split("\n").join("\n  ")}`,
    );
    const lines = [...extraLines, ...childLines];
    let body = "";
    if (extraLines.length === 1 && childLines.length === 0) body = extraLines[0]!;
    else if (lines.length) body = `\n  ${lines.join("\n  ")}\n`;
    return `${this.constructor.name}(${body})`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Point every own field of `owner` that holds `from` at `to` (keeps typed fields in sync). */
function replaceField(owner: object, from: Tensor, to: Tensor): void {
  const fields = owner as Record<string, unknown>;
  for (const key of Object.keys(fields)) if (fields[key] === from) fields[key] = to;
}
