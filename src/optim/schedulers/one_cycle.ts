// OneCycleLR (Smith & Topsakal's 1cycle policy): warm up from maxLr/divFactor to maxLr over
// pctStart of the steps, then anneal to initial/finalDivFactor; momentum (or Adam's beta1) cycles
// the opposite way. threePhase adds a symmetric descent back to the initial rate before the
// final annealing. As PyTorch, it is stepped once per batch, totalSteps times.
import { ValueError } from "../../errors.js";
import { LRScheduler, type AnyOptimizer } from "./scheduler.js";

export interface OneCycleLROptions {
  maxLr: number | number[];
  /** Either totalSteps, or epochs and stepsPerEpoch. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  pctStart?: number;
  annealStrategy?: "cos" | "linear";
  cycleMomentum?: boolean;
  baseMomentum?: number | number[];
  maxMomentum?: number | number[];
  divFactor?: number;
  finalDivFactor?: number;
  threePhase?: boolean;
  lastEpoch?: number;
}

type Anchor = "initialLr" | "maxLr" | "minLr";
type MomentumAnchor = "maxMomentum" | "baseMomentum";
interface Phase {
  endStep: number;
  startLr: Anchor;
  endLr: Anchor;
  startMomentum: MomentumAnchor;
  endMomentum: MomentumAnchor;
}

/** The hyper-parameters OneCycleLR reads and writes in a group. */
interface MomentumGroup {
  lr: number;
  initialLr?: number;
  momentum?: number;
  betas?: [number, number];
}

export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  readonly annealStrategy: "cos" | "linear";
  readonly cycleMomentum: boolean;
  readonly useBeta1: boolean;
  readonly phases: Phase[];
  /** Per group: the learning-rate and momentum anchors of the cycle. */
  maxLrs: number[];
  minLrs: number[];
  maxMomentums: number[];
  baseMomentums: number[];

  constructor(optimizer: AnyOptimizer, options: OneCycleLROptions) {
    super(optimizer, options.lastEpoch);
    const n = optimizer.paramGroups.length;
    if (options.totalSteps !== undefined) {
      if (!(Number.isInteger(options.totalSteps) && options.totalSteps > 0))
        throw new ValueError(`OneCycleLR: totalSteps must be a positive integer, got ${options.totalSteps}`);
      this.totalSteps = options.totalSteps;
    } else if (options.epochs !== undefined && options.stepsPerEpoch !== undefined) {
      if (!(Number.isInteger(options.epochs) && options.epochs > 0))
        throw new ValueError(`OneCycleLR: epochs must be a positive integer, got ${options.epochs}`);
      if (!(Number.isInteger(options.stepsPerEpoch) && options.stepsPerEpoch > 0))
        throw new ValueError(
          `OneCycleLR: stepsPerEpoch must be a positive integer, got ${options.stepsPerEpoch}`,
        );
      this.totalSteps = options.epochs * options.stepsPerEpoch;
    } else {
      throw new ValueError("OneCycleLR: give either totalSteps or (epochs and stepsPerEpoch)");
    }
    const pct = options.pctStart ?? 0.3;
    if (!(pct >= 0 && pct <= 1)) throw new ValueError(`OneCycleLR: pctStart must be in [0, 1], got ${pct}`);
    this.annealStrategy = options.annealStrategy ?? "cos";
    if (this.annealStrategy !== "cos" && this.annealStrategy !== "linear")
      throw new ValueError(
        `OneCycleLR: annealStrategy must be 'cos' or 'linear', got ${String(this.annealStrategy)}`,
      );
    const last = this.totalSteps - 1;
    this.phases = options.threePhase
      ? [
          phase(pct * this.totalSteps - 1, "initialLr", "maxLr", "maxMomentum", "baseMomentum"),
          phase(2 * pct * this.totalSteps - 2, "maxLr", "initialLr", "baseMomentum", "maxMomentum"),
          phase(last, "initialLr", "minLr", "maxMomentum", "maxMomentum"),
        ]
      : [
          phase(pct * this.totalSteps - 1, "initialLr", "maxLr", "maxMomentum", "baseMomentum"),
          phase(last, "maxLr", "minLr", "baseMomentum", "maxMomentum"),
        ];

    const divFactor = options.divFactor ?? 25;
    const finalDivFactor = options.finalDivFactor ?? 1e4;
    const groups = optimizer.paramGroups as unknown as MomentumGroup[];
    this.maxLrs = perGroup("maxLr", options.maxLr, n);
    if ((options.lastEpoch ?? -1) === -1) {
      groups.forEach((g, i) => (g.initialLr = this.maxLrs[i]! / divFactor));
      this.baseLrs = groups.map((g) => g.initialLr!);
    }
    this.minLrs = groups.map((g) => g.initialLr! / finalDivFactor);

    this.cycleMomentum = options.cycleMomentum ?? true;
    this.useBeta1 = "betas" in optimizer.defaults;
    this.maxMomentums = perGroup("maxMomentum", options.maxMomentum ?? 0.95, n);
    this.baseMomentums = perGroup("baseMomentum", options.baseMomentum ?? 0.85, n);
    if (this.cycleMomentum) {
      if (!this.useBeta1 && !("momentum" in optimizer.defaults))
        throw new ValueError("OneCycleLR: optimizer must support momentum with cycleMomentum enabled");
      if ((options.lastEpoch ?? -1) === -1)
        groups.forEach((g, i) => this.setMomentum(g, this.maxMomentums[i]!));
    }
    this.initialStep();
  }

  private setMomentum(group: MomentumGroup, value: number): void {
    if (this.useBeta1) group.betas = [value, group.betas![1]];
    else group.momentum = value;
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === "linear") return (end - start) * pct + start;
    const cosOut = Math.cos(Math.PI * pct) + 1;
    return end + ((start - end) / 2.0) * cosOut;
  }

  protected getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps)
      throw new ValueError(
        `OneCycleLR: tried to step ${stepNum + 1} times; the specified number of total steps is ${this.totalSteps}`,
      );
    const groups = this.optimizer.paramGroups as unknown as MomentumGroup[];
    return groups.map((group, gi) => {
      const anchors = {
        initialLr: group.initialLr!,
        maxLr: this.maxLrs[gi]!,
        minLr: this.minLrs[gi]!,
        maxMomentum: this.maxMomentums[gi]!,
        baseMomentum: this.baseMomentums[gi]!,
      };
      let startStep = 0;
      let lr = group.lr;
      for (const [i, ph] of this.phases.entries()) {
        if (stepNum <= ph.endStep || i === this.phases.length - 1) {
          const pct = (stepNum - startStep) / (ph.endStep - startStep);
          lr = this.anneal(anchors[ph.startLr], anchors[ph.endLr], pct);
          if (this.cycleMomentum)
            this.setMomentum(group, this.anneal(anchors[ph.startMomentum], anchors[ph.endMomentum], pct));
          break;
        }
        startStep = ph.endStep;
      }
      return lr;
    });
  }
}

function phase(
  endStep: number,
  startLr: Anchor,
  endLr: Anchor,
  startMomentum: MomentumAnchor,
  endMomentum: MomentumAnchor,
): Phase {
  return { endStep, startLr, endLr, startMomentum, endMomentum };
}

function perGroup(name: string, value: number | number[], n: number): number[] {
  if (!Array.isArray(value)) return new Array<number>(n).fill(value);
  if (value.length !== n)
    throw new ValueError(`OneCycleLR: expected ${n} values for ${name}, got ${value.length}`);
  return [...value];
}
