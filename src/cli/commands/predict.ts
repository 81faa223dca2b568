// `nabla predict` — classify image files with a trained model: the top-k classes of each.
//
//   nabla predict --checkpoint runs/fmnist shoe.png shirt.jpg --topk 3
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { decodeImage, resizeImage } from "../../data/index.js";
import { restoreModel } from "../../train/restore.js";
import { fromArray } from "../../tensor/creation.js";
import { noGrad } from "../../autograd/engine.js";
import { FormatError, ValueError } from "../../errors.js";
import { parseInteger } from "../parse.js";

interface PredictFlags {
  checkpoint: string;
  topk: string;
  json?: boolean;
  resize?: boolean;
}

export function register(program: Command): void {
  program
    .command("predict")
    .description("classify PNG/JPEG images with a trained model (top-k classes and probabilities)")
    .requiredOption(
      "--checkpoint <path>",
      "a run folder written by `nabla train`, or a checkpoint file in it",
    )
    .argument("<images...>", "PNG or JPEG files")
    .option("--topk <k>", "how many classes to list per image", "3")
    .option("--no-resize", "refuse images whose size differs from the model's input instead of resizing them")
    .option("--json", "one JSON object per image")
    .action((images: string[], flags: PredictFlags) => {
      const k = parseInteger("--topk", flags.topk, 1);
      const { model, meta } = restoreModel(flags.checkpoint);
      const [c, h, w] = meta.input;
      const { mean, std } = meta.normalization;
      for (const file of images) {
        let bytes: Uint8Array;
        try {
          bytes = readFileSync(file);
        } catch (err) {
          throw new FormatError(
            `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
          );
        }
        let image = decodeImage(bytes, c as 1 | 3, file);
        if (image.height !== h || image.width !== w) {
          if (flags.resize === false) {
            throw new ValueError(
              `${file}: image is ${image.width}×${image.height} but the model takes ${w}×${h}`,
            );
          }
          image = resizeImage(image, h, w, "bilinear");
        }
        const x = new Float32Array(c * h * w);
        for (let ch = 0; ch < c; ch++) {
          for (let i = 0; i < h * w; i++)
            x[ch * h * w + i] = (image.data[ch * h * w + i]! / 255 - mean[ch]!) / std[ch]!;
        }
        const probs = noGrad(() =>
          (model.call(fromArray(x, [1, c, h, w])) as ReturnType<typeof fromArray>).softmax(1),
        ).data;
        const ranked = Array.from(probs, (p, i) => ({
          class: meta.classes[i] ?? String(i),
          index: i,
          probability: p,
        }))
          .sort((a, b) => b.probability - a.probability)
          .slice(0, Math.min(k, probs.length));
        if (flags.json) process.stdout.write(JSON.stringify({ file, top: ranked }) + "\n");
        else
          process.stdout.write(
            `${file}: ${ranked.map((r) => `${r.class} ${(100 * r.probability).toFixed(1)}%`).join(", ")}\n`,
          );
      }
    });
}
