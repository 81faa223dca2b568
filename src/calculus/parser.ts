// Text → expression. A hand-written recursive-descent parser (never eval): every failure is a
// ParseError that names the column and what was expected there.
//
//   expr    := term (("+" | "-") term)*
//   term    := unary (("*" | "/") unary)*
//   unary   := ("-" | "+") unary | power
//   power   := primary (("^" | "**") unary)?        right-associative: x^2^3 = x^(2^3), -x^2 = -(x^2)
//   primary := number | name | name "(" expr ("," expr)* ")" | "(" expr ")"
//
// Multiplication must be written: "2x" and "x y" are errors, not products.
import { ParseError } from "./errors.js";
import { add, div, E, fn, mul, neg, num, PI, pow, sym, type Expr } from "./expr.js";
import { applyKnown, FUNCTION_ALIASES } from "./functions.js";
import { fromDecimal } from "./rational.js";

export type TokenKind = "number" | "name" | "op" | "(" | ")" | "," | "=" | "end";

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly start: number;
}

const NAME = /[\p{L}_][\p{L}\p{N}_']*/uy;
const NUMBER = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const UNICODE_OPERATORS: Record<string, string> = { "−": "-", "·": "*", "×": "*", "÷": "/" };

/** Split `input[start, end)` into tokens; positions stay those of the whole input. */
export function tokenize(input: string, start = 0, end = input.length): Token[] {
  const tokens: Token[] = [];
  let i = start;
  while (i < end) {
    const ch = input[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    NUMBER.lastIndex = i;
    const n = NUMBER.exec(input);
    if (n && n.index === i && i + n[0].length <= end) {
      tokens.push({ kind: "number", text: n[0], start: i });
      i += n[0].length;
      continue;
    }
    NAME.lastIndex = i;
    const m = NAME.exec(input);
    if (m && m.index === i) {
      const text = m[0].slice(0, end - i);
      tokens.push({ kind: "name", text, start: i });
      i += text.length;
      continue;
    }
    if (input.startsWith("**", i)) {
      tokens.push({ kind: "op", text: "^", start: i });
      i += 2;
      continue;
    }
    if ("+-*/^".includes(ch) || ch in UNICODE_OPERATORS) {
      tokens.push({ kind: "op", text: UNICODE_OPERATORS[ch] ?? ch, start: i });
      i++;
      continue;
    }
    if (ch === "(" || ch === ")" || ch === "," || ch === "=") {
      tokens.push({ kind: ch, text: ch, start: i });
      i++;
      continue;
    }
    throw new ParseError(input, i, [], `character '${ch}'`);
  }
  tokens.push({ kind: "end", text: "", start: end });
  return tokens;
}

/** What the parser learns across the clauses of one problem: which names are functions, with what arity. */
export interface ParseContext {
  readonly functions: Map<string, { arity: number; position: number }>;
}

export const newParseContext = (): ParseContext => ({ functions: new Map() });

const describe = (t: Token): string => (t.kind === "end" ? "end of input" : `'${t.text}'`);

class Parser {
  private pos = 0;

  constructor(
    private readonly input: string,
    private readonly tokens: Token[],
    private readonly context: ParseContext,
  ) {}

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    return this.tokens[this.pos++]!;
  }

  fail(expected: string[], hint?: string, at: Token = this.peek()): never {
    throw new ParseError(this.input, at.start, expected, describe(at), hint);
  }

  private isOp(text: string): boolean {
    const t = this.peek();
    return t.kind === "op" && t.text === text;
  }

  expression(): Expr {
    let left = this.term();
    for (;;) {
      if (this.isOp("+")) {
        this.next();
        left = add(left, this.term());
      } else if (this.isOp("-")) {
        this.next();
        left = add(left, neg(this.term()));
      } else return left;
    }
  }

  private term(): Expr {
    let left = this.unary();
    for (;;) {
      if (this.isOp("*")) {
        this.next();
        left = mul(left, this.unary());
      } else if (this.isOp("/")) {
        const slash = this.next();
        const right = this.unary();
        if (right.kind === "num" && right.value.num === 0n) this.fail([], "division by zero", slash);
        left = div(left, right);
      } else return left;
    }
  }

  private unary(): Expr {
    if (this.isOp("-")) {
      this.next();
      return neg(this.unary());
    }
    if (this.isOp("+")) {
      this.next();
      return this.unary();
    }
    return this.power();
  }

  private power(): Expr {
    const base = this.primary();
    if (this.isOp("^")) {
      const caret = this.next();
      const exponent = this.unary();
      if (base.kind === "num" && base.value.num === 0n && exponent.kind === "num" && exponent.value.num < 0n)
        this.fail([], "division by zero", caret);
      return pow(base, exponent);
    }
    return base;
  }

  private primary(): Expr {
    const t = this.peek();
    if (t.kind === "number") {
      this.next();
      this.noJuxtaposition();
      return num(fromDecimal(t.text));
    }
    if (t.kind === "(") {
      this.next();
      const inner = this.expression();
      if (this.peek().kind !== ")")
        this.fail(["')'", "an operator"], `to close the '(' at column ${t.start + 1}`);
      this.next();
      this.noJuxtaposition();
      return inner;
    }
    if (t.kind === "name") {
      this.next();
      if (this.peek().kind === "(") return this.application(t);
      this.noJuxtaposition();
      if (t.text === "e") return E;
      if (t.text === "pi" || t.text === "π") return PI;
      if (FUNCTION_ALIASES.has(t.text)) this.fail(["'('"], `${t.text} is a function: write ${t.text}(...)`);
      return sym(t.text);
    }
    return this.fail(["an expression"]);
  }

  private application(name: Token): Expr {
    const open = this.next();
    const args: Expr[] = [];
    if (this.peek().kind === ")") this.fail(["an expression"], `${name.text}() needs an argument`);
    for (;;) {
      args.push(this.expression());
      const t = this.peek();
      if (t.kind === ",") {
        this.next();
        continue;
      }
      if (t.kind === ")") break;
      this.fail(["','", "')'"], `to close the '(' at column ${open.start + 1}`);
    }
    this.next();
    this.noJuxtaposition();
    if (FUNCTION_ALIASES.has(name.text)) {
      if (args.length !== 1) this.fail([], `${name.text} takes 1 argument, got ${args.length}`, name);
      return applyKnown(name.text, args);
    }
    if (name.text === "e" || name.text === "pi")
      this.fail(["an operator"], `${name.text} is a constant`, open);
    const seen = this.context.functions.get(name.text);
    if (seen && seen.arity !== args.length)
      this.fail(
        [],
        `${name.text} takes ${seen.arity} argument${seen.arity === 1 ? "" : "s"} (column ${seen.position + 1}), got ${args.length}`,
        name,
      );
    if (!seen) this.context.functions.set(name.text, { arity: args.length, position: name.start });
    return fn(name.text, args);
  }

  /** After an operand, another operand means a missing operator — usually a forgotten '*'. */
  private noJuxtaposition(): void {
    const t = this.peek();
    if (t.kind === "number" || t.kind === "name" || t.kind === "(")
      this.fail(["an operator"], "multiplication needs an explicit '*'");
  }

  atEnd(expected: string[]): void {
    if (this.peek().kind !== "end") this.fail(expected);
  }

  peekKind(): TokenKind {
    return this.peek().kind;
  }

  skip(): Token {
    return this.next();
  }
}

/** Parse one expression (a slice of `input` when start/end are given). */
export function parseExpression(
  input: string,
  context: ParseContext = newParseContext(),
  start = 0,
  end = input.length,
): Expr {
  const p = new Parser(input, tokenize(input, start, end), context);
  if (p.peekKind() === "end") p.fail(["an expression"]);
  const e = p.expression();
  p.atEnd(["an operator", "end of input"]);
  return e;
}

/** Parse `lhs = rhs` (a slice of `input`). */
export function parseEquation(
  input: string,
  context: ParseContext,
  start = 0,
  end = input.length,
): { lhs: Expr; rhs: Expr } {
  const p = new Parser(input, tokenize(input, start, end), context);
  if (p.peekKind() === "end") p.fail(["an expression"]);
  const lhs = p.expression();
  if (p.peekKind() !== "=") p.fail(["'='", "an operator"]);
  p.skip();
  if (p.peekKind() === "end") p.fail(["an expression"]);
  const rhs = p.expression();
  if (p.peekKind() === "=") p.fail(["an operator", "';'"], "only one '=' per clause");
  p.atEnd(["an operator", "';'"]);
  return { lhs, rhs };
}
