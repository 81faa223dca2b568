// Containers: Sequential runs its children in order; ModuleList and ModuleDict only hold
// modules (so their parameters are registered) and leave the wiring to the owner's forward.
import type { Tensor } from "../tensor/tensor.js";
import { NotSupportedError, ValueError } from "../errors.js";
import { Module, type AnyModule } from "./module.js";
import { fusionEnabled, runFusedBnRelu, runFusedChain, runFusedLinear } from "./fuse.js";
import {
  childrenKeepNoReference,
  handIntermediatesToGraph,
  keepsNoReference,
  recycleConsumed,
} from "./graph_owned.js";

/** A module taking one tensor and returning one: what Sequential chains. */
export type TensorModule = Module<[Tensor], Tensor>;

/**
 * Children run in order, each on the previous one's output. Children are named "0", "1", ...
 * or, when built from a record, by its keys (PyTorch's Sequential(OrderedDict(...))).
 */
export class Sequential extends Module {
  constructor(...modules: TensorModule[] | [Record<string, TensorModule>]) {
    super();
    const first = modules[0];
    if (modules.length === 1 && first !== undefined && !(first instanceof Module)) {
      for (const [name, m] of Object.entries(first)) this.registerModule(name, m);
    } else {
      for (const m of modules as TensorModule[]) this.append(m);
    }
  }

  /** Add a module at the end, named by its index. */
  append(module: TensorModule): this {
    this.registerModule(String(this.length), module);
    return this;
  }

  get length(): number {
    return [...this.namedChildren()].length;
  }

  /** The i-th child (negative counts from the end). */
  at(index: number): TensorModule {
    const list = [...this.children()] as TensorModule[];
    const m = list[index < 0 ? index + list.length : index];
    if (!m) throw new ValueError(`Sequential.at: index ${index} is out of range for length ${list.length}`);
    return m;
  }

  [Symbol.iterator](): Iterator<TensorModule> {
    return (this.children() as Generator<TensorModule>)[Symbol.iterator]();
  }

  /**
   * Children in order. Under noGrad, Conv2d → BatchNorm2d (eval) → ReLU → 2×2 MaxPool2d and
   * Linear → ReLU run fused, and BatchNorm2d → ReLU always does (see fuse.ts); results are the same
   * up to rounding (Linear → ReLU: bitwise).
   */
  forward(x: Tensor): Tensor {
    const modules = [...this.children()] as TensorModule[];
    const fuse = fusionEnabled();
    // Intermediate outputs and whether the layers around each keep references (graph_owned.ts).
    const steps: Tensor[] = [];
    const producedByPlain: boolean[] = [];
    const consumedByPlain: boolean[] = [];
    let out = x;
    let outByPlain = false; // the caller's input is the caller's
    for (let i = 0; i < modules.length;) {
      const start = i;
      let next: Tensor;
      const fused =
        (fuse ? (runFusedChain(modules, i, out) ?? runFusedLinear(modules, i, out)) : null) ??
        runFusedBnRelu(modules, i, out);
      if (fused) {
        next = fused.out;
        i += fused.count;
      } else {
        next = modules[i++]!.call(out);
      }
      const plain = modules.slice(start, i).every(keepsNoReference);
      if (start > 0 && fuse) {
        // Inference: the activation just consumed is dead (graph_owned.ts).
        recycleConsumed(out, outByPlain, plain, x, next);
      } else if (start > 0) {
        steps.push(out);
        producedByPlain.push(outByPlain);
        consumedByPlain.push(plain);
      }
      out = next;
      outByPlain = plain;
    }
    if (!fuse) handIntermediatesToGraph(steps, producedByPlain, consumedByPlain, x, out);
    return out;
  }

  /** For graph_owned.ts: a chain keeps nothing itself, so it is as safe as its children. */
  keepsNoReference(): boolean {
    return childrenKeepNoReference(this);
  }
}

/** A list of modules, indexed like an array. Has no forward of its own. */
export class ModuleList<M extends AnyModule = AnyModule> extends Module<never[], never> {
  private readonly items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  append(module: M): this {
    this.registerModule(String(this.items.length), module);
    this.items.push(module);
    return this;
  }

  get length(): number {
    return this.items.length;
  }

  at(index: number): M {
    const m = this.items[index < 0 ? index + this.items.length : index];
    if (!m) throw new ValueError(`ModuleList.at: index ${index} is out of range for length ${this.length}`);
    return m;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }

  forward(): never {
    throw new NotSupportedError("ModuleList has no forward(); iterate over it in the owner's forward");
  }
}

/** Modules under string keys, in insertion order. Has no forward of its own. */
export class ModuleDict<M extends AnyModule = AnyModule> extends Module<never[], never> {
  private readonly items = new Map<string, M>();

  constructor(modules: Record<string, M> | Iterable<[string, M]> = {}) {
    super();
    const entries = Symbol.iterator in modules ? modules : Object.entries(modules);
    for (const [key, m] of entries as Iterable<[string, M]>) this.set(key, m);
  }

  set(key: string, module: M): this {
    // Re-registering an existing key replaces the module and keeps its position.
    this.registerModule(key, module);
    this.items.set(key, module);
    return this;
  }

  get(key: string): M {
    const m = this.items.get(key);
    if (!m) throw new ValueError(`ModuleDict: no module under key "${key}"`);
    return m;
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  keys(): IterableIterator<string> {
    return this.items.keys();
  }

  entries(): IterableIterator<[string, M]> {
    return this.items.entries();
  }

  get size(): number {
    return this.items.size;
  }

  forward(): never {
    throw new NotSupportedError("ModuleDict has no forward(); look modules up in the owner's forward");
  }
}
