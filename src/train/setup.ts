// The pieces `nabla train`, `eval` and `predict` assemble from names: a dataset and its
// normalisation, data loaders, a zoo model sized for the data, an optimizer. Kept here (not in
// the CLI) so scripts can build exactly what the CLI builds.
import {
  openDataset,
  DataLoader,
  transforms,
  type ImageArrayDataset,
  type OpenDatasetOptions,
} from "../data/index.js";
import { createModel, modelInfo } from "../models/registry.js";
import type { Module } from "../nn/module.js";
import { SGD, Adam, AdamW, CosineAnnealingLR, StepLR, OneCycleLR } from "../optim/index.js";
import type { Parameter } from "../nn/parameter.js";
import { ValueError } from "../errors.js";

export interface Normalization {
  mean: number[];
  std: number[];
}

/** Channel statistics of the training sets (the usual published values). */
const NORMALIZATION: Record<string, Normalization> = {
  "fashion-mnist": { mean: [0.286], std: [0.353] },
  "fashion-mnist-subset": { mean: [0.286], std: [0.353] },
  mnist: { mean: [0.1307], std: [0.3081] },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
};

/** Normalisation for a dataset name; image folders get mean/std measured on their training images. */
export function normalizationFor(name: string, train: ImageArrayDataset): Normalization {
  const known = NORMALIZATION[name];
  if (known) return known;
  const [c, h, w] = train.sampleShape;
  const plane = h * w;
  const sums = new Float64Array(c);
  const squares = new Float64Array(c);
  const images = train.images;
  for (let i = 0; i < train.length; i++) {
    for (let ch = 0; ch < c; ch++) {
      const base = (i * c + ch) * plane;
      for (let k = 0; k < plane; k++) {
        const v = images[base + k]! / 255;
        sums[ch]! += v;
        squares[ch]! += v * v;
      }
    }
  }
  const n = Math.max(1, train.length * plane);
  const mean = Array.from(sums, (s) => s / n);
  const std = Array.from(squares, (s, ch) => Math.sqrt(Math.max(s / n - mean[ch]! ** 2, 1e-12)));
  return { mean, std };
}

export interface DataSetup {
  train: ImageArrayDataset;
  test: ImageArrayDataset;
  normalization: Normalization;
  classes: readonly string[];
  sampleShape: readonly [number, number, number];
}

/**
 * Open a dataset's train and test splits. An image folder must hold train/<class>/… and
 * test/<class>/…; `channels`/`size` bring its images to the model's input.
 */
export async function openData(
  name: string,
  options: {
    root?: string;
    download?: boolean;
    channels?: 1 | 3;
    size?: number;
    log?: (m: string) => void;
  } = {},
): Promise<DataSetup> {
  const common: OpenDatasetOptions = {
    ...(options.root !== undefined ? { root: options.root } : {}),
    ...(options.download !== undefined ? { download: options.download } : {}),
    ...(options.channels !== undefined ? { channels: options.channels } : {}),
    ...(options.size !== undefined ? { size: options.size } : {}),
    ...(options.log ? { log: options.log } : {}),
  };
  let train: ImageArrayDataset;
  let test: ImageArrayDataset;
  if (isBuiltinDataset(name)) {
    train = await openDataset(name, { ...common, train: true });
    test = await openDataset(name, { ...common, train: false });
  } else {
    const { join } = await import("node:path");
    train = await openDataset(join(name, "train"), common);
    // The test split must come out the same size and channel count as the training split.
    const [c, h, w] = train.sampleShape;
    test = await openDataset(join(name, "test"), { ...common, channels: c as 1 | 3, size: [h, w] as never });
    const same =
      test.classes.length === train.classes.length && test.classes.every((k, i) => k === train.classes[i]);
    if (!same) {
      throw new ValueError(
        `${name}: test/ classes [${test.classes.join(", ")}] differ from train/ classes [${train.classes.join(", ")}]`,
      );
    }
  }
  return {
    train,
    test,
    normalization: normalizationFor(name, train),
    classes: train.classes,
    sampleShape: train.sampleShape,
  };
}

export function isBuiltinDataset(name: string): boolean {
  return ["fashion-mnist", "fashion-mnist-subset", "mnist", "cifar10"].includes(name);
}

export interface LoaderOptions {
  batchSize: number;
  seed: number;
  augment?: boolean;
  workers?: number;
}

/** Training loader (shuffled, optionally augmented) and test loader (in order), both normalised. */
export function makeLoaders(
  data: DataSetup,
  options: LoaderOptions,
): { trainLoader: DataLoader; testLoader: DataLoader } {
  const norm = transforms.normalize(data.normalization.mean, data.normalization.std);
  const [, h, w] = data.sampleShape;
  const trainTransform = options.augment
    ? transforms.compose(
        transforms.randomCrop([h, w], Math.max(2, Math.round(h / 8))),
        transforms.randomHorizontalFlip(0.5),
        norm,
      )
    : norm;
  const trainLoader = new DataLoader(data.train, {
    batchSize: options.batchSize,
    shuffle: true,
    seed: options.seed,
    transform: trainTransform,
    numWorkers: options.workers ?? 0,
  });
  const testLoader = new DataLoader(data.test, {
    batchSize: Math.max(options.batchSize, 256),
    transform: norm,
  });
  return { trainLoader, testLoader };
}

/** A zoo model sized for the data (input channels, classes, and fmnist-cnn's input side). */
export function buildModel(
  name: string,
  numClasses: number,
  sampleShape: readonly [number, number, number],
): Module {
  modelInfo(name); // throws a clear error for unknown names
  const [c, h] = sampleShape;
  return createModel(name, { numClasses, inChannels: c, inputSize: h });
}

export type OptimizerName = "sgd" | "adam" | "adamw";

export function buildOptimizer(
  name: string,
  params: Iterable<Parameter>,
  options: { lr: number; momentum: number; weightDecay: number },
): SGD | Adam | AdamW {
  const list = [...params];
  switch (name) {
    case "sgd":
      return new SGD(list, { lr: options.lr, momentum: options.momentum, weightDecay: options.weightDecay });
    case "adam":
      return new Adam(list, { lr: options.lr, weightDecay: options.weightDecay });
    case "adamw":
      return new AdamW(list, { lr: options.lr, weightDecay: options.weightDecay });
    default:
      throw new ValueError(`unknown optimizer "${name}": use sgd, adam or adamw`);
  }
}

export type ScheduleName = "none" | "cosine" | "step" | "onecycle";

/**
 * An LR schedule by name, and whether it steps per batch or per epoch:
 * cosine — anneal to 0 over the run, per epoch (the default of `nabla train`);
 * step — ×0.1 after every third of the run, per epoch;
 * onecycle — PyTorch's OneCycleLR with max LR = --lr, per batch; none — constant.
 */
export function buildScheduler(
  name: string,
  optimizer: SGD | Adam | AdamW,
  epochs: number,
  batchesPerEpoch: number,
  lr: number,
): { scheduler: CosineAnnealingLR | StepLR | OneCycleLR; interval: "epoch" | "batch" } | null {
  switch (name) {
    case "none":
      return null;
    case "cosine":
      return { scheduler: new CosineAnnealingLR(optimizer, { tMax: epochs }), interval: "epoch" };
    case "step":
      return {
        scheduler: new StepLR(optimizer, { stepSize: Math.max(1, Math.ceil(epochs / 3)), gamma: 0.1 }),
        interval: "epoch",
      };
    case "onecycle":
      return {
        scheduler: new OneCycleLR(optimizer, { maxLr: lr, epochs, stepsPerEpoch: batchesPerEpoch }),
        interval: "batch",
      };
    default:
      throw new ValueError(`unknown schedule "${name}": use none, cosine, step or onecycle`);
  }
}
