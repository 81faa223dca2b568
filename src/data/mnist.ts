// MNIST and Fashion-MNIST: 28×28 grayscale images in IDX files, 60,000 for training and 10,000
// for testing, 10 classes. The files are looked up as described in locate.ts (root option,
// $NABLA_DATA, Debian's /usr/share/datasets/fashion-mnist, nabla's cache); they are downloaded
// only when the user asks, with `await FashionMNIST.load({ download: true })`.
//
// `new FashionMNIST({ subset: true })` reads the small subset shipped in the package
// (data/fashion-mnist-subset: 6,000 training and 1,000 test images), so demos and tests run
// offline.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FormatError, ValueError } from "../errors.js";
import { ImageArrayDataset } from "./image-array-dataset.js";
import { readIdx } from "./idx.js";
import { candidateDirs, describeCandidates, findFile, cacheDir, type LocateOptions } from "./locate.js";
import { downloadResource, type Resource } from "./download.js";

export interface MNISTOptions extends LocateOptions {
  /** The training split (default) or the test split. */
  train?: boolean;
  /** Read the subset shipped with nabla instead of the full dataset (Fashion-MNIST only). */
  subset?: boolean;
}

export interface MNISTLoadOptions extends MNISTOptions {
  /** Download the files when they are not found (into `root`, or nabla's cache). */
  download?: boolean;
  /** Override the download mirrors (base URLs, tried in order). */
  mirrors?: readonly string[];
  /** Override the known checksums, by file name (for private mirrors serving other files). */
  checksums?: Readonly<Record<string, { md5?: string; sha256?: string }>>;
  /** Progress messages while downloading. */
  log?: (message: string) => void;
}

/** Everything that differs between MNIST-like datasets. */
export interface IdxDatasetSpec {
  /** Directory name under $NABLA_DATA and the cache: "mnist", "fashion-mnist". */
  name: string;
  /** Human name for messages. */
  title: string;
  systemDirs: readonly string[];
  mirrors: readonly string[];
  /** The four files as served, with their known checksums. */
  resources: Readonly<Record<"trainImages" | "trainLabels" | "testImages" | "testLabels", Resource>>;
  classes: readonly string[];
  /** Directory name of the shipped subset under the package's data/, if there is one. */
  subsetDir?: string;
}

export const FASHION_MNIST_CLASSES = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
] as const;

// The md5 sums are those published by the dataset authors for the files on their servers
// (Debian recompressed its copies, so its .gz files have other sums; its contents are the same).
export const FASHION_MNIST_SPEC: IdxDatasetSpec = {
  name: "fashion-mnist",
  title: "Fashion-MNIST",
  systemDirs: ["/usr/share/datasets/fashion-mnist"],
  mirrors: ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
  resources: {
    trainImages: { file: "train-images-idx3-ubyte.gz", md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d" },
    trainLabels: { file: "train-labels-idx1-ubyte.gz", md5: "25c81989df183df01b3e8a0aad5dffbe" },
    testImages: { file: "t10k-images-idx3-ubyte.gz", md5: "bef4ecab320f06d8554ea6380940ec79" },
    testLabels: { file: "t10k-labels-idx1-ubyte.gz", md5: "bb300cfdad3c16e7a12a480ee83cd310" },
  },
  classes: FASHION_MNIST_CLASSES,
  subsetDir: "fashion-mnist-subset",
};

export const MNIST_SPEC: IdxDatasetSpec = {
  name: "mnist",
  title: "MNIST",
  systemDirs: ["/usr/share/datasets/mnist"],
  mirrors: ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
  resources: {
    trainImages: { file: "train-images-idx3-ubyte.gz", md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873" },
    trainLabels: { file: "train-labels-idx1-ubyte.gz", md5: "d53e105ee54ea40749a09fcbcd1e9432" },
    testImages: { file: "t10k-images-idx3-ubyte.gz", md5: "9fb629c4189551a2d022fa330f9573f3" },
    testLabels: { file: "t10k-labels-idx1-ubyte.gz", md5: "ec29112dd5afa0611ce80d1b7f02629c" },
  },
  classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
};

/** The names a file may have on disk: gzipped or not, and the "train-images.idx3-ubyte" spelling. */
function fileNames(gzName: string): string[] {
  const raw = gzName.replace(/\.gz$/, "");
  const dotted = raw.replace(/-(idx\d)/, ".$1");
  return [raw, `${raw}.gz`, dotted, `${dotted}.gz`];
}

function splitResources(spec: IdxDatasetSpec, train: boolean): [Resource, Resource] {
  return train
    ? [spec.resources.trainImages, spec.resources.trainLabels]
    : [spec.resources.testImages, spec.resources.testLabels];
}

/** The directory holding the shipped data (the package's data/<dirName>), found from this module. */
export function packageDataDir(dirName: string): string | null {
  // src/data/mnist.ts and dist/data/mnist.js both sit two levels below the package root; walk up
  // a few levels anyway so other layouts (bundlers, dist/src/...) still find it.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, "data", dirName);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return null;
}

/** Find the image and label files of one split, or throw a FormatError saying where to put them. */
export function locateIdxFiles(
  spec: IdxDatasetSpec,
  options: MNISTOptions,
): { images: string; labels: string; dir: string } {
  const train = options.train ?? true;
  const [imagesRes, labelsRes] = splitResources(spec, train);
  if (options.subset) {
    if (!spec.subsetDir) throw new ValueError(`${spec.title}: no subset is shipped with nabla`);
    const dir = packageDataDir(spec.subsetDir);
    const images = dir && findFile(dir, fileNames(imagesRes.file));
    const labels = dir && findFile(dir, fileNames(labelsRes.file));
    if (!dir || !images || !labels) {
      throw new FormatError(
        `${spec.title} subset: data/${spec.subsetDir}/${imagesRes.file} not found next to the nabla package`,
      );
    }
    return { images, labels, dir };
  }
  const candidates = candidateDirs(spec.name, spec.systemDirs, options);
  for (const { dir } of candidates) {
    const images = findFile(dir, fileNames(imagesRes.file));
    const labels = findFile(dir, fileNames(labelsRes.file));
    if (images && labels) return { images, labels, dir };
  }
  const env = options.env ?? process.env;
  throw new FormatError(
    `${spec.title} ${train ? "training" : "test"} files (${imagesRes.file}, ${labelsRes.file}, ` +
      `gzipped or not) were not found. Looked in:\n${describeCandidates(candidates)}\n` +
      `Put them in one of these directories (e.g. ${cacheDir(spec.name, env)}), set $NABLA_DATA, ` +
      `or download them with \`await ${spec.title.replace("-", "")}.load({ download: true })\`` +
      (spec.subsetDir ? `; or use the subset shipped with nabla: { subset: true }.` : "."),
  );
}

/** Read an MNIST-style pair of IDX files (uint8 images [N, H, W], uint8 labels [N]) into a dataset. */
export function readIdxImageDataset(
  imagesPath: string,
  labelsPath: string,
  classes: readonly string[],
): ImageArrayDataset {
  const images = readIdx(imagesPath);
  if (images.type !== "uint8" || images.dims.length !== 3) {
    throw new FormatError(
      `${imagesPath}: expected uint8 images [N, H, W], found ${images.type} [${images.dims.join(", ")}]`,
    );
  }
  const labels = readIdx(labelsPath);
  if (labels.type !== "uint8" || labels.dims.length !== 1) {
    throw new FormatError(
      `${labelsPath}: expected uint8 labels [N], found ${labels.type} [${labels.dims.join(", ")}]`,
    );
  }
  const [n, h, w] = images.dims as [number, number, number];
  if (labels.dims[0] !== n) {
    throw new FormatError(
      `label/image count mismatch: ${labelsPath} has ${labels.dims[0]} labels, ${imagesPath} has ${n} images`,
    );
  }
  const labelData = Int32Array.from(labels.data);
  for (let i = 0; i < n; i++) {
    if (labelData[i]! >= classes.length) {
      throw new FormatError(
        `${labelsPath}: label ${labelData[i]} at offset ${8 + i} is outside [0, ${classes.length})`,
      );
    }
  }
  return new ImageArrayDataset(images.data as Uint8Array, labelData, [1, h, w], classes);
}

/** Download the files of the requested split into `root` (or the cache) unless they are found. */
export async function ensureIdxFiles(spec: IdxDatasetSpec, options: MNISTLoadOptions): Promise<void> {
  if (options.subset) return;
  try {
    locateIdxFiles(spec, options);
    return;
  } catch (e) {
    if (!options.download) throw e;
  }
  const dir = options.root ?? cacheDir(spec.name, options.env ?? process.env);
  for (const resource of splitResources(spec, options.train ?? true)) {
    const sums = options.checksums?.[resource.file];
    await downloadResource(sums ? { file: resource.file, ...sums } : resource, dir, {
      mirrors: options.mirrors ?? spec.mirrors,
      ...(options.log ? { log: options.log } : {}),
    });
  }
}

/** An MNIST-like dataset read from IDX files; `files` says which ones. */
export class IdxImageDataset extends ImageArrayDataset {
  readonly files: { images: string; labels: string };
  readonly train: boolean;

  constructor(spec: IdxDatasetSpec, options: MNISTOptions) {
    if ((options as MNISTLoadOptions).download) {
      throw new ValueError(
        `${spec.title}: downloading is asynchronous; use \`await ${spec.title.replace("-", "")}.load({ download: true })\``,
      );
    }
    const files = locateIdxFiles(spec, options);
    const ds = readIdxImageDataset(files.images, files.labels, spec.classes);
    super(ds.images, ds.labels, ds.sampleShape, ds.classes);
    this.files = { images: files.images, labels: files.labels };
    this.train = options.train ?? true;
  }
}

export class FashionMNIST extends IdxImageDataset {
  constructor(options: MNISTOptions = {}) {
    super(FASHION_MNIST_SPEC, options);
  }

  /** Like the constructor, but downloads the files first when `download: true` and they are missing. */
  static async load(options: MNISTLoadOptions = {}): Promise<FashionMNIST> {
    await ensureIdxFiles(FASHION_MNIST_SPEC, options);
    const { download: _d, mirrors: _m, checksums: _c, log: _l, ...rest } = options;
    return new FashionMNIST(rest);
  }
}

export class MNIST extends IdxImageDataset {
  constructor(options: MNISTOptions = {}) {
    super(MNIST_SPEC, options);
  }

  static async load(options: MNISTLoadOptions = {}): Promise<MNIST> {
    await ensureIdxFiles(MNIST_SPEC, options);
    const { download: _d, mirrors: _m, checksums: _c, log: _l, ...rest } = options;
    return new MNIST(rest);
  }
}
