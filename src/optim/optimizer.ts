// The Optimizer base class: parameter groups with their own hyper-parameters, per-parameter
// state, zeroGrad, step, and a JSON-serialisable stateDict keyed by parameter index (like
// PyTorch's). Subclasses supply only the per-parameter update, written as a tight loop over the
// parameter's storage so a training step allocates no tensors.
import type { Tensor } from "../tensor/tensor.js";
import { zeros } from "../tensor/creation.js";
import { isFloating } from "../tensor/dtype.js";
import { enableGrad, noGrad } from "../autograd/engine.js";
import { DTypeError, FormatError, ValueError } from "../errors.js";

/** Float storage an update loop reads and writes. */
export type FloatArray = Float32Array | Float64Array;

/** Hyper-parameters every optimizer has. */
export interface BaseOptions {
  lr: number;
}

/** A parameter group: its parameters and its own copy of every hyper-parameter. */
export type ParamGroup<O extends BaseOptions> = O & {
  params: Tensor[];
  /** The learning rate a scheduler started from (set by the first scheduler attached). */
  initialLr?: number;
};

/** What a group is built from: parameters plus any hyper-parameters that override the defaults. */
export type ParamGroupInput<O extends BaseOptions> = { params: Iterable<Tensor> } & Partial<O>;

/** Parameters (one group with the defaults) or a list of groups. */
export type ParamsInput<O extends BaseOptions> = Iterable<Tensor> | readonly ParamGroupInput<O>[];

/** Per-parameter state: a step counter and float buffers the size of the parameter. */
export type ParamState = Record<string, number | FloatArray>;

/** JSON form of a group: hyper-parameters plus the indices of its parameters. */
export type GroupStateDict = Record<string, unknown> & { params: number[] };

/** JSON-serialisable optimizer state: buffers as plain number arrays, keyed by parameter index. */
export interface OptimizerStateDict {
  state: Record<string, Record<string, number | number[]>>;
  paramGroups: GroupStateDict[];
}

/** Rounds a double to the parameter's precision: float32 update loops round at every op. */
export type Round = (x: number) => number;
const identity: Round = (x) => x;
export function rounding(t: Tensor): Round {
  return t.dtype === "float32" ? Math.fround : identity;
}

export abstract class Optimizer<O extends BaseOptions = BaseOptions> {
  readonly defaults: Readonly<O>;
  readonly paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state, created lazily on a parameter's first step. */
  readonly state = new Map<Tensor, ParamState>();

  constructor(params: ParamsInput<O>, defaults: O) {
    this.defaults = Object.freeze({ ...defaults });
    this.validate(defaults);
    const list = [...(params as Iterable<Tensor | ParamGroupInput<O>>)];
    if (list.length === 0) throw new ValueError(`${this.name}: optimizer got an empty parameter list`);
    const isGroups = list.every((p) => !isTensorLike(p));
    if (isGroups) for (const g of list as ParamGroupInput<O>[]) this.addParamGroup(g);
    else this.addParamGroup({ params: list as Tensor[] } as unknown as ParamGroupInput<O>);
  }

  protected get name(): string {
    return this.constructor.name;
  }

  /** Add a group of parameters with hyper-parameters (missing ones come from the defaults). */
  addParamGroup(group: ParamGroupInput<O>): void {
    const params = [...group.params];
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    for (const [i, p] of params.entries()) {
      if (!isTensorLike(p)) throw new ValueError(`${this.name}: params[${i}] is not a Tensor`);
      if (!isFloating(p.dtype))
        throw new DTypeError(`${this.name}: can only optimize floating point tensors, got ${p.dtype}`);
      if (!p.isLeaf) throw new ValueError(`${this.name}: can't optimize a non-leaf tensor (params[${i}])`);
      if (!p.isContiguous)
        throw new ValueError(`${this.name}: params[${i}] must be contiguous (a Parameter always is)`);
      if (seen.has(p)) throw new ValueError(`${this.name}: some parameters appear in more than one group`);
      seen.add(p);
    }
    const merged = { ...this.defaults } as Record<string, unknown>;
    for (const [k, v] of Object.entries(group))
      if (k !== "params" && v !== undefined) merged[k] = copyValue(v);
    this.validate(merged as unknown as O);
    this.paramGroups.push({ ...(merged as O), params });
  }

  /** Check hyper-parameters; throws a ValueError naming the bad one. */
  protected abstract validate(options: O): void;

  /** Update one parameter from its gradient (contiguous storage from `gOffset`), in place. */
  protected abstract update(p: Tensor, grad: FloatArray, gOffset: number, group: ParamGroup<O>): void;

  /**
   * One optimization step over every parameter that has a gradient. The optional closure
   * re-evaluates the model and returns the loss (run with grad mode on); step returns its value.
   */
  step(closure?: () => Tensor | number): number | undefined {
    let loss: number | undefined;
    if (closure) {
      const l = enableGrad(closure);
      loss = typeof l === "number" ? l : l.item();
    }
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          const g = p.grad;
          if (g === null) continue;
          if (g.numel !== p.numel)
            throw new ValueError(
              `${this.name}: gradient has ${g.numel} elements but its parameter has ${p.numel}`,
            );
          // Gradients can be broadcast views (stride 0); those are read through a copy.
          const contiguous = g.isContiguous && g.dtype === p.dtype;
          const data = (contiguous ? g.storage : g.to(p.dtype).data) as FloatArray;
          this.update(p, data, contiguous ? g.offset : 0, group);
        }
      }
    });
    return loss;
  }

  /** Clear every parameter's gradient: to null (default, like PyTorch 2) or to zeros. */
  zeroGrad(options: { setToNone?: boolean } = {}): void {
    const setToNone = options.setToNone ?? true;
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (p.grad === null) continue;
        // A fresh tensor, never an in-place fill: gradients may share storage with other tensors.
        p.grad = setToNone ? null : zeros(p.shape, { dtype: p.dtype });
      }
    }
  }

  /** The state buffer `key` of `p`, created (zero-filled, the parameter's dtype) on first use. */
  protected buffer(state: ParamState, key: string, p: Tensor): FloatArray {
    let b = state[key];
    if (b === undefined || typeof b === "number") {
      b = p.dtype === "float64" ? new Float64Array(p.numel) : new Float32Array(p.numel);
      state[key] = b;
    }
    return b;
  }

  protected stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (!s) {
      s = {};
      this.state.set(p, s);
    }
    return s;
  }

  /** Hyper-parameters and state, JSON-serialisable (buffers become number arrays). */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((group) => {
      const packed: GroupStateDict = { params: [] };
      for (const [k, v] of Object.entries(group)) if (k !== "params") packed[k] = copyValue(v);
      for (const p of group.params) {
        index.set(p, index.size);
        packed.params.push(index.size - 1);
      }
      return packed;
    });
    const state: OptimizerStateDict["state"] = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      const entry: Record<string, number | number[]> = {};
      for (const [k, v] of Object.entries(s)) entry[k] = typeof v === "number" ? v : Array.from(v);
      state[String(i)] = entry;
    }
    return { state, paramGroups };
  }

  /** Restore hyper-parameters and state saved by stateDict() (same parameter layout). */
  loadStateDict(sd: OptimizerStateDict): void {
    if (!sd || !Array.isArray(sd.paramGroups) || typeof sd.state !== "object" || sd.state === null)
      throw new FormatError(`${this.name}.loadStateDict: expected {state, paramGroups}`);
    if (sd.paramGroups.length !== this.paramGroups.length)
      throw new ValueError(
        `${this.name}.loadStateDict: saved state has ${sd.paramGroups.length} parameter groups, optimizer has ${this.paramGroups.length}`,
      );
    const params: Tensor[] = [];
    sd.paramGroups.forEach((saved, gi) => {
      const group = this.paramGroups[gi]!;
      if (!Array.isArray(saved.params) || saved.params.length !== group.params.length)
        throw new ValueError(
          `${this.name}.loadStateDict: group ${gi} has ${saved.params?.length} saved parameters, optimizer has ${group.params.length}`,
        );
      params.push(...group.params);
    });
    const byIndex = new Map<number, Tensor>();
    sd.paramGroups.forEach((saved) => saved.params.forEach((id) => byIndex.set(id, params[byIndex.size]!)));
    // Validate everything before changing anything.
    const newState = new Map<Tensor, ParamState>();
    for (const [key, entry] of Object.entries(sd.state)) {
      const p = byIndex.get(Number(key));
      if (!p) throw new FormatError(`${this.name}.loadStateDict: state for unknown parameter index ${key}`);
      const s: ParamState = {};
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v === "number") {
          s[k] = v;
          continue;
        }
        const values = v as ArrayLike<number>;
        if (values.length !== p.numel)
          throw new FormatError(
            `${this.name}.loadStateDict: state ${k} of parameter ${key} has ${values.length} values, the parameter has ${p.numel}`,
          );
        s[k] = p.dtype === "float64" ? Float64Array.from(values) : Float32Array.from(values);
      }
      newState.set(p, s);
    }
    sd.paramGroups.forEach((saved, gi) => {
      const group = this.paramGroups[gi]! as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(saved)) if (k !== "params") group[k] = copyValue(v);
    });
    this.state.clear();
    for (const [p, s] of newState) this.state.set(p, s);
  }
}

function isTensorLike(x: unknown): x is Tensor {
  return typeof x === "object" && x !== null && "storage" in x && "shape" in x && "dtype" in x;
}

/** Copy a hyper-parameter value so groups and saved dicts never share arrays (betas). */
function copyValue<T>(v: T): T {
  return (Array.isArray(v) ? [...(v as unknown[])] : v) as T;
}
