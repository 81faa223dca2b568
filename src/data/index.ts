// Data: datasets (IDX/MNIST/Fashion-MNIST, CIFAR-10, image folders, tensors), batch transforms and
// the DataLoader. Node-only (reads files, starts worker threads).
export * from "./dataset.js";
export { ImageArrayDataset } from "./image-array-dataset.js";
export { readIdx, parseIdx, encodeIdx, type IdxArray, type IdxType } from "./idx.js";
export {
  MNIST,
  FashionMNIST,
  IdxImageDataset,
  readIdxImageDataset,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_SPEC,
  MNIST_SPEC,
  type MNISTOptions,
  type MNISTLoadOptions,
  type IdxDatasetSpec,
} from "./mnist.js";
export { CIFAR10, CIFAR10_CLASSES, type CIFAR10Options } from "./cifar10.js";
export { ImageFolder, type ImageFolderOptions } from "./image-folder.js";
export { decodeImage, resizeImage, type DecodedImage, type ResizeMode } from "./image-decode.js";
export { TensorDataset, Subset, randomSplit } from "./tensor-dataset.js";
export { cacheDir, type LocateOptions } from "./locate.js";
export { DownloadError, type Resource } from "./download.js";
export * as transforms from "./transforms.js";
export type { BatchTransform, ImageBatch, TransformSpec } from "./transforms.js";
export { DataLoader, defaultCollate, type DataLoaderOptions, type DataLoaderState } from "./dataloader.js";
export { openDataset, DATASET_NAMES, type OpenDatasetOptions } from "./registry.js";
