// The before/after report of `nabla compress`: a text table and a bar chart (SVG) of each
// figure of the compressed model relative to the original (100% = unchanged).
import type { CompressReport, ModelReport } from "./pipeline.js";
import { formatBytes, formatCount } from "./summary.js";

interface Row {
  label: string;
  pick: (r: ModelReport) => number | null;
  show: (v: number) => string;
  /** "smaller" when a lower value is better: the ratio column reads "N× smaller". */
  better: "smaller" | "larger";
}

const ROWS: Row[] = [
  { label: "size on disk", pick: (r) => r.sizeBytes, show: formatBytes, better: "smaller" },
  { label: "parameters", pick: (r) => r.params, show: formatCount, better: "smaller" },
  { label: "MACs", pick: (r) => r.macs, show: formatCount, better: "smaller" },
  {
    label: "latency (batch 1)",
    pick: (r) => r.latencyMs,
    show: (v) => `${v.toFixed(3)} ms`,
    better: "smaller",
  },
  { label: "throughput", pick: (r) => r.throughput, show: (v) => `${v.toFixed(0)} img/s`, better: "larger" },
  {
    label: "test accuracy",
    pick: (r) => r.accuracy,
    show: (v) => `${(100 * v).toFixed(2)}%`,
    better: "larger",
  },
];

function change(row: Row, before: number, after: number): string {
  if (row.label === "test accuracy") {
    const d = 100 * (after - before);
    return `${d >= 0 ? "+" : ""}${d.toFixed(2)} pts`;
  }
  if (before === 0 || after === 0) return "-";
  const ratio = row.better === "smaller" ? before / after : after / before;
  const word =
    row.better === "smaller" ? (ratio >= 1 ? "smaller" : "larger") : ratio >= 1 ? "higher" : "lower";
  if (row.label.startsWith("latency"))
    return `${(before / after).toFixed(2)}× ${before >= after ? "faster" : "slower"}`;
  return `${(ratio >= 1 ? ratio : 1 / ratio).toFixed(2)}× ${word}`;
}

export function formatReport(report: CompressReport): string {
  const body = ROWS.filter((r) => r.pick(report.before) !== null && r.pick(report.after) !== null).map(
    (r) => {
      const b = r.pick(report.before)!;
      const a = r.pick(report.after)!;
      return [r.label, r.show(b), r.show(a), change(r, b, a)];
    },
  );
  const header = ["", "original", "compressed", "change"];
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const stages = report.stages.map(
    (s) =>
      `after ${s.step}: accuracy ${(100 * s.report.accuracy).toFixed(2)}%, MACs ${formatCount(s.report.macs)} ` +
      `(${((100 * s.report.macs) / report.before.macs).toFixed(1)}%), ${formatBytes(s.report.sizeBytes)}`,
  );
  return [
    `${report.model}: ${report.steps.join(" → ") || "no compression step"}`,
    `backend ${report.backend}${report.int8Isa ? `, int8 kernels ${report.int8Isa}` : ""}`,
    ...stages,
    line(header),
    ...body.map(line),
  ].join("\n");
}

const FONT = `font-family="DejaVu Sans, Arial, Helvetica, sans-serif"`;

/** Horizontal bars: each figure of the compressed model as a percentage of the original. */
export function reportSvg(report: CompressReport): string {
  const rows = ROWS.filter((r) => r.pick(report.before) !== null && r.pick(report.after) !== null);
  const W = 640;
  const barH = 26;
  const top = 50;
  const left = 150;
  const plotW = W - left - 120;
  const H = top + rows.length * (barH + 14) + 40;
  const pcts = rows.map((r) => (100 * r.pick(report.after)!) / Math.max(1e-12, r.pick(report.before)!));
  const maxPct = Math.max(100, ...pcts);
  const x = (p: number) => left + (plotW * p) / maxPct;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" ${FONT}>${report.model}: compressed / original</text>`,
  ];
  rows.forEach((r, i) => {
    const y = top + i * (barH + 14);
    const p = pcts[i]!;
    const color =
      r.better === "smaller" ? (p <= 100 ? "#2ca02c" : "#d62728") : p >= 99.5 ? "#2ca02c" : "#ff7f0e";
    parts.push(
      `<text x="${left - 8}" y="${y + barH / 2 + 5}" text-anchor="end" font-size="12" ${FONT}>${r.label}</text>`,
      `<rect x="${left}" y="${y}" width="${Math.max(1, x(p) - left).toFixed(1)}" height="${barH}" fill="${color}"/>`,
      `<text x="${(x(p) + 6).toFixed(1)}" y="${y + barH / 2 + 5}" font-size="12" ${FONT}>${p.toFixed(1)}%</text>`,
    );
  });
  const x100 = x(100).toFixed(1);
  parts.push(
    `<line x1="${x100}" y1="${top - 8}" x2="${x100}" y2="${H - 30}" stroke="#555" stroke-dasharray="4 3"/>`,
    `<text x="${x100}" y="${H - 14}" text-anchor="middle" font-size="11" ${FONT}>100% = original</text>`,
    `</svg>`,
  );
  return parts.join("\n");
}
