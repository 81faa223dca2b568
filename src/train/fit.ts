// The training loop: mini-batch gradient descent over epochs, evaluation on held-out data,
// a JSONL log, checkpoints that resume bit for bit, early stopping, and plots at the end.
//
//   for each epoch:   model.train()
//     for each batch: zeroGrad → forward → loss → backward → optimizer.step()
//   evaluate:         model.eval(), forward under noGrad on the test set
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Tensor } from "../tensor/tensor.js";
import { defaultGenerator, type GeneratorState } from "../tensor/random.js";
import { noGrad } from "../autograd/engine.js";
import { NablaError, ValueError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic.js";
import { saveSafetensors } from "../io/safetensors.js";
import { ClassificationMetrics, type ClassificationReport } from "./metrics.js";
import { createProgress, type ProgressMode } from "./progress.js";
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { confusionMatrixSvg, lineChartSvg, writePlot } from "./plots.js";

/** Training diverged (the loss became NaN or infinite). */
export class TrainingDivergedError extends NablaError {}

export interface Batch {
  inputs: Tensor;
  targets: Tensor;
}

/** What fit needs of a data loader: batches for an epoch, and (for exact resume) its state. */
export interface BatchLoader {
  readonly length: number;
  [Symbol.iterator](): Iterator<Batch>;
  /** Preferred when present (lets a loader prepare batches in worker threads). */
  [Symbol.asyncIterator]?(): AsyncIterator<Batch>;
  stateDict?(): unknown;
  loadStateDict?(state: unknown): void;
}

/** What fit needs of a model (nabla's Module provides all of it). */
export interface TrainableModel {
  train(mode?: boolean): unknown;
  eval(): unknown;
  stateDict(): ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;
  loadStateDict(sd: Readonly<Record<string, Tensor>>, options?: { strict?: boolean }): unknown;
}

/** A state dict as a plain object (Module.stateDict() returns a Map). */
export function stateDictRecord(model: TrainableModel): Record<string, Tensor> {
  const sd = model.stateDict();
  return sd instanceof Map ? Object.fromEntries(sd) : { ...(sd as Record<string, Tensor>) };
}

export interface OptimizerLike {
  zeroGrad(): void;
  step(): void;
  stateDict(): unknown;
  loadStateDict(state: never): void;
}

export interface SchedulerLike {
  step(): void;
  stateDict(): unknown;
  loadStateDict(state: never): void;
  getLastLr?(): number[];
}

export type LossFn = (logits: Tensor, targets: Tensor) => Tensor;
export type ForwardFn = (inputs: Tensor) => Tensor;

export interface EpochRecord {
  epoch: number;
  train_loss: number;
  train_acc: number;
  test_loss: number | null;
  test_acc: number | null;
  lr: number | null;
  seconds: number;
  images_per_s: number;
}

export interface FitOptions {
  model: TrainableModel;
  /** Runs the model on a batch (defaults to model.call or model.forward). */
  forward?: ForwardFn;
  optimizer: OptimizerLike;
  scheduler?: SchedulerLike;
  /** Step the scheduler after every batch ("batch", e.g. OneCycleLR) or every epoch (default). */
  schedulerInterval?: "epoch" | "batch";
  lossFn: LossFn;
  trainLoader: BatchLoader;
  testLoader?: BatchLoader;
  epochs: number;
  numClasses: number;
  classNames?: readonly string[];
  /** Folder for log.jsonl, checkpoints, best.safetensors and plots; nothing is written without it. */
  outDir?: string;
  /** Continue from the latest checkpoint in outDir. */
  resume?: boolean;
  progress?: ProgressMode;
  /** Stop when the test accuracy has not improved for this many epochs. */
  earlyStoppingPatience?: number;
  /** Extra JSON state saved in checkpoints (e.g. the model's name and options). */
  meta?: Record<string, unknown>;
  onEpochEnd?: (record: EpochRecord) => void;
  /** Extra term added to the loss (e.g. distillation), given the batch and the model's logits. */
  extraLoss?: (batch: Batch, logits: Tensor) => Tensor | null;
}

export interface FitResult {
  history: EpochRecord[];
  best: { epoch: number; test_acc: number } | null;
  lastReport: ClassificationReport | null;
  stoppedEarly: boolean;
}

function defaultForward(model: TrainableModel): ForwardFn {
  const m = model as unknown as { call?: ForwardFn; forward?: ForwardFn };
  const fn = m.call ?? m.forward;
  if (typeof fn !== "function")
    throw new ValueError("fit: the model has neither call() nor forward(); pass options.forward");
  return fn.bind(model);
}

/** Run the model over a loader in eval mode and collect classification metrics. */
export function evaluate(
  model: TrainableModel,
  loader: Iterable<Batch>,
  options: { numClasses: number; lossFn?: LossFn; forward?: ForwardFn },
): ClassificationReport {
  const forward = options.forward ?? defaultForward(model);
  model.eval();
  const metrics = new ClassificationMetrics(options.numClasses, options.numClasses >= 5 ? [1, 5] : [1]);
  noGrad(() => {
    for (const batch of loader) {
      const logits = forward(batch.inputs);
      const loss = options.lossFn ? options.lossFn(logits, batch.targets).item() : undefined;
      metrics.update(logits, batch.targets, loss);
    }
  });
  return metrics.report();
}

/** Share of rows whose argmax equals the target. */
function batchAccuracy(logits: Tensor, targets: Tensor): number {
  const c = logits.shape[1]!;
  const s = logits.contiguous().data;
  const t = targets.data;
  let hits = 0;
  for (let i = 0; i < t.length; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (s[i * c + j]! > s[i * c + best]!) best = j;
    if (best === t[i]) hits++;
  }
  return t.length ? hits / t.length : 0;
}

interface RunState {
  optimizer: unknown;
  scheduler: unknown;
  rng: GeneratorState;
  loader: unknown;
  history: EpochRecord[];
  best: { epoch: number; test_acc: number } | null;
  meta: Record<string, unknown>;
}

export async function fit(options: FitOptions): Promise<FitResult> {
  const { model, optimizer, scheduler, lossFn, trainLoader, testLoader, epochs, outDir } = options;
  if (!Number.isInteger(epochs) || epochs < 1)
    throw new ValueError(`fit: epochs must be a positive integer, got ${epochs}`);
  const forward = options.forward ?? defaultForward(model);
  const progress = createProgress(options.progress ?? "auto");
  const logPath = outDir ? join(outDir, "log.jsonl") : null;
  if (outDir) mkdirSync(outDir, { recursive: true });

  let history: EpochRecord[] = [];
  let best: FitResult["best"] = null;
  let startEpoch = 1;
  if (options.resume) {
    if (!outDir) throw new ValueError("fit: resume needs outDir");
    if (hasCheckpoint(outDir)) {
      const ckpt = loadCheckpoint(outDir);
      const state = ckpt.state as RunState;
      model.loadStateDict(ckpt.weights, { strict: true });
      optimizer.loadStateDict(state.optimizer as never);
      if (scheduler && state.scheduler !== null) scheduler.loadStateDict(state.scheduler as never);
      defaultGenerator.setState(state.rng);
      if (trainLoader.loadStateDict && state.loader !== null) trainLoader.loadStateDict(state.loader);
      history = state.history;
      best = state.best;
      startEpoch = ckpt.epoch + 1;
      // The log may hold epochs run after this checkpoint (a crash mid-epoch): drop them.
      if (logPath) writeFileAtomic(logPath, history.map((r) => JSON.stringify(r) + "\n").join(""));
    }
  } else if (logPath && existsSync(logPath)) {
    writeFileAtomic(logPath, "");
  }

  let lastReport: ClassificationReport | null = null;
  let stoppedEarly = false;
  const currentLr = () => scheduler?.getLastLr?.()[0] ?? readLr(optimizer);

  for (let epoch = startEpoch; epoch <= epochs; epoch++) {
    model.train();
    const started = performance.now();
    let lossSum = 0;
    let accSum = 0;
    let seen = 0;
    let batchIndex = 0;
    progress.startEpoch(epoch, epochs, trainLoader.length);
    const batches: AsyncIterable<Batch> | Iterable<Batch> = trainLoader[Symbol.asyncIterator]
      ? (trainLoader as AsyncIterable<Batch>)
      : trainLoader;
    for await (const batch of batches) {
      optimizer.zeroGrad();
      const logits = forward(batch.inputs);
      let loss = lossFn(logits, batch.targets);
      const extra = options.extraLoss?.(batch, logits);
      if (extra) loss = loss.add(extra);
      const value = loss.item();
      if (!Number.isFinite(value)) {
        progress.endEpoch(`epoch ${epoch}: loss became ${value} at batch ${batchIndex + 1}`);
        const last = history.length ? history[history.length - 1]!.epoch : null;
        throw new TrainingDivergedError(
          `the loss became ${value} at epoch ${epoch}, batch ${batchIndex + 1}; training stopped. ` +
            (outDir && last !== null
              ? `The last good checkpoint (epoch ${last}) in ${outDir} is intact.`
              : "No checkpoint was written.") +
            " Try a lower learning rate.",
        );
      }
      loss.backward();
      optimizer.step();
      if (scheduler && options.schedulerInterval === "batch") scheduler.step();
      const n = batch.targets.shape[0]!;
      lossSum += value * n;
      accSum += batchAccuracy(logits, batch.targets) * n;
      seen += n;
      batchIndex++;
      const elapsed = (performance.now() - started) / 1000;
      progress.update(batchIndex, {
        loss: lossSum / seen,
        accuracy: accSum / seen,
        imagesPerSecond: seen / elapsed,
      });
    }
    const lr = currentLr();
    if (scheduler && options.schedulerInterval !== "batch") scheduler.step();
    const trainSeconds = (performance.now() - started) / 1000;
    let report: ClassificationReport | null = null;
    if (testLoader) {
      report = evaluate(model, testLoader, { numClasses: options.numClasses, lossFn, forward });
      lastReport = report;
    }
    const record: EpochRecord = {
      epoch,
      train_loss: seen ? lossSum / seen : NaN,
      train_acc: seen ? accSum / seen : NaN,
      test_loss: report ? report.loss : null,
      test_acc: report ? report.accuracy : null,
      lr,
      seconds: (performance.now() - started) / 1000,
      images_per_s: seen / trainSeconds,
    };
    history.push(record);
    progress.endEpoch(
      `epoch ${epoch}/${epochs}  train loss ${record.train_loss.toFixed(4)}  train acc ${(100 * record.train_acc).toFixed(2)}%` +
        (report
          ? `  test loss ${report.loss.toFixed(4)}  test acc ${(100 * report.accuracy).toFixed(2)}%`
          : "") +
        `  ${record.images_per_s.toFixed(0)} img/s  ${record.seconds.toFixed(1)}s`,
    );
    const improved = record.test_acc !== null && (best === null || record.test_acc > best.test_acc);
    if (improved) best = { epoch, test_acc: record.test_acc! };
    if (outDir) {
      if (improved) {
        saveSafetensors(join(outDir, "best.safetensors"), stateDictRecord(model), {
          format: "pt",
          epoch: String(epoch),
        });
      }
      const state: RunState = {
        optimizer: optimizer.stateDict(),
        scheduler: scheduler ? scheduler.stateDict() : null,
        rng: defaultGenerator.getState(),
        loader: trainLoader.stateDict ? trainLoader.stateDict() : null,
        history,
        best,
        meta: options.meta ?? {},
      };
      saveCheckpoint(outDir, { epoch, weights: stateDictRecord(model), state });
      appendFileSync(logPath!, JSON.stringify(record) + "\n");
    }
    options.onEpochEnd?.(record);
    if (
      options.earlyStoppingPatience !== undefined &&
      best !== null &&
      epoch - best.epoch >= options.earlyStoppingPatience
    ) {
      stoppedEarly = true;
      break;
    }
  }

  if (outDir) writeTrainingPlots(outDir, history, lastReport, options.classNames);
  return { history, best, lastReport, stoppedEarly };
}

function readLr(optimizer: OptimizerLike): number | null {
  const groups = (optimizer as unknown as { paramGroups?: { lr?: number }[] }).paramGroups;
  return groups?.[0]?.lr ?? null;
}

/** loss.svg/png, accuracy.svg/png and (with a report) confusion.svg/png in dir. */
export function writeTrainingPlots(
  dir: string,
  history: readonly EpochRecord[],
  report: ClassificationReport | null,
  classNames?: readonly string[],
): void {
  const pick = (f: (r: EpochRecord) => number | null) => history.map((r) => f(r) ?? NaN);
  writePlot(
    join(dir, "loss"),
    lineChartSvg(
      [
        { name: "train", values: pick((r) => r.train_loss) },
        { name: "test", values: pick((r) => r.test_loss) },
      ],
      { title: "Loss", yLabel: "cross-entropy" },
    ),
  );
  writePlot(
    join(dir, "accuracy"),
    lineChartSvg(
      [
        { name: "train", values: pick((r) => 100 * r.train_acc) },
        { name: "test", values: pick((r) => (r.test_acc === null ? null : 100 * r.test_acc)) },
      ],
      { title: "Accuracy", yLabel: "accuracy (%)" },
    ),
  );
  if (report) {
    const names = classNames ?? report.confusion.map((_, i) => String(i));
    writePlot(join(dir, "confusion"), confusionMatrixSvg(report.confusion, names));
  }
}

/** Read a run's log.jsonl back. */
export function readLog(dir: string): EpochRecord[] {
  const path = join(dir, "log.jsonl");
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as EpochRecord);
}
