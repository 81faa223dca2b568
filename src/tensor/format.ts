// Printing tensors the way PyTorch does: `tensor([[1.0000, 2.5000], ...], requires_grad=True)`,
// one shared number format per tensor, and "..." past 1000 elements.
import type { Tensor } from "./tensor.js";

const SUMMARIZE_OVER = 1000;
const EDGE = 3;

function numberFormatter(values: number[], isFloat: boolean): (v: number) => string {
  if (!isFloat) return (v) => String(v);
  const finite = values.filter((v) => Number.isFinite(v));
  const absNonZero = finite.map(Math.abs).filter((v) => v > 0);
  const allIntegral = finite.every((v) => Number.isInteger(v));
  const max = absNonZero.length ? Math.max(...absNonZero) : 0;
  const min = absNonZero.length ? Math.min(...absNonZero) : 0;
  const special = (v: number) => (Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf");
  if (allIntegral && max < 1e8) return (v) => (Number.isFinite(v) ? `${v.toFixed(0)}.` : special(v));
  if (max >= 1e8 || (min > 0 && (min < 1e-4 || max / min > 1e3))) {
    return (v) => (Number.isFinite(v) ? v.toExponential(4).replace(/e([+-])(\d)$/, "e$10$2") : special(v));
  }
  return (v) => (Number.isFinite(v) ? v.toFixed(4) : special(v));
}

export function formatTensor(t: Tensor): string {
  const isFloat = t.dtype === "float32" || t.dtype === "float64";
  const flat = Array.from(t.data);
  const summarize = flat.length > SUMMARIZE_OVER;
  const fmt = t.dtype === "bool" ? (v: number) => (v ? "True" : "False") : numberFormatter(flat, isFloat);
  const width = Math.max(1, ...flat.map((v) => fmt(v).length));
  const cell = (v: number) => fmt(v).padStart(width);

  const strideOf = (dim: number) => t.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  const render = (dim: number, start: number, indent: number): string => {
    if (t.ndim === 0) return cell(flat[0]!);
    const size = t.shape[dim]!;
    const pick =
      summarize && size > 2 * EDGE ? [...range(0, EDGE), -1, ...range(size - EDGE, size)] : range(0, size);
    if (dim === t.ndim - 1) {
      return `[${pick.map((i) => (i < 0 ? "..." : cell(flat[start + i]!))).join(", ")}]`;
    }
    const sep = "," + "\n".repeat(t.ndim - dim - 1) + " ".repeat(indent + 1);
    const rows = pick.map((i) => (i < 0 ? "..." : render(dim + 1, start + i * strideOf(dim), indent + 1)));
    return `[${rows.join(sep)}]`;
  };

  const extras: string[] = [];
  if (
    t.dtype !== "float32" &&
    !(t.dtype === "bool" && flat.length > 0) &&
    !(t.dtype === "int32" && flat.length > 0)
  ) {
    extras.push(`dtype=${t.dtype}`);
  }
  if (t.dtype === "int32" && flat.length === 0) extras.push("dtype=int32");
  if (t.numel === 0) extras.unshift(`size=[${t.shape.join(", ")}]`);
  if (t.gradFn) extras.push(`grad_fn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) extras.push("requires_grad=True");
  const body = t.numel === 0 ? "[]" : render(0, 0, "tensor(".length);
  return `tensor(${body}${extras.map((e) => ", " + e).join("")})`;
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}
