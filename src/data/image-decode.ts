// Decoding PNG and JPEG files (pngjs, jpeg-js) into uint8 [C, H, W] planes, converting between
// grayscale and RGB, and resizing. The format is recognised by the file's signature, not its
// name, so a ".png" that is really something else is reported as such.
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { FormatError, ValueError } from "../errors.js";

/** A decoded image: uint8 planes [C, H, W]. */
export interface DecodedImage {
  channels: number;
  height: number;
  width: number;
  data: Uint8Array;
}

export type ResizeMode = "bilinear" | "nearest";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && PNG_SIGNATURE.every((v, i) => b[i] === v);
}

function isJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

/**
 * Decode PNG or JPEG bytes to `channels` planes (1 = grayscale, 3 = RGB). Alpha is dropped, as
 * PIL's convert("RGB") does. RGB → gray uses ITU-R 601-2 luma, as PIL's convert("L") does.
 */
export function decodeImage(bytes: Uint8Array, channels: 1 | 3, name: string): DecodedImage {
  let rgba: Uint8Array;
  let width: number;
  let height: number;
  if (isPng(bytes)) {
    try {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      ({ width, height } = png);
      rgba = png.data;
    } catch (e) {
      throw new FormatError(`${name}: corrupt or truncated PNG (${(e as Error).message})`);
    }
  } else if (isJpeg(bytes)) {
    try {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
      ({ width, height } = img);
      rgba = img.data;
    } catch (e) {
      throw new FormatError(`${name}: corrupt or truncated JPEG (${(e as Error).message})`);
    }
  } else {
    const head = Array.from(bytes.subarray(0, 8), (v) => v.toString(16).padStart(2, "0")).join(" ");
    throw new FormatError(`${name}: not a PNG or JPEG image (bytes at offset 0: ${head || "<empty file>"})`);
  }
  const plane = width * height;
  if (rgba.length < plane * 4) {
    throw new FormatError(`${name}: decoder returned ${rgba.length} bytes for a ${width}×${height} image`);
  }
  const data = new Uint8Array(channels * plane);
  if (channels === 3) {
    for (let p = 0; p < plane; p++) {
      data[p] = rgba[4 * p]!;
      data[plane + p] = rgba[4 * p + 1]!;
      data[2 * plane + p] = rgba[4 * p + 2]!;
    }
  } else {
    for (let p = 0; p < plane; p++) {
      // PIL's fixed-point luma: (R·19595 + G·38470 + B·7471 + 0x8000) >> 16.
      data[p] = (rgba[4 * p]! * 19595 + rgba[4 * p + 1]! * 38470 + rgba[4 * p + 2]! * 7471 + 0x8000) >>> 16;
    }
  }
  return { channels, height, width, data };
}

/**
 * Resize every plane to outH × outW. "nearest" picks source pixel floor(dst · in/out) (PyTorch's
 * mode="nearest"); "bilinear" samples at half-pixel centres (align_corners=False) and rounds to
 * the nearest integer. Neither antialiases: shrinking by more than 2× drops detail (aliasing), so
 * prefer images close to the model's input size.
 */
export function resizeImage(img: DecodedImage, outH: number, outW: number, mode: ResizeMode): DecodedImage {
  if (!Number.isInteger(outH) || !Number.isInteger(outW) || outH < 1 || outW < 1) {
    throw new ValueError(`resize: bad output size ${outH}×${outW}`);
  }
  const { channels, height: inH, width: inW } = img;
  if (inH === outH && inW === outW) return img;
  const out = new Uint8Array(channels * outH * outW);
  const sy = inH / outH;
  const sx = inW / outW;
  for (let c = 0; c < channels; c++) {
    const src = img.data.subarray(c * inH * inW, (c + 1) * inH * inW);
    const dst = c * outH * outW;
    for (let y = 0; y < outH; y++) {
      if (mode === "nearest") {
        const iy = Math.min(Math.floor(y * sy), inH - 1);
        for (let x = 0; x < outW; x++) {
          out[dst + y * outW + x] = src[iy * inW + Math.min(Math.floor(x * sx), inW - 1)]!;
        }
        continue;
      }
      const fy = Math.max((y + 0.5) * sy - 0.5, 0);
      const y0 = Math.min(Math.floor(fy), inH - 1);
      const y1 = Math.min(y0 + 1, inH - 1);
      const wy = fy - y0;
      for (let x = 0; x < outW; x++) {
        const fx = Math.max((x + 0.5) * sx - 0.5, 0);
        const x0 = Math.min(Math.floor(fx), inW - 1);
        const x1 = Math.min(x0 + 1, inW - 1);
        const wx = fx - x0;
        const top = src[y0 * inW + x0]! * (1 - wx) + src[y0 * inW + x1]! * wx;
        const bottom = src[y1 * inW + x0]! * (1 - wx) + src[y1 * inW + x1]! * wx;
        out[dst + y * outW + x] = Math.round(top * (1 - wy) + bottom * wy);
      }
    }
  }
  return { channels, height: outH, width: outW, data: out };
}
