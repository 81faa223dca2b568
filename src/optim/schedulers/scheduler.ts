// The LRScheduler base class (torch.optim.lr_scheduler._LRScheduler): it owns the epoch counter,
// writes each group's new learning rate into the optimizer, and remembers the last values.
// Schedules are computed in the same "chainable" form as PyTorch (from the group's current
// learning rate), so the sequences match PyTorch's to the last bit.
import type { BaseOptions, Optimizer } from "../optimizer.js";
import { ValueError } from "../../errors.js";

/** Any optimizer: schedulers only touch `lr` (and momentum for OneCycleLR). */
export type AnyOptimizer = Optimizer<BaseOptions>;

/** JSON-serialisable scheduler state (the scheduler's fields, without the optimizer). */
export type SchedulerStateDict = Record<string, unknown>;

export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  /** Index of the last step taken (-1 before the initial step the constructor takes). */
  lastEpoch: number;
  /** Each group's initial learning rate. */
  baseLrs: number[];
  protected lastLr: number[] = [];
  protected stepCount = 0;

  /** Subclass constructors set their own fields, then call initialStep() (as PyTorch's super().__init__). */
  constructor(optimizer: AnyOptimizer, lastEpoch = -1) {
    this.optimizer = optimizer;
    optimizer.paramGroups.forEach((group, i) => {
      if (lastEpoch === -1) group.initialLr ??= group.lr;
      else if (group.initialLr === undefined)
        throw new ValueError(
          `${this.constructor.name}: resuming (lastEpoch ${lastEpoch}) needs initialLr in param group ${i}`,
        );
    });
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr!);
    this.lastEpoch = lastEpoch;
  }

  /** The learning rates of the next step, from the groups' current rates (chainable form). */
  protected abstract getLr(): number[];

  /** The learning rates at `lastEpoch` from the base rates alone, where a closed form exists. */
  protected closedFormLr(): number[] | null {
    return null;
  }

  /** Reset the step count and take the first step (PyTorch's _initial_step). */
  initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /**
   * Advance one step and set the groups' learning rates. Passing `epoch` jumps to that epoch
   * (using the closed form when there is one), as SequentialLR does at its milestones.
   */
  step(epoch?: number): void {
    this.stepCount++;
    let values: number[];
    if (epoch === undefined) {
      this.lastEpoch++;
      values = this.getLr();
    } else {
      this.lastEpoch = epoch;
      values = this.closedFormLr() ?? this.getLr();
    }
    this.optimizer.paramGroups.forEach((group, i) => (group.lr = values[i]!));
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The learning rate of each group after the last step. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  protected groupLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): SchedulerStateDict {
    const out: SchedulerStateDict = {};
    for (const [k, v] of Object.entries(this)) if (k !== "optimizer") out[k] = structuredCopy(v);
    return out;
  }

  loadStateDict(state: SchedulerStateDict): void {
    const self = this as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(state)) {
      if (k === "optimizer" || !(k in this)) continue;
      self[k] = structuredCopy(v);
    }
  }
}

/** Deep copy of plain JSON data (numbers, strings, arrays, objects). */
export function structuredCopy<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}
