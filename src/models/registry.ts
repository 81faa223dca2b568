// The model zoo by name, as the CLI spells it: createModel("resnet18", {numClasses: 10}).
import { ValueError } from "../errors.js";
import type { Module } from "../nn/module.js";
import { fmnistCnn } from "./fmnist.js";
import { resnet20, resnet56 } from "./resnet_cifar.js";
import { resnet18, resnet34, resnet50, resnext50_32x4d, resnextCifar } from "./resnet.js";
import { vgg11, vgg11Bn, vgg16, vgg16Bn } from "./vgg.js";
import { densenet121, densenetBc } from "./densenet.js";
import { mobilenetV2 } from "./mobilenetv2.js";

export interface CreateModelOptions {
  numClasses?: number;
  inChannels?: number;
  /** Square input side; only fmnist-cnn's size depends on it (its first Linear). */
  inputSize?: number;
}

export interface ModelInfo {
  name: string;
  description: string;
  /** The [C, H, W] input the model is designed for. */
  defaultInput: [number, number, number];
  defaultNumClasses: number;
}

interface Entry extends ModelInfo {
  build: (o: Required<Pick<CreateModelOptions, "numClasses" | "inChannels">> & CreateModelOptions) => Module;
}

const IMAGENET: [number, number, number] = [3, 224, 224];
const CIFAR: [number, number, number] = [3, 32, 32];

const ENTRIES: Entry[] = [
  {
    name: "fmnist-cnn",
    description: "reference CNN for Fashion-MNIST (2 conv-BN-ReLU-pool blocks, 2 Linear)",
    defaultInput: [1, 28, 28],
    defaultNumClasses: 10,
    build: (o) =>
      fmnistCnn({ numClasses: o.numClasses, inChannels: o.inChannels, inputSize: o.inputSize ?? 28 }),
  },
  {
    name: "resnet20",
    description: "CIFAR ResNet-20",
    defaultInput: CIFAR,
    defaultNumClasses: 10,
    build: resnet20,
  },
  {
    name: "resnet56",
    description: "CIFAR ResNet-56",
    defaultInput: CIFAR,
    defaultNumClasses: 10,
    build: resnet56,
  },
  {
    name: "resnet18",
    description: "torchvision ResNet-18",
    defaultInput: IMAGENET,
    defaultNumClasses: 1000,
    build: resnet18,
  },
  {
    name: "resnet34",
    description: "torchvision ResNet-34",
    defaultInput: IMAGENET,
    defaultNumClasses: 1000,
    build: resnet34,
  },
  {
    name: "resnet50",
    description: "torchvision ResNet-50",
    defaultInput: IMAGENET,
    defaultNumClasses: 1000,
    build: resnet50,
  },
  {
    name: "vgg11",
    description: "torchvision VGG-11",
    defaultInput: IMAGENET,
    defaultNumClasses: 1000,
    build: vgg11,
  },
  {
    name: "vgg11_bn",
    description: "torchvision VGG-11 with BatchNorm",
    defaultInput: IMAGENET,
    defaultNumClasses: 1000,
    build: vgg11Bn,
  },
  {
    name: "vgg16",
    description: "torchvision VGG-16",
    defaultInput: IMAGENET,
    defaultNumClasses: 1000,
    build: vgg16,
  },
  {
    name: "vgg16_bn",
    description: "torchvision VGG-16 with BatchNorm",
    defaultInput: IMAGENET,
    defaultNumClasses: 1000,
    build: vgg16Bn,
  },
  {
    name: "densenet121",
    description: "torchvision DenseNet-121",
    defaultInput: IMAGENET,
    defaultNumClasses: 1000,
    build: densenet121,
  },
  {
    name: "densenet_bc",
    description: "CIFAR DenseNet-BC (L=100, k=12)",
    defaultInput: CIFAR,
    defaultNumClasses: 10,
    build: densenetBc,
  },
  {
    name: "mobilenet_v2",
    description: "torchvision MobileNetV2 (width 1.0)",
    defaultInput: IMAGENET,
    defaultNumClasses: 1000,
    build: mobilenetV2,
  },
  {
    name: "resnext50_32x4d",
    description: "torchvision ResNeXt-50 32×4d",
    defaultInput: IMAGENET,
    defaultNumClasses: 1000,
    build: resnext50_32x4d,
  },
  {
    name: "resnext_cifar",
    description: "small CIFAR ResNeXt (29 layers, 8×4d)",
    defaultInput: CIFAR,
    defaultNumClasses: 10,
    build: resnextCifar,
  },
];

/** Every model name createModel accepts, with what it is and the input it expects. */
export function listModels(): ModelInfo[] {
  return ENTRIES.map(({ build: _build, ...info }) => ({ ...info, defaultInput: [...info.defaultInput] }));
}

function entry(name: string): Entry {
  const e = ENTRIES.find((m) => m.name === name);
  if (!e) {
    throw new ValueError(`unknown model "${name}"; available: ${ENTRIES.map((m) => m.name).join(", ")}`);
  }
  return e;
}

export function modelInfo(name: string): ModelInfo {
  const { build: _build, ...info } = entry(name);
  return info;
}

/** Build a zoo model by name; numClasses and inChannels default to the model's own. */
export function createModel(name: string, options: CreateModelOptions = {}): Module {
  const e = entry(name);
  const numClasses = options.numClasses ?? e.defaultNumClasses;
  const inChannels = options.inChannels ?? e.defaultInput[0];
  for (const [key, v] of [
    ["numClasses", numClasses],
    ["inChannels", inChannels],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new ValueError(`createModel: ${key} must be a positive integer, got ${v}`);
  }
  return e.build({ ...options, numClasses, inChannels });
}
