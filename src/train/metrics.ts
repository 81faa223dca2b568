// Classification metrics accumulated over an evaluation: accuracy, top-k accuracy, the
// confusion matrix and per-class precision / recall derived from it.
import type { Tensor } from "../tensor/tensor.js";
import { ShapeError } from "../errors.js";

export interface ClassificationReport {
  accuracy: number;
  topk: Record<string, number>;
  loss: number;
  count: number;
  confusion: number[][];
  precision: number[];
  recall: number[];
}

export class ClassificationMetrics {
  private readonly confusion: number[][];
  private readonly topHits: number[];
  private lossSum = 0;
  private count = 0;

  constructor(
    readonly numClasses: number,
    readonly topk: readonly number[] = [1, 5],
  ) {
    this.confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
    this.topHits = topk.map(() => 0);
  }

  /** Add a batch: logits [B, C], integer targets [B], and the batch's mean loss. */
  update(logits: Tensor, targets: Tensor, meanLoss?: number): void {
    if (
      logits.ndim !== 2 ||
      logits.shape[1] !== this.numClasses ||
      targets.ndim !== 1 ||
      targets.shape[0] !== logits.shape[0]
    ) {
      throw new ShapeError(
        `metrics: expected logits [B, ${this.numClasses}] and targets [B], got [${logits.shape.join(", ")}] and [${targets.shape.join(", ")}]`,
      );
    }
    const b = logits.shape[0]!;
    const c = this.numClasses;
    const scores = logits.contiguous().data;
    const labels = targets.data;
    for (let i = 0; i < b; i++) {
      const row = i * c;
      const label = labels[i]!;
      const own = scores[row + label]!;
      // Rank of the true class = number of classes scoring strictly higher (ties favour it).
      let higher = 0;
      let best = 0;
      for (let j = 0; j < c; j++) {
        const v = scores[row + j]!;
        if (v > own) higher++;
        if (v > scores[row + best]!) best = j;
      }
      this.confusion[label]![best]!++;
      this.topk.forEach((k, t) => {
        if (higher < k) this.topHits[t]!++;
      });
    }
    if (meanLoss !== undefined) this.lossSum += meanLoss * b;
    this.count += b;
  }

  report(): ClassificationReport {
    const k = this.numClasses;
    const correct = this.confusion.reduce((s, row, i) => s + row[i]!, 0);
    const precision: number[] = [];
    const recall: number[] = [];
    for (let i = 0; i < k; i++) {
      const predicted = this.confusion.reduce((s, row) => s + row[i]!, 0);
      const actual = this.confusion[i]!.reduce((a, b) => a + b, 0);
      precision.push(predicted ? this.confusion[i]![i]! / predicted : 0);
      recall.push(actual ? this.confusion[i]![i]! / actual : 0);
    }
    const topk: Record<string, number> = {};
    this.topk.forEach((kk, t) => (topk[`top${kk}`] = this.count ? this.topHits[t]! / this.count : 0));
    return {
      accuracy: this.count ? correct / this.count : 0,
      topk,
      loss: this.count ? this.lossSum / this.count : NaN,
      count: this.count,
      confusion: this.confusion.map((r) => [...r]),
      precision,
      recall,
    };
  }
}
