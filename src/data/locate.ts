// Where dataset files live. A dataset looks, in order, in
//   1. the `root` option (the directory itself, then root/<name>),
//   2. $NABLA_DATA (the directory itself, then $NABLA_DATA/<name>),
//   3. a system location (Debian installs Fashion-MNIST in /usr/share/datasets/fashion-mnist),
//   4. nabla's cache, $XDG_CACHE_HOME/nabla/<name> or ~/.cache/nabla/<name>,
// and uses the first directory that holds all the files it needs. When none does, the error
// lists every place it looked and says where to put the files.
import { existsSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export interface LocateOptions {
  /** A directory given by the user; searched first. */
  root?: string;
  /** The environment to read NABLA_DATA / XDG_CACHE_HOME from (default process.env). */
  env?: Record<string, string | undefined>;
}

export interface Candidate {
  dir: string;
  /** Why this directory is searched, for error messages: "root option", "$NABLA_DATA", ... */
  source: string;
}

/** nabla's cache directory for a dataset: $XDG_CACHE_HOME/nabla/<name> or ~/.cache/nabla/<name>. */
export function cacheDir(name: string, env: Record<string, string | undefined> = process.env): string {
  const base = env["XDG_CACHE_HOME"] || join(homedir(), ".cache");
  return join(base, "nabla", name);
}

/** The directories to search for dataset `name`, in order. */
export function candidateDirs(name: string, systemDirs: readonly string[], options: LocateOptions): Candidate[] {
  const env = options.env ?? process.env;
  const out: Candidate[] = [];
  if (options.root !== undefined) {
    out.push({ dir: options.root, source: "root option" });
    out.push({ dir: join(options.root, name), source: "root option" });
  }
  const nablaData = env["NABLA_DATA"];
  if (nablaData) {
    out.push({ dir: nablaData, source: "$NABLA_DATA" });
    out.push({ dir: join(nablaData, name), source: "$NABLA_DATA" });
  }
  for (const dir of systemDirs) out.push({ dir, source: "system" });
  out.push({ dir: cacheDir(name, env), source: "cache" });
  return out;
}

/** The first existing regular file among `dir/<name>` for the given names, or null. */
export function findFile(dir: string, names: readonly string[]): string | null {
  for (const n of names) {
    const p = join(dir, n);
    if (existsSync(p) && statSync(p).isFile()) return p;
  }
  return null;
}

/** Describe the searched directories, one per line, for a "not found" error. */
export function describeCandidates(candidates: readonly Candidate[]): string {
  return candidates.map((c) => `  ${c.dir}  (${c.source})`).join("\n");
}
