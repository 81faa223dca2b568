// Typed errors of the calculus module. Every mistake a user can make in a problem string maps to one
// of these, so callers (and the CLI) can tell "bad input" apart from a bug in nabla.
import { NablaError } from "../errors.js";

/** The problem text is not well formed: `position` is the 0-based offset in the input. */
export class ParseError extends NablaError {
  readonly position: number;
  readonly expected: string[];
  readonly found: string;

  constructor(input: string, position: number, expected: string[], found: string, hint?: string) {
    const what =
      expected.length > 0 ? `expected ${expected.join(" or ")}, found ${found}` : `unexpected ${found}`;
    super(
      `${what} at column ${position + 1}${hint ? ` (${hint})` : ""}\n  ${input}\n  ${" ".repeat(position)}^`,
    );
    this.position = position;
    this.expected = expected;
    this.found = found;
  }
}

/** The clauses parse, but do not make a problem we can solve (unknown target, cyclic definitions ...). */
export class ProblemError extends NablaError {}

/** A mathematical failure: division by zero, a singular implicit system. */
export class MathError extends NablaError {}

/** Numeric evaluation failed: a variable without a value, an abstract function without a stand-in. */
export class EvaluationError extends NablaError {}
