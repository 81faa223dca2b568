// The model zoo (`nabla/models`): torchvision architectures with torchvision's state-dict keys,
// the CIFAR ResNets and the reference Fashion-MNIST CNN, plus a registry by name.
// Inference plans (nn/plan.ts) hook into Module.call when that file is loaded. The package entry
// loads it through nn/index.ts; a program that reaches the zoo by another path (the CLI) must get
// the same planned batch-1 calls, so the zoo loads it too.
import "../nn/plan.js";
export { FmnistCNN, fmnistCnn, type FmnistCnnOptions } from "./fmnist.js";
export { CifarResNet, CifarBasicBlock, resnet20, resnet56, type CifarResNetOptions } from "./resnet_cifar.js";
export {
  ResNet,
  BasicBlock,
  Bottleneck,
  resnet18,
  resnet34,
  resnet50,
  resnext50_32x4d,
  resnextCifar,
  type ResNetOptions,
  type ResNetConfig,
} from "./resnet.js";
export { VGG, VGG_CFGS, vgg11, vgg11Bn, vgg16, vgg16Bn, type VggOptions } from "./vgg.js";
export {
  DenseNet,
  DenseBlock,
  DenseLayer,
  Transition,
  densenet121,
  densenetBc,
  type DenseNetOptions,
  type DenseNetBcOptions,
  type DenseNetConfig,
} from "./densenet.js";
export {
  MobileNetV2,
  InvertedResidual,
  Conv2dNormActivation,
  mobilenetV2,
  makeDivisible,
  type MobileNetV2Options,
} from "./mobilenetv2.js";
export { createModel, listModels, modelInfo, type CreateModelOptions, type ModelInfo } from "./registry.js";
