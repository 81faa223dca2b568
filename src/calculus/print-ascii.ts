// The answer syntax: plain ASCII that the parser reads back (except f_1-style partials, which read
// back as plain symbols). -F_1*z/(F_1*x + F_2), 2*y^2*ln(x^2 + y^2)/x^3, exp(z), sqrt(x).
import type { Expr } from "./expr.js";
import { displayTerms, fraction, isNegativeTerm, type PrintOptions } from "./layout.js";
import { neg } from "./expr.js";
import * as Q from "./rational.js";

// Precedence: what binds tighter prints without parentheses inside what binds looser.
const SUM = 1;
const PRODUCT = 2;
const POWER = 3;
const ATOM = 4;

export interface AsciiOptions extends PrintOptions {
  /** "sympy" prints ** for powers and log, E, Abs, so SymPy can read the expression. */
  readonly dialect?: "nabla" | "sympy";
}

export function toAscii(e: Expr, options: AsciiOptions = {}): string {
  return new AsciiPrinter(options).print(e, 0);
}

/** An abstract partial's name: f, f_1, f_12, f_1_10 (slots above 9 are separated). */
export function partialName(name: string, slots: readonly number[], sep = "_"): string {
  if (slots.length === 0) return name;
  return name + sep + (slots.some((s) => s > 9) ? slots.join("_") : slots.join(""));
}

class AsciiPrinter {
  private readonly sympy: boolean;

  constructor(private readonly options: AsciiOptions) {
    this.sympy = options.dialect === "sympy";
  }

  print(e: Expr, context: number): string {
    const [text, precedence] = this.render(e);
    return precedence < context ? `(${text})` : text;
  }

  private render(e: Expr): [string, number] {
    switch (e.kind) {
      case "num":
        if (Q.isNegative(e.value)) return [`-${Q.toString(Q.neg(e.value))}`, SUM];
        return [Q.toString(e.value), e.value.den === 1n ? ATOM : PRODUCT];
      case "sym":
        return [e.name, ATOM];
      case "const":
        return [this.sympy ? (e.name === "e" ? "E" : "pi") : e.name, ATOM];
      case "partial":
        return [partialText(e.of, e.wrt), ATOM];
      case "call":
        return [`${this.functionName(e.name)}(${e.args.map((a) => this.print(a, 0)).join(", ")})`, ATOM];
      case "fn": {
        const head = partialName(e.name, e.slots);
        // SymPy needs f(x, y) itself with its arguments; answers name f_1 etc. like symbols.
        const showArguments = this.sympy ? e.slots.length === 0 : this.options.withArguments?.has(e.name);
        return [showArguments ? `${head}(${e.args.map((a) => this.print(a, 0)).join(", ")})` : head, ATOM];
      }
      case "add":
        return [this.sum(e.args), SUM];
      case "mul":
        return this.product(e);
      case "pow":
        if (e.exp.kind === "num" && Q.isNegative(e.exp.value)) return this.product(e);
        return this.power(e.base, e.exp);
    }
  }

  private functionName(name: string): string {
    if (!this.sympy) return name;
    return name === "ln" ? "log" : name === "abs" ? "Abs" : name;
  }

  private sum(terms: readonly Expr[]): string {
    let out = "";
    displayTerms(terms).forEach((t, i) => {
      const negative = isNegativeTerm(t);
      const body = this.print(negative ? neg(t) : t, PRODUCT);
      out += i === 0 ? (negative ? `-${body}` : body) : negative ? ` - ${body}` : ` + ${body}`;
    });
    return out;
  }

  private power(base: Expr, exp: Expr): [string, number] {
    if (base.kind === "const" && base.name === "e") return [`exp(${this.print(exp, 0)})`, ATOM];
    if (exp.kind === "num" && exp.value.num === 1n && exp.value.den === 2n)
      return [`sqrt(${this.print(base, 0)})`, ATOM];
    const op = this.sympy ? "**" : "^";
    return [`${this.print(base, ATOM)}${op}${this.print(exp, ATOM)}`, POWER];
  }

  private product(e: Expr): [string, number] {
    const f = fraction(e);
    const top = [
      ...(f.numCoeff !== 1n || f.numerator.length === 0 ? [f.numCoeff.toString()] : []),
      ...f.numerator.map((x) => this.print(x, PRODUCT)),
    ].join("*");
    const bottomParts = [
      ...(f.denCoeff !== 1n ? [f.denCoeff.toString()] : []),
      ...f.denominator.map((x) =>
        this.print(x, f.denominator.length + (f.denCoeff !== 1n ? 1 : 0) > 1 ? PRODUCT : POWER),
      ),
    ];
    const sign = f.negative ? "-" : "";
    if (bottomParts.length === 0) return [sign + top, f.negative ? SUM : PRODUCT];
    const bottom = bottomParts.length > 1 ? `(${bottomParts.join("*")})` : bottomParts[0]!;
    return [`${sign}${top}/${bottom}`, f.negative ? SUM : PRODUCT];
  }
}

/** dz/dx, d2z/dxdy, d3z/dx2dy — the find syntax. */
export function partialText(of: string, wrt: readonly string[]): string {
  const order = wrt.length;
  return `d${order > 1 ? order : ""}${of}/${groupRuns(wrt)
    .map(([v, k]) => `d${v}${k > 1 ? k : ""}`)
    .join("")}`;
}

/** ["x", "x", "y"] → [["x", 2], ["y", 1]]. */
export function groupRuns(vars: readonly string[]): [string, number][] {
  const out: [string, number][] = [];
  for (const v of vars) {
    const last = out[out.length - 1];
    if (last && last[0] === v) last[1]++;
    else out.push([v, 1]);
  }
  return out;
}
