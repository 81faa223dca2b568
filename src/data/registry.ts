// Datasets by name, for the CLI's --data flag and configs:
//   fashion-mnist-subset   the subset shipped with nabla (offline)
//   fashion-mnist, mnist   the full datasets (found as described in locate.ts; download on request)
//   cifar10                CIFAR-10 binary batches
//   <directory>            an ImageFolder (one sub-directory per class)
import { existsSync, statSync } from "node:fs";
import { ValueError } from "../errors.js";
import type { ImageArrayDataset } from "./image-array-dataset.js";
import { FashionMNIST, MNIST } from "./mnist.js";
import { CIFAR10 } from "./cifar10.js";
import { ImageFolder, type ImageFolderOptions } from "./image-folder.js";

export const DATASET_NAMES = ["fashion-mnist-subset", "fashion-mnist", "mnist", "cifar10"] as const;

export interface OpenDatasetOptions extends ImageFolderOptions {
  train?: boolean;
  root?: string;
  download?: boolean;
  log?: (message: string) => void;
}

export async function openDataset(name: string, options: OpenDatasetOptions = {}): Promise<ImageArrayDataset> {
  const train = options.train ?? true;
  const where = {
    train,
    ...(options.root !== undefined ? { root: options.root } : {}),
  };
  const fetchOptions = {
    ...where,
    ...(options.download !== undefined ? { download: options.download } : {}),
    ...(options.log ? { log: options.log } : {}),
  };
  switch (name) {
    case "fashion-mnist-subset":
      return new FashionMNIST({ subset: true, train });
    case "fashion-mnist":
      return FashionMNIST.load(fetchOptions);
    case "mnist":
      return MNIST.load(fetchOptions);
    case "cifar10":
      return new CIFAR10(where);
  }
  if (existsSync(name) && statSync(name).isDirectory()) {
    const { train: _t, root: _r, download: _d, log: _l, ...folder } = options;
    return new ImageFolder(name, folder);
  }
  throw new ValueError(`unknown dataset "${name}": use one of ${DATASET_NAMES.join(", ")} or an image-folder directory`);
}
