#!/usr/bin/env node
// The `nabla` command. Each subcommand lives in its own file under commands/ and exports
// `register(program)`; this file only wires them together and maps errors to exit codes.
import { Command, CommanderError } from "commander";
import { commands } from "./commands/index.js";
import { NablaError } from "../errors.js";
import { initBackend } from "./backend.js";

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("nabla")
    .description("From the chain rule to a trained, compressed CNN")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  initBackend();
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit with code 0; usage errors with 2 (commander already printed them).
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof NablaError) {
      process.stderr.write(`nabla: ${err.name}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

const isEntry = process.argv[1] !== undefined && /cli[\\/]main\.(ts|js)$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(
        `nabla: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 70;
    },
  );
}
