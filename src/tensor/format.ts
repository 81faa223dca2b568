// Printing tensors the way PyTorch does (torch/_tensor_str.py with default print options):
// one number format shared by the whole tensor, picked from its nonzero finite values; lines
// wrapped at 80 columns; "..." past 1000 elements, keeping 3 items at each edge of each dim.
// Differences kept on purpose: nabla's dtype names (`dtype=float64`, not `torch.float64`) and
// int32 plays the role of torch's default integer type int64 (no `dtype=` suffix).
import type { Tensor } from "./tensor.js";

const THRESHOLD = 1000;
const EDGE = 3;
const LINE_WIDTH = 80;
const PRECISION = 4;

interface Formatter {
  width: number;
  format(v: number): string;
}

/** Python's "{:.Nf}": like toFixed, but exact ties round half to even and -0 keeps its sign. */
function fixed(v: number, digits: number): string {
  if (!Number.isFinite(v)) return special(v);
  const scale = 10 ** digits;
  const scaled = v * scale;
  const floor = Math.floor(scaled);
  let s: string;
  if (scaled - floor === 0.5 && Math.abs(scaled) < 2 ** 52) {
    const even = floor % 2 === 0 ? floor : floor + 1;
    s = (even / scale).toFixed(digits);
  } else s = v.toFixed(digits);
  // Negative values that round to zero keep their sign ("-0.0000"), as in Python.
  return (v < 0 || Object.is(v, -0)) && !s.startsWith("-") ? "-" + s : s;
}

/** Python's "{:.Ne}": two-digit exponents at least. */
function scientific(v: number, digits: number): string {
  if (!Number.isFinite(v)) return special(v);
  const s = v.toExponential(digits).replace(/e([+-])(\d)$/, "e$10$2");
  return Object.is(v, -0) ? "-" + s : s;
}

function special(v: number): string {
  return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
}

function makeFormatter(values: readonly number[], dtype: Tensor["dtype"]): Formatter {
  if (dtype === "bool") {
    const width = Math.max(1, ...values.map((v) => (v ? 4 : 5)));
    return { width, format: (v) => (v ? "True" : "False") };
  }
  if (dtype !== "float32" && dtype !== "float64") {
    const width = Math.max(1, ...values.map((v) => String(v).length));
    return { width, format: (v) => String(v) };
  }
  const nonzeroFinite = values.filter((v) => Number.isFinite(v) && v !== 0);
  if (nonzeroFinite.length === 0) {
    // Nothing to size the format by: integer mode with width 1, as PyTorch does.
    return { width: 1, format: (v) => (Number.isFinite(v) ? fixed(v, 0) + "." : special(v)) };
  }
  const abs = nonzeroFinite.map(Math.abs);
  const max = Math.max(...abs);
  const min = Math.min(...abs);
  const intMode = nonzeroFinite.every((v) => v === Math.ceil(v));
  const sciMode = max / min > 1000 || max > 1e8 || (!intMode && min < 1e-4);
  let width = 1;
  if (sciMode) {
    for (const v of nonzeroFinite) width = Math.max(width, scientific(v, PRECISION).length);
    return { width, format: (v) => scientific(v, PRECISION) };
  }
  if (intMode) {
    for (const v of nonzeroFinite) width = Math.max(width, fixed(v, 0).length + 1);
    return { width, format: (v) => (Number.isFinite(v) ? fixed(v, 0) + "." : special(v)) };
  }
  for (const v of nonzeroFinite) width = Math.max(width, fixed(v, PRECISION).length);
  return { width, format: (v) => fixed(v, PRECISION) };
}

/** PyTorch-like name of the op that made a tensor: mul → MulBackward0. */
function gradFnName(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1) + "Backward0";
}

export function formatTensor(t: Tensor): string {
  const flat = Array.from(t.data);
  const shape = t.shape;
  const summarize = flat.length > THRESHOLD;
  const strideOf = (dim: number) => shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  // Indices shown along a dim (-1 marks the ellipsis).
  const shown = (size: number): number[] =>
    summarize && size > 2 * EDGE ? [...range(0, EDGE), -1, ...range(size - EDGE, size)] : range(0, size);

  // The values the format is chosen from: only those that will be printed.
  const visible: number[] = [];
  const collect = (dim: number, start: number): void => {
    if (dim === t.ndim) {
      visible.push(flat[start]!);
      return;
    }
    for (const i of shown(shape[dim]!)) if (i >= 0) collect(dim + 1, start + i * strideOf(dim));
  };
  if (t.numel > 0) collect(0, 0);
  const formatter = makeFormatter(visible, t.dtype);
  const cell = (v: number) => formatter.format(v).padStart(formatter.width);

  const render = (dim: number, start: number, indent: number): string => {
    if (t.ndim === 0) return cell(flat[0]!);
    const picks = shown(shape[dim]!);
    if (dim === t.ndim - 1) {
      const items = picks.map((i) => (i < 0 ? " ..." : cell(flat[start + i]!)));
      const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / (formatter.width + 2)));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(", "));
      return `[${lines.join(",\n" + " ".repeat(indent + 1))}]`;
    }
    const sep = "," + "\n".repeat(t.ndim - dim - 1) + " ".repeat(indent + 1);
    const rows = picks.map((i) => (i < 0 ? "..." : render(dim + 1, start + i * strideOf(dim), indent + 1)));
    return `[${rows.join(sep)}]`;
  };

  const suffixes: string[] = [];
  const prefix = "tensor(";
  let body: string;
  if (t.numel === 0) {
    if (t.ndim !== 1) suffixes.push(`size=(${shape.join(", ")}${shape.length === 1 ? "," : ""})`);
    if (t.dtype !== "float32") suffixes.push(`dtype=${t.dtype}`);
    body = "[]";
  } else {
    if (t.dtype !== "float32" && t.dtype !== "int32" && t.dtype !== "bool") suffixes.push(`dtype=${t.dtype}`);
    body = render(0, 0, prefix.length);
  }
  if (t.gradFn) suffixes.push(`grad_fn=<${gradFnName(t.gradFn.name)}>`);
  else if (t.requiresGrad) suffixes.push("requires_grad=True");

  // Suffixes go on a new line when they would run past the line width.
  let out = prefix + body;
  let lastLine = out.length - out.lastIndexOf("\n") + 1;
  for (const s of suffixes) {
    if (lastLine + s.length + 2 > LINE_WIDTH) {
      out += ",\n" + " ".repeat(prefix.length) + s;
      lastLine = prefix.length + s.length;
    } else {
      out += ", " + s;
      lastLine += s.length + 2;
    }
  }
  return out + ")";
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}
