// The compression pipeline behind `nabla compress`: measure a trained model, compress a copy
// (channel pruning, magnitude pruning, fine-tuning with optional distillation, QAT, BN folding,
// int8 quantization), measure it again, and save it with a before/after report.
//
// Order of the steps (whatever the order of the flags): prune channels → fine-tune → magnitude
// prune → fine-tune with masks → QAT → fold BN / quantize. BN is folded late because the
// fine-tuning steps train better with BN in place.
import { join } from "node:path";
import { mkdirSync, writeFileSync } from "node:fs";
import type { Tensor } from "../tensor/tensor.js";
import type { Module } from "../nn/module.js";
import { crossEntropy } from "../nn/losses.js";
import { DataLoader, transforms } from "../data/index.js";
import { evaluate, fit, type BatchLoader } from "../train/fit.js";
import { restoreModel, restoreModelFromOnnx, type RunMeta } from "../train/restore.js";
import { buildOptimizer, makeLoaders, openData, type DataSetup } from "../train/setup.js";
import { CosineAnnealingLR } from "../optim/index.js";
import { serializeSafetensors } from "../io/safetensors.js";
import { getBackend } from "../backend/registry.js";
import { ValueError } from "../errors.js";
import { summary } from "./summary.js";
import { measureSpeedPair } from "./measure.js";
import { foldBatchNorm, type FoldedPair } from "./fold.js";
import { pruneChannels } from "./prune-channels.js";
import { magnitudePrune, type PruningMasks } from "./sparsity.js";
import { quantizeModel, type CalibrationMethod, type QuantizedLayerSpec } from "./quantize.js";
import { finishQat, prepareQat } from "./qat.js";
import { distillationObjective } from "./distill.js";
import { saveCompressed, type CompressedInfo } from "./compressed-io.js";
import { int8Isa } from "./int8-native.js";
import { reportSvg } from "./report.js";
import { writePlot } from "../train/plots.js";

export interface CompressOptions {
  /** A run folder / checkpoint written by `nabla train` ... */
  checkpoint?: string;
  /** ... or an ONNX file written by `nabla export` (exactly one of the two). */
  onnx?: string;
  data?: string;
  foldBn?: boolean;
  /** Structured pruning ratio (fraction of channels removed). */
  pruneChannels?: number;
  /** Unstructured magnitude-pruning sparsity. */
  prune?: number;
  pruneScope?: "layer" | "global";
  /** Prune in this many steps, fine-tuning after each (iterative schedule). */
  pruneSteps?: number;
  /** Structured pruning also removes hidden Linear units (default true). */
  pruneLinear?: boolean;
  quantize?: "int8";
  calib?: number;
  calibMethod?: CalibrationMethod;
  qat?: number;
  distillFrom?: string;
  temperature?: number;
  alpha?: number;
  /** Fine-tuning epochs after each pruning step. */
  finetune?: number;
  lr?: number;
  batchSize?: number;
  /** Random crop + horizontal flip on the fine-tuning images (as `nabla train --augment`). */
  augment?: boolean;
  seed?: number;
  /** Batch-1 runs for the latency median (0: skip speed measurements). */
  latencyRuns?: number;
  outDir?: string;
  log?: (line: string) => void;
}

export interface ModelReport {
  sizeBytes: number;
  params: number;
  macs: number;
  latencyMs: number | null;
  throughput: number | null;
  accuracy: number;
}

export interface CompressReport {
  model: string;
  backend: string;
  int8Isa: string | null;
  steps: string[];
  before: ModelReport;
  after: ModelReport;
  /** The model measured after each pruning stage (float, without speed figures). */
  stages: { step: string; report: ModelReport }[];
}

function measure(model: Module, data: DataSetup, meta: RunMeta, test: BatchLoader): ModelReport {
  const s = summary(model, meta.input);
  return {
    sizeBytes: serializeSafetensors(Object.fromEntries(model.stateDict())).length,
    params: s.params,
    macs: s.macs,
    latencyMs: null,
    throughput: null,
    accuracy: evaluate(model, test, { numClasses: data.classes.length }).accuracy,
  };
}

export async function compress(options: CompressOptions): Promise<CompressReport> {
  const log = options.log ?? (() => {});
  const batchSize = options.batchSize ?? 64;
  const runs = options.latencyRuns ?? 50;
  if ((options.checkpoint === undefined) === (options.onnx === undefined)) {
    throw new ValueError("compress: give exactly one of a checkpoint and an ONNX file");
  }
  const restore = () =>
    options.onnx !== undefined ? restoreModelFromOnnx(options.onnx) : restoreModel(options.checkpoint!);
  const { model: original, meta } = restore();
  const data = await openData(options.data ?? meta.data, {
    channels: meta.input[0] as 1 | 3,
    size: meta.input[1],
  });
  data.normalization = meta.normalization;
  const { trainLoader, testLoader } = makeLoaders(data, {
    batchSize,
    seed: options.seed ?? 0,
    augment: options.augment ?? false,
  });
  log(`measuring the original model (${meta.model}, ${getBackend().name} backend)`);
  // Speed is measured at the end, the two models side by side (measureSpeedPair).
  const before = measure(original, data, meta, testLoader);

  const model = restore().model;
  const teacher = options.distillFrom ? restoreModel(options.distillFrom).model : null;
  const steps: string[] = [];
  const stages: CompressReport["stages"] = [];
  const finetune = async (epochs: number, masks: PruningMasks | null) => {
    if (epochs <= 0) return;
    const params = [...model.parameters()];
    const sgd = buildOptimizer("sgd", params, { lr: options.lr ?? 0.01, momentum: 0.9, weightDecay: 0 });
    const optimizer = masks ? masks.wrapOptimizer(sgd) : sgd;
    // Anneal the LR to 0 over the fine-tuning (per batch): the pruned model settles into a
    // minimum instead of ending on a full-size step.
    const scheduler = new CosineAnnealingLR(sgd, { tMax: Math.max(1, epochs * trainLoader.length) });
    const objective = teacher
      ? distillationObjective(teacher, {
          ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
          ...(options.alpha !== undefined ? { alpha: options.alpha } : {}),
        })
      : { lossFn: (l: Tensor, t: Tensor) => crossEntropy(l, t) };
    await fit({
      model,
      optimizer,
      scheduler,
      schedulerInterval: "batch",
      ...objective,
      trainLoader,
      testLoader,
      epochs,
      numClasses: data.classes.length,
      progress: "line",
    });
  };
  const nSteps = options.pruneSteps ?? 1;
  if (!Number.isInteger(nSteps) || nSteps < 1) throw new ValueError(`pruneSteps must be ≥ 1, got ${nSteps}`);
  if (options.pruneChannels) {
    // Each step removes the same share of what is left, reaching the target after nSteps.
    const stepRatio = 1 - Math.pow(1 - options.pruneChannels, 1 / nSteps);
    for (let i = 0; i < nSteps; i++) {
      const r = pruneChannels(model, meta.input, { ratio: stepRatio, linear: options.pruneLinear ?? true });
      log(
        `channel pruning step ${i + 1}/${nSteps}: ${r.groups.length} groups, ratio ${stepRatio.toFixed(3)}`,
      );
      await finetune(options.finetune ?? 0, null);
    }
    steps.push(
      `prune-channels ${options.pruneChannels}` + (options.finetune ? ` + finetune ${options.finetune}` : ""),
    );
    stages.push({ step: steps.at(-1)!, report: measure(model, data, meta, testLoader) });
  }
  if (options.prune) {
    let masks: PruningMasks | null = null;
    for (let i = 1; i <= nSteps; i++) {
      const sparsity = (options.prune * i) / nSteps;
      masks = magnitudePrune(model, { sparsity, scope: options.pruneScope ?? "layer" });
      log(`magnitude pruning step ${i}/${nSteps}: sparsity ${masks.sparsity().toFixed(3)}`);
      await finetune(options.finetune ?? 0, masks);
    }
    steps.push(`prune ${options.prune} (${options.pruneScope ?? "layer"})`);
    stages.push({ step: steps.at(-1)!, report: measure(model, data, meta, testLoader) });
  }
  let folded: FoldedPair[] = [];
  let quantized: QuantizedLayerSpec[] | null = null;
  if (options.qat) {
    folded = prepareQat(model, meta.input);
    log(`quantization-aware training: ${options.qat} epochs`);
    await finetune(options.qat, null);
    finishQat(model);
    steps.push(`qat ${options.qat}`);
  }
  if (options.foldBn || options.quantize) {
    const pairs = foldBatchNorm(model, meta.input);
    folded = [...folded, ...pairs];
    steps.push(`fold-bn (${folded.length} pairs)`);
  }
  if (options.quantize === "int8") {
    const calibCount = options.calib ?? 512;
    const calibLoader = new DataLoader(data.train, {
      batchSize: 64,
      transform: transforms.normalize(meta.normalization.mean, meta.normalization.std),
    });
    const calibration = function* () {
      let seen = 0;
      for (const batch of calibLoader) {
        if (seen >= calibCount) return;
        yield batch.inputs;
        seen += batch.inputs.shape[0]!;
      }
    };
    const r = quantizeModel(model, meta.input, { calibration, method: options.calibMethod ?? "minmax" });
    quantized = r.specs;
    steps.push(
      `quantize int8 (${r.specs.length} layers, calibration ${calibCount} images, ${options.calibMethod ?? "minmax"})`,
    );
  }
  log("measuring the compressed model");
  const after = measure(model, data, meta, testLoader);
  if (runs > 0) {
    const [speedBefore, speedAfter] = measureSpeedPair(original, model, meta.input, { runs });
    before.latencyMs = speedBefore.latencyMs;
    before.throughput = speedBefore.throughput;
    after.latencyMs = speedAfter.latencyMs;
    after.throughput = speedAfter.throughput;
  }
  const report: CompressReport = {
    model: meta.model,
    backend: getBackend().name,
    int8Isa: int8Isa(),
    steps,
    before,
    after,
    stages,
  };
  if (options.outDir) {
    mkdirSync(options.outDir, { recursive: true });
    const info: CompressedInfo = {
      model: meta.model,
      numClasses: meta.classes.length,
      input: meta.input,
      classes: meta.classes,
      normalization: meta.normalization,
      folded,
      quantized,
    };
    saveCompressed(join(options.outDir, "model.safetensors"), model, info);
    writeFileSync(join(options.outDir, "report.json"), JSON.stringify(report, null, 2) + "\n");
    writePlot(join(options.outDir, "report"), reportSvg(report));
  }
  return report;
}
