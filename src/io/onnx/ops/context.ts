// What an op implementation sees: its node's inputs as Values, typed attribute readers with
// ONNX's defaults, the model's opset, and whether the module is training. Every error names the
// op, the node and the opset.
import type { AttrValue, OnnxNode } from "../decode.js";
import { FormatError, NotSupportedError } from "../../../errors.js";
import { toInts, toNumbers, type Value } from "../values.js";
import { MAX_TENSOR_ELEMENTS } from "../tensor-proto.js";

export class OpContext {
  constructor(
    readonly node: OnnxNode,
    readonly inputs: readonly (Value | null)[],
    readonly opset: number,
    readonly training: boolean,
  ) {}

  /** "Conv node "conv1" (opset 13)", the prefix of every message. */
  get where(): string {
    return `${this.node.opType} node "${this.node.name}" (opset ${this.opset})`;
  }

  fail(message: string): FormatError {
    return new FormatError(`${this.where}: ${message}`);
  }

  unsupported(message: string): NotSupportedError {
    return new NotSupportedError(`${this.where}: ${message}`);
  }

  /** Required input i. */
  input(i: number): Value {
    const v = this.inputs[i];
    if (!v) throw this.fail(`input ${i} is required but missing`);
    return v;
  }

  /** Optional input i (null when omitted). */
  optional(i: number): Value | null {
    return this.inputs[i] ?? null;
  }

  /** Is output i requested by the graph? */
  wantsOutput(i: number): boolean {
    return (this.node.outputs[i] ?? "") !== "";
  }

  private attr(name: string, kind: AttrValue["kind"]): AttrValue | undefined {
    const a = this.node.attributes.get(name);
    if (a === undefined) return undefined;
    if (a.kind !== kind) throw this.fail(`attribute "${name}" should be ${kind}, got ${a.kind}`);
    return a;
  }

  has(name: string): boolean {
    return this.node.attributes.has(name);
  }

  int(name: string, fallback: number): number {
    const a = this.attr(name, "int");
    return a ? (a.value as number) : fallback;
  }

  float(name: string, fallback: number): number {
    const a = this.attr(name, "float");
    return a ? (a.value as number) : fallback;
  }

  string(name: string, fallback: string): string {
    const a = this.attr(name, "string");
    return a ? (a.value as string) : fallback;
  }

  ints(name: string): number[] | null {
    const a = this.attr(name, "ints");
    return a ? (a.value as number[]) : null;
  }

  floats(name: string): number[] | null {
    const a = this.attr(name, "floats");
    return a ? (a.value as number[]) : null;
  }

  tensor(name: string): Value | null {
    const a = this.attr(name, "tensor");
    return a ? (a.value as Value) : null;
  }

  /** An integer list given as attribute `name` before `sinceOpset` and as input `index` from then on. */
  intsFromAttrOrInput(name: string, index: number, sinceOpset: number): number[] | null {
    if (this.opset < sinceOpset) return this.ints(name);
    const v = this.optional(index);
    return v ? toInts(v, `${this.where} input ${index} (${name})`) : null;
  }

  /** Integer contents of input i. */
  intsOf(i: number, what: string): number[] {
    return toInts(this.input(i), `${this.where} ${what}`);
  }

  numbersOf(i: number): number[] {
    return toNumbers(this.input(i));
  }

  /**
   * Check a shape this op is about to create (from values in the file, which may be hostile):
   * non-negative integer dims and at most MAX_TENSOR_ELEMENTS elements.
   */
  checkShape(dims: readonly number[], what: string): void {
    let n = 1;
    for (const d of dims) {
      if (!Number.isInteger(d) || d < 0)
        throw this.fail(`${what} [${dims.join(", ")}] has an invalid dimension`);
      n *= d;
    }
    if (n > MAX_TENSOR_ELEMENTS) {
      throw this.fail(
        `${what} [${dims.join(", ")}] would hold ${n} elements, more than the limit of ${MAX_TENSOR_ELEMENTS}`,
      );
    }
  }

  /** Normalise a possibly negative axis against rank. */
  axis(a: number, rank: number): number {
    const n = a < 0 ? a + rank : a;
    if (!Number.isInteger(n) || n < 0 || n >= Math.max(rank, 1)) {
      throw this.fail(`axis ${a} is out of range for rank ${rank}`);
    }
    return n;
  }
}

export type OpImpl = (ctx: OpContext) => (Value | null)[];
