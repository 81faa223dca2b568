// Shared fixtures for the training tests: a tiny image-folder dataset that trains in seconds.
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { PNG } from "pngjs";

/**
 * A folder with train/<class>/*.png and test/<class>/*.png: 3 classes of 8×8 grayscale images
 * (a bright row band, a bright column band, a bright corner) with seeded noise.
 */
export function makeTinyImageFolder(perClassTrain = 16, perClassTest = 6): string {
  const root = mkdtempSync(join(tmpdir(), "nabla-tiny-"));
  let seed = 12345;
  const noise = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 24) % 60;
  };
  const classes = ["rows", "cols", "corner"];
  for (const [split, count] of [
    ["train", perClassTrain],
    ["test", perClassTest],
  ] as const) {
    classes.forEach((name, c) => {
      const dir = join(root, split, name);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < count; i++) {
        const png = new PNG({ width: 8, height: 8 });
        for (let y = 0; y < 8; y++) {
          for (let x = 0; x < 8; x++) {
            const on = c === 0 ? y >= 3 && y <= 4 : c === 1 ? x >= 3 && x <= 4 : x < 3 && y < 3;
            const v = Math.min(255, (on ? 190 : 20) + noise());
            const k = (y * 8 + x) * 4;
            png.data[k] = png.data[k + 1] = png.data[k + 2] = v;
            png.data[k + 3] = 255;
          }
        }
        writeFileSync(join(dir, `${i}.png`), PNG.sync.write(png));
      }
    });
  }
  return root;
}

export const CLI = ["--import", "tsx", new URL("../../src/cli/main.ts", import.meta.url).pathname];
