// Reverse-mode automatic differentiation on a define-by-run tape.
//
// Every differentiable op that runs while grad mode is on and sees an input that requires grad
// attaches a GradNode to its output: the op's name, its inputs, and its gradient rule — a
// closure that maps the output's gradient to its inputs' gradients using ordinary tensor ops.
// Because rules are tensor ops, running them with grad mode on (createGraph) records a new graph,
// so derivatives of derivatives come for free. Gradients arrive in the output's (broadcast)
// shape; the engine sums them back to each input's shape once, here, never inside a rule.
import { AutogradError } from "../errors.js";
import type { Tensor } from "../tensor/tensor.js";
import type { TypedArray } from "../tensor/dtype.js";
import { shapesEqual } from "../tensor/shape.js";
import { sumToShape } from "./ops/reduce.js";
import { add } from "./ops/elementwise.js";
import { GradientLedger } from "./recycle.js";

/** Maps the gradient of an op's output to the gradients of its inputs (null: no gradient). */
export type GradientRule = (gradOutput: Tensor) => (Tensor | null)[];

export class GradNode {
  /** Set by Tensor.retainGrad(): this node's output also keeps its .grad. */
  retained: Tensor | null = null;
  /**
   * Storage that only the graph references (see ownByGraph): once this node's backward has run
   * and released its saved tensors, backward() recycles it.
   */
  owned: TypedArray[] | null = null;

  constructor(
    readonly name: string,
    readonly inputs: readonly Tensor[],
    public rule: GradientRule | null,
  ) {}

  get released(): boolean {
    return this.rule === null;
  }
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run `fn` without recording any graph (like torch.no_grad). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/** Run `fn` with recording on, even inside noGrad (like torch.enable_grad). */
export function enableGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/**
 * Attach the gradient rule of op `name` to `output` if any input requires grad. Returns output.
 * This is the only way a node enters the tape.
 */
export function record(name: string, inputs: readonly Tensor[], output: Tensor, rule: GradientRule): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    output.requiresGrad = true;
    output.gradFn = new GradNode(name, inputs, rule);
  }
  return output;
}

/**
 * Declares that nothing outside the graph references `storage` (an op's internal saved tensor,
 * or an activation passed between built-in layers that keep no reference to it), so that once
 * `node`'s backward has run, a backward() that frees the graph may reuse the memory. `node` must
 * be the op that produced the storage: every other user of it is downstream of that op and has
 * run its backward first. No-op without a node.
 */
export function ownByGraph(node: GradNode | null, storage: TypedArray): void {
  if (node === null) return;
  (node.owned ??= []).push(storage);
}

export interface GradOptions {
  /** Gradients of the outputs (required for non-scalar outputs). */
  gradOutputs?: readonly (Tensor | null)[];
  /** Keep the graph's saved tensors so backward can run through it again. */
  retainGraph?: boolean;
  /** Record the backward computation itself, for higher-order derivatives. */
  createGraph?: boolean;
  /** Return null (instead of throwing) for inputs the outputs do not depend on. */
  allowUnused?: boolean;
}

/**
 * Gradients of the sum of `outputs` (weighted by gradOutputs) with respect to `inputs`, like
 * torch.autograd.grad. Leaves' .grad fields are not touched.
 */
export function grad(
  outputs: Tensor | readonly Tensor[],
  inputs: Tensor | readonly Tensor[],
  options: GradOptions = {},
): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? (outputs as readonly Tensor[]) : [outputs as Tensor];
  const ins = Array.isArray(inputs) ? (inputs as readonly Tensor[]) : [inputs as Tensor];
  for (const [i, t] of ins.entries()) {
    if (!t.requiresGrad) throw new AutogradError(`grad: input ${i} does not require grad`);
  }
  const result = run(outs, options, ins);
  return ins.map((t, i) => {
    const g = result.get(t) ?? null;
    if (g === null && !options.allowUnused) {
      throw new AutogradError(
        `grad: input ${i} appears to not have been used in the graph; pass allowUnused: true if this is intended`,
      );
    }
    return g;
  });
}

/** Accumulate gradients of `outputs` into the .grad of every leaf that requires grad. */
export function backward(outputs: Tensor | readonly Tensor[], options: GradOptions = {}): void {
  const outs = Array.isArray(outputs) ? (outputs as readonly Tensor[]) : [outputs as Tensor];
  run(outs, options, null);
}

/**
 * The engine. With `targets` null, accumulates into leaves' .grad (backward); otherwise returns
 * the total gradient reaching each target tensor (grad) and skips parts of the graph that
 * cannot reach any target.
 */
function run(
  outputs: readonly Tensor[],
  options: GradOptions,
  targets: readonly Tensor[] | null,
): Map<Tensor, Tensor> {
  const createGraph = options.createGraph ?? false;
  const retainGraph = options.retainGraph ?? createGraph;
  const seeds = outputs.map((out, i) => seedGradient(out, options.gradOutputs?.[i] ?? null, i));

  const targetLeaves = new Set(targets?.filter((t) => t.gradFn === null));
  const targetNodes = new Map<GradNode, Tensor>();
  for (const t of targets ?? []) if (t.gradFn) targetNodes.set(t.gradFn, t);

  const order = topologicalOrder(outputs.map((o) => o.gradFn).filter((n): n is GradNode => n !== null));
  // For grad(): a node is needed when it is a target or some input path leads to a target.
  let needed: Set<GradNode> | null = null;
  if (targets !== null) {
    needed = new Set();
    for (const node of order) {
      if (
        targetNodes.has(node) ||
        node.inputs.some((t) => (t.gradFn ? needed!.has(t.gradFn) : targetLeaves.has(t)))
      ) {
        needed.add(node);
      }
    }
  }

  // backward() without createGraph recycles the gradient buffers it allocates once they are dead
  // (see recycle.ts); grad() returns gradients to the caller and keeps every buffer.
  const ledger = targets === null && !createGraph ? new GradientLedger() : null;
  const nodeGrads = new Map<GradNode, Tensor>();
  const leafGrads = new Map<Tensor, Tensor>();
  const accumulate = (t: Tensor, g: Tensor) => {
    const grads: Map<unknown, Tensor> | null = t.gradFn ? nodeGrads : t.requiresGrad ? leafGrads : null;
    if (grads === null) return;
    const key = t.gradFn ?? t;
    const prev = grads.get(key);
    const total = prev ? add(prev, g) : g;
    grads.set(key, total);
    ledger?.hold(total);
    if (prev) {
      ledger?.release(prev);
      ledger?.discard(g);
    }
  };

  const mode = createGraph ? enableGrad : noGrad;
  try {
    mode(() => {
      outputs.forEach((out, i) => accumulate(out, seeds[i]!));
      // `order` lists inputs before outputs; walk it backwards, from the outputs to the leaves.
      for (let k = order.length - 1; k >= 0; k--) {
        const node = order[k]!;
        const g = nodeGrads.get(node);
        if (g === undefined || (needed !== null && !needed.has(node))) continue;
        if (node.retained) {
          node.retained.grad = createGraph ? g : g.detach();
          ledger?.escape(g);
        }
        if (node.rule === null) {
          throw new AutogradError(
            `backward through ${node.name} a second time: its saved tensors were freed after the first ` +
              `backward; pass retainGraph: true to the first call if you need to backward twice`,
          );
        }
        const inputGrads = node.rule(g);
        if (!retainGraph) {
          node.rule = null;
          if (node.owned && ledger) {
            for (const storage of node.owned) ledger.recycleOwned(storage, nodeGrads, leafGrads);
          }
          node.owned = null;
        }
        node.inputs.forEach((input, i) => {
          const gi = inputGrads[i];
          if (!gi || !input.requiresGrad) return;
          if (shapesEqual(gi.shape, input.shape)) return accumulate(input, gi);
          accumulate(input, sumToShape(gi, input.shape));
          ledger?.discard(gi);
        });
        // This node's gradient is consumed: its buffer is free unless an input's gradient is a
        // view of it (the rule of an add or a reshape passes it through).
        if (ledger) {
          nodeGrads.delete(node);
          ledger.release(g);
        }
      }
    });
  } finally {
    ledger?.close();
  }

  if (targets !== null) {
    const result = new Map<Tensor, Tensor>();
    for (const t of targets) {
      const g = t.gradFn ? nodeGrads.get(t.gradFn) : leafGrads.get(t);
      if (g) result.set(t, createGraph ? g : g.detach());
    }
    return result;
  }
  for (const [leaf, g] of leafGrads) {
    const gNew = createGraph ? g : g.detach();
    if (leaf.grad === null) {
      ledger?.escape(g);
      leaf.grad = gNew;
    } else {
      leaf.grad = createGraph ? add(leaf.grad, gNew) : noGrad(() => add(leaf.grad!, gNew));
      ledger?.release(g);
    }
  }
  return leafGrads;
}

function seedGradient(out: Tensor, given: Tensor | null, index: number): Tensor {
  if (!out.requiresGrad) {
    throw new AutogradError(`output ${index} does not require grad and has no grad_fn`);
  }
  if (given !== null) {
    if (!shapesEqual(given.shape, out.shape)) {
      throw new AutogradError(
        `gradOutputs[${index}] has shape [${given.shape.join(", ")}] but output ${index} has shape [${out.shape.join(", ")}]`,
      );
    }
    return given;
  }
  if (out.numel !== 1) {
    throw new AutogradError(
      `grad can be implicitly created only for scalar outputs; output ${index} has shape [${out.shape.join(", ")}], pass gradOutputs`,
    );
  }
  return out.onesLike();
}

/**
 * Nodes reachable from `roots`, each after all nodes it depends on (inputs first). Iterative
 * depth-first search: a graph of millions of ops must not overflow the JS stack.
 */
export function topologicalOrder(roots: readonly GradNode[]): GradNode[] {
  const order: GradNode[] = [];
  const visited = new Set<GradNode>();
  const stack: [GradNode, number][] = [];
  for (const root of roots) {
    if (visited.has(root)) continue;
    visited.add(root);
    stack.push([root, 0]);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [node, next] = top;
      if (next < node.inputs.length) {
        top[1] = next + 1;
        const child = node.inputs[next]!.gradFn;
        if (child && !visited.has(child)) {
          visited.add(child);
          stack.push([child, 0]);
        }
      } else {
        stack.pop();
        order.push(node);
      }
    }
  }
  return order;
}
