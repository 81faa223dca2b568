// Training plots as SVG (hand-written: a line chart and a heat map are a few dozen shapes) and
// PNG (the same SVG rendered by resvg, a well-kept renderer shipped as a prebuilt npm binary).
import { Resvg } from "@resvg/resvg-js";
import { writeFileAtomic } from "../io/atomic.js";

export interface Series {
  name: string;
  values: readonly number[];
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
const FONT = `font-family="DejaVu Sans, Arial, Helvetica, sans-serif"`;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-12; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** A line chart of one or more series against the epoch number (1-based). */
export function lineChartSvg(
  series: readonly Series[],
  options: { title: string; yLabel: string; xLabel?: string },
): string {
  const W = 640;
  const H = 400;
  const m = { left: 70, right: 150, top: 40, bottom: 50 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const all = series.flatMap((s) => s.values.filter(Number.isFinite));
  const n = Math.max(1, ...series.map((s) => s.values.length));
  let lo = all.length ? Math.min(...all) : 0;
  let hi = all.length ? Math.max(...all) : 1;
  if (hi === lo) [lo, hi] = [lo - 0.5, hi + 0.5];
  const pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  const x = (i: number) => m.left + (n === 1 ? pw / 2 : (i / (n - 1)) * pw);
  const y = (v: number) => m.top + ph - ((v - lo) / (hi - lo)) * ph;
  const parts: string[] = [];
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(
    `<text x="${W / 2 - m.right / 2 + m.left / 2}" y="24" text-anchor="middle" font-size="16" ${FONT}>${esc(options.title)}</text>`,
  );
  for (const t of niceTicks(lo, hi)) {
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/>`);
    parts.push(
      `<text x="${m.left - 8}" y="${y(t) + 4}" text-anchor="end" font-size="11" ${FONT}>${t}</text>`,
    );
  }
  const xStep = Math.max(1, Math.ceil(n / 10));
  for (let i = 0; i < n; i += xStep) {
    parts.push(
      `<text x="${x(i)}" y="${m.top + ph + 18}" text-anchor="middle" font-size="11" ${FONT}>${i + 1}</text>`,
    );
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  parts.push(
    `<text x="${m.left + pw / 2}" y="${H - 12}" text-anchor="middle" font-size="13" ${FONT}>${esc(options.xLabel ?? "epoch")}</text>`,
  );
  parts.push(
    `<text transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="13" ${FONT}>${esc(options.yLabel)}</text>`,
  );
  series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length]!;
    const pts = s.values
      .map((v, i) => (Number.isFinite(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : null))
      .filter((p) => p !== null);
    if (pts.length > 1)
      parts.push(`<polyline points="${pts.join(" ")}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of pts) {
      const [px, py] = p.split(",");
      parts.push(`<circle cx="${px}" cy="${py}" r="3" fill="${color}"/>`);
    }
    const ly = m.top + 10 + k * 20;
    parts.push(
      `<line x1="${m.left + pw + 12}" x2="${m.left + pw + 32}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
    );
    parts.push(`<text x="${m.left + pw + 38}" y="${ly + 4}" font-size="12" ${FONT}>${esc(s.name)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join("")}</svg>`;
}

/** A confusion matrix heat map: rows are true classes, columns predicted classes. */
export function confusionMatrixSvg(
  matrix: readonly (readonly number[])[],
  classNames: readonly string[],
  title = "Confusion matrix",
): string {
  const k = matrix.length;
  const cell = Math.max(28, Math.min(56, Math.floor(480 / Math.max(k, 1))));
  const labelW = 110;
  const W = labelW + k * cell + 20;
  const H = 60 + labelW + k * cell;
  const top = 50;
  const parts: string[] = [`<rect width="${W}" height="${H}" fill="white"/>`];
  parts.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" ${FONT}>${esc(title)}</text>`);
  matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    row.forEach((v, j) => {
      const share = v / total;
      const shade = Math.round(255 - share * 200);
      const fill = `rgb(${shade},${shade},255)`;
      parts.push(
        `<rect x="${labelW + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${fill}" stroke="#fff"/>`,
      );
      parts.push(
        `<text x="${labelW + j * cell + cell / 2}" y="${top + i * cell + cell / 2 + 4}" text-anchor="middle" font-size="10" fill="${share > 0.5 ? "white" : "black"}" ${FONT}>${v}</text>`,
      );
    });
    parts.push(
      `<text x="${labelW - 6}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end" font-size="11" ${FONT}>${esc(classNames[i] ?? String(i))}</text>`,
    );
  });
  matrix.forEach((_, j) => {
    const cx = labelW + j * cell + cell / 2;
    const cy = top + k * cell + 8;
    parts.push(
      `<text transform="translate(${cx} ${cy}) rotate(45)" font-size="11" ${FONT}>${esc(classNames[j] ?? String(j))}</text>`,
    );
  });
  parts.push(
    `<text x="${labelW + (k * cell) / 2}" y="${H - 6}" text-anchor="middle" font-size="12" ${FONT}>predicted</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join("")}</svg>`;
}

/** Render an SVG string to PNG bytes. */
export function svgToPng(svg: string): Uint8Array {
  return new Resvg(svg, { font: { loadSystemFonts: true }, background: "white" }).render().asPng();
}

/** Write `<base>.svg` and `<base>.png`. */
export function writePlot(base: string, svg: string): void {
  writeFileAtomic(`${base}.svg`, svg);
  writeFileAtomic(`${base}.png`, svgToPng(svg));
}
