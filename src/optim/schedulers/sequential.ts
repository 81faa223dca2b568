// SequentialLR: hand the optimizer from one scheduler to the next at milestone steps — e.g. a
// LinearLR warmup followed by CosineAnnealingLR. Mirrors torch's SequentialLR, including the
// restart of each later scheduler at epoch 0 when its milestone is reached.
import { ValueError } from "../../errors.js";
import { LRScheduler, structuredCopy, type AnyOptimizer, type SchedulerStateDict } from "./scheduler.js";

export class SequentialLR extends LRScheduler {
  readonly schedulers: LRScheduler[];
  readonly milestones: number[];

  constructor(
    optimizer: AnyOptimizer,
    options: { schedulers: LRScheduler[]; milestones: number[]; lastEpoch?: number },
  ) {
    super(optimizer, -1);
    const { schedulers, milestones } = options;
    if (schedulers.length === 0) throw new ValueError("SequentialLR: needs at least one scheduler");
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer)
        throw new ValueError(`SequentialLR: scheduler ${i} belongs to a different optimizer`);
    });
    if (milestones.length !== schedulers.length - 1)
      throw new ValueError(
        `SequentialLR: expected ${schedulers.length - 1} milestones for ${schedulers.length} schedulers, got ${milestones.length}`,
      );
    this.schedulers = schedulers;
    this.milestones = [...milestones];
    this.lastEpoch = (options.lastEpoch ?? -1) + 1;
    // Undo the initial steps the schedulers took when they were built, then start the first.
    for (const g of optimizer.paramGroups) g.lr = g.initialLr!;
    for (const s of schedulers) s.lastEpoch -= 1;
    schedulers[0]!.initialStep();
    this.lastLr = schedulers[0]!.getLastLr();
  }

  protected getLr(): number[] {
    return this.groupLrs();
  }

  override step(): void {
    this.lastEpoch++;
    const idx = this.milestones.filter((m) => m <= this.lastEpoch).length;
    const scheduler = this.schedulers[idx]!;
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) scheduler.step(0);
    else scheduler.step();
    this.lastLr = scheduler.getLastLr();
  }

  override stateDict(): SchedulerStateDict {
    const out: SchedulerStateDict = {};
    for (const [k, v] of Object.entries(this))
      if (k !== "optimizer" && k !== "schedulers") out[k] = structuredCopy(v);
    out.schedulers = this.schedulers.map((s) => s.stateDict());
    return out;
  }

  override loadStateDict(state: SchedulerStateDict): void {
    const { schedulers, ...rest } = state as SchedulerStateDict & { schedulers?: SchedulerStateDict[] };
    super.loadStateDict(rest);
    schedulers?.forEach((s, i) => this.schedulers[i]?.loadStateDict(s));
  }
}
