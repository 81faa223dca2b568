// ImageFolder: one sub-directory per class, like torchvision.datasets.ImageFolder:
//
//   root/cat/001.png   root/cat/002.jpg   root/dog/a.png ...
//
// Classes are the sub-directory names in sorted order (label = position). Every PNG/JPEG below a
// class directory (recursively, sorted, hidden files skipped) is decoded once, converted to
// `channels` (1 gray or 3 RGB) and to the input size, and kept as uint8 [N, C, H, W] — so the
// dataset has the same fast batch path as MNIST. This suits the few-thousand-crop datasets of
// in-cabin work; for much larger folders it is memory-bound (N·C·H·W bytes).
//
// Size: `size` fixes the model's input size; without it the first image's size is used. An image
// of another size is resized with `resize` ("bilinear", default, or "nearest"); with
// `resize: false` it is an error naming the file.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { FormatError, ShapeError, ValueError } from "../errors.js";
import { ImageArrayDataset } from "./image-array-dataset.js";
import { decodeImage, resizeImage, type ResizeMode } from "./image-decode.js";

export interface ImageFolderOptions {
  /** Channels of the model input: 1 (grayscale) or 3 (RGB, default). */
  channels?: 1 | 3;
  /** Model input size [height, width] (or one number for square); default: the first image's. */
  size?: number | readonly [number, number];
  /** How to bring other sizes to `size`: "bilinear" (default), "nearest", or false to refuse. */
  resize?: ResizeMode | false;
  /** File extensions to read (lower case, with dot). Default .png, .jpg, .jpeg. */
  extensions?: readonly string[];
}

export class ImageFolder extends ImageArrayDataset {
  readonly root: string;
  /** The file of each image, index = dataset index. */
  readonly files: readonly string[];
  readonly classToIdx: Readonly<Record<string, number>>;

  constructor(root: string, options: ImageFolderOptions = {}) {
    const channels = options.channels ?? 3;
    if (channels !== 1 && channels !== 3) throw new ValueError(`ImageFolder: channels must be 1 or 3, got ${channels}`);
    const resize = options.resize ?? "bilinear";
    const extensions = options.extensions ?? [".png", ".jpg", ".jpeg"];
    let entries;
    try {
      entries = readdirSync(root, { withFileTypes: true });
    } catch (e) {
      throw new FormatError(`ImageFolder: cannot read directory ${root} (${(e as Error).message})`);
    }
    const classes = entries
      .filter((e) => e.isDirectory() && !e.name.startsWith("."))
      .map((e) => e.name)
      .sort();
    if (classes.length === 0) throw new FormatError(`ImageFolder: ${root} has no class sub-directories`);

    const files: string[] = [];
    const labels: number[] = [];
    classes.forEach((cls, label) => {
      for (const f of listImages(join(root, cls), extensions)) {
        files.push(f);
        labels.push(label);
      }
    });
    if (files.length === 0) {
      throw new FormatError(`ImageFolder: no ${extensions.join("/")} files under ${root}/{${classes.join(",")}}`);
    }

    let [h, w] = typeof options.size === "number" ? [options.size, options.size] : (options.size ?? [0, 0]);
    let images: Uint8Array | null = null;
    files.forEach((file, i) => {
      let img = decodeImage(readFileSync(file), channels, file);
      if (h === 0) [h, w] = [img.height, img.width];
      if (img.height !== h || img.width !== w) {
        if (resize === false) {
          throw new ShapeError(
            `ImageFolder: ${file} is ${img.height}×${img.width} (H×W), the model input is ${h}×${w}, ` +
              `and resizing is disabled (resize: false)`,
          );
        }
        img = resizeImage(img, h, w, resize);
      }
      images ??= new Uint8Array(files.length * channels * h * w);
      images.set(img.data, i * img.data.length);
    });
    super(images!, Int32Array.from(labels), [channels, h, w], classes);
    this.root = root;
    this.files = files;
    this.classToIdx = Object.fromEntries(classes.map((c, i) => [c, i]));
  }
}

/** Image files below `dir`, recursively, in sorted order. */
function listImages(dir: string, extensions: readonly string[]): string[] {
  const out: string[] = [];
  const names = readdirSync(dir).sort();
  for (const name of names) {
    if (name.startsWith(".")) continue;
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) out.push(...listImages(path, extensions));
    else if (st.isFile() && extensions.includes(extname(name).toLowerCase())) out.push(path);
  }
  return out;
}
