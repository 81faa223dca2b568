// Progress reporting for training: a live bar on a terminal (cli-progress), one line per epoch
// otherwise (logs, CI, pipes), nothing when silenced.
import cliProgress from "cli-progress";

export type ProgressMode = "auto" | "bar" | "line" | "none";

export interface BatchStats {
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
}

export interface Progress {
  startEpoch(epoch: number, epochs: number, batches: number): void;
  update(batch: number, stats: BatchStats): void;
  endEpoch(summary: string): void;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

export function createProgress(mode: ProgressMode, stream: NodeJS.WriteStream = process.stderr): Progress {
  const resolved = mode === "auto" ? (stream.isTTY ? "bar" : "line") : mode;
  if (resolved === "none") return { startEpoch() {}, update() {}, endEpoch() {} };
  if (resolved === "line") {
    return {
      startEpoch() {},
      update() {},
      endEpoch(summary) {
        stream.write(summary + "\n");
      },
    };
  }
  let bar: cliProgress.SingleBar | null = null;
  let started = 0;
  let total = 0;
  return {
    startEpoch(epoch, epochs, batches) {
      total = batches;
      started = performance.now();
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: `epoch ${epoch}/${epochs} [{bar}] {value}/{total} | loss {loss} | acc {acc} | {ips} img/s | ETA {eta_h}`,
          hideCursor: true,
          clearOnComplete: true,
          barsize: 24,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(batches, 0, { loss: "-", acc: "-", ips: "-", eta_h: "?" });
    },
    update(batch, stats) {
      const elapsed = (performance.now() - started) / 1000;
      const eta = batch > 0 ? (elapsed / batch) * (total - batch) : Infinity;
      bar?.update(batch, {
        loss: stats.loss.toFixed(4),
        acc: (100 * stats.accuracy).toFixed(1) + "%",
        ips: Math.round(stats.imagesPerSecond),
        eta_h: formatEta(eta),
      });
    },
    endEpoch(summary) {
      bar?.stop();
      bar = null;
      stream.write(summary + "\n");
    },
  };
}
