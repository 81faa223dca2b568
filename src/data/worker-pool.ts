// A small pool of worker threads running batch transforms for the DataLoader. Tasks go to the
// least busy worker; results come back as promises, which the loader awaits in batch order.
// Idle workers are unref'd so an idle pool never keeps the process alive; close() ends them.
import { Worker } from "node:worker_threads";
import { ValueError } from "../errors.js";
import type { WorkerInit, WorkerJob, WorkerOutput, WorkerResult, WorkerTask } from "./transform-worker.js";

type Pending = { resolve: (r: WorkerOutput) => void; reject: (e: Error) => void };

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

/** Start the worker script, also when nabla runs from its TypeScript sources under tsx. */
function startWorker(init: WorkerInit): Worker {
  const fromSource = import.meta.url.endsWith(".ts");
  const script = new URL(fromSource ? "./transform-worker.ts" : "./transform-worker.js", import.meta.url);
  if (!fromSource) return new Worker(script, { workerData: init });
  // Worker threads do not inherit tsx's loader hooks: register them first, then load the script.
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(script.href)}); });`;
  return new Worker(boot, { eval: true, workerData: init });
}

export class TransformWorkerPool {
  private readonly slots: Slot[];
  private nextId = 0;
  private closed = false;

  constructor(numWorkers: number, init: WorkerInit) {
    if (!Number.isInteger(numWorkers) || numWorkers < 1) {
      throw new ValueError(`worker pool: numWorkers must be a positive integer, got ${numWorkers}`);
    }
    this.slots = Array.from({ length: numWorkers }, () => {
      const slot: Slot = { worker: startWorker(init), pending: new Map() };
      slot.worker.on("message", (r: WorkerResult) => this.settle(slot, r));
      slot.worker.on("error", (e) => this.failAll(slot, e));
      slot.worker.on("exit", (code) => {
        if (!this.closed) this.failAll(slot, new Error(`data loader worker exited with code ${code}`));
      });
      slot.worker.unref();
      return slot;
    });
  }

  get size(): number {
    return this.slots.length;
  }

  /** Run one task; the promise resolves with the transformed batch. */
  run(job: WorkerJob): Promise<WorkerOutput> {
    if (this.closed) return Promise.reject(new ValueError("worker pool is closed"));
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    const full: WorkerTask = { ...job, id };
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.ref();
      const transfer = full.kind === "float" ? [full.data.buffer as ArrayBuffer] : [];
      slot.worker.postMessage(full, transfer);
    });
  }

  private settle(slot: Slot, r: WorkerResult): void {
    const p = slot.pending.get(r.id);
    if (!p) return;
    slot.pending.delete(r.id);
    if (slot.pending.size === 0) slot.worker.unref();
    if ("error" in r) p.reject(new ValueError(`data loader worker: ${r.error}`));
    else p.resolve(r);
  }

  private failAll(slot: Slot, e: Error): void {
    for (const p of slot.pending.values()) p.reject(e);
    slot.pending.clear();
    slot.worker.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Node may drop a terminating worker's handle from the event loop before its 'exit' event
    // (seen with two workers on Node 20), and then exits in the middle of `await close()`; a
    // timer keeps the loop alive until every worker has really stopped.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      await Promise.all(this.slots.map((s) => s.worker.terminate()));
    } finally {
      clearInterval(keepAlive);
    }
  }
}
