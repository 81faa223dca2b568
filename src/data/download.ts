// Downloading dataset files, only when the user asks (`download: true`). Each file is fetched
// from the first mirror that serves it, written to a temporary name, checked against its known
// md5/sha256 and only then renamed into place — a failed or tampered download leaves nothing
// behind that a later run could mistake for the real file.
import { createHash } from "node:crypto";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NablaError } from "../errors.js";

/** A download that failed: every mirror was unreachable, answered with an error, or sent bad bytes. */
export class DownloadError extends NablaError {}

export interface Resource {
  /** File name, both on the mirror and on disk. */
  file: string;
  /** Known checksums of the file as served (hex); at least one is checked when given. */
  md5?: string;
  sha256?: string;
}

export interface DownloadOptions {
  /** Base URLs tried in order ("https://host/path/"); the file name is appended. */
  mirrors: readonly string[];
  /** Called with progress messages (default: silent). */
  log?: (message: string) => void;
}

export function digest(algorithm: "md5" | "sha256", bytes: Uint8Array): string {
  return createHash(algorithm).update(bytes).digest("hex");
}

/** Check bytes against a resource's checksums; returns a reason string when they do not match. */
export function checksumMismatch(resource: Resource, bytes: Uint8Array): string | null {
  if (resource.sha256 !== undefined) {
    const got = digest("sha256", bytes);
    if (got !== resource.sha256.toLowerCase()) return `sha256 ${got}, expected ${resource.sha256}`;
  }
  if (resource.md5 !== undefined) {
    const got = digest("md5", bytes);
    if (got !== resource.md5.toLowerCase()) return `md5 ${got}, expected ${resource.md5}`;
  }
  return null;
}

/** Download one resource into `dir`; returns its path. Throws DownloadError when no mirror works. */
export async function downloadResource(resource: Resource, dir: string, options: DownloadOptions): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const dest = join(dir, resource.file);
  const failures: string[] = [];
  for (const mirror of options.mirrors) {
    const url = mirror.endsWith("/") ? mirror + resource.file : `${mirror}/${resource.file}`;
    options.log?.(`downloading ${url}`);
    let bytes: Uint8Array;
    try {
      const response = await fetch(url);
      if (!response.ok) {
        failures.push(`${url}: HTTP ${response.status}`);
        continue;
      }
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (e) {
      failures.push(`${url}: ${(e as Error).message}`);
      continue;
    }
    const mismatch = checksumMismatch(resource, bytes);
    if (mismatch !== null) {
      failures.push(`${url}: checksum mismatch (${mismatch})`);
      continue;
    }
    const temp = `${dest}.part-${process.pid}`;
    try {
      writeFileSync(temp, bytes);
      renameSync(temp, dest);
    } finally {
      rmSync(temp, { force: true });
    }
    return dest;
  }
  throw new DownloadError(`could not download ${resource.file}:\n  ${failures.join("\n  ")}`);
}
