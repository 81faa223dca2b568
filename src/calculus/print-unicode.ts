// Pretty text for terminals: −F₁·z/(F₁·x + F₂), x²·ln(x² + y²), √(x), ∂²z/∂x∂y.
import { neg, type Expr } from "./expr.js";
import { displayTerms, fraction, isNegativeTerm, type PrintOptions } from "./layout.js";
import { groupRuns } from "./print-ascii.js";
import * as Q from "./rational.js";

const SUM = 1;
const PRODUCT = 2;
const POWER = 3;
const ATOM = 4;

const SUPERSCRIPT: Record<string, string> = {
  "0": "⁰",
  "1": "¹",
  "2": "²",
  "3": "³",
  "4": "⁴",
  "5": "⁵",
  "6": "⁶",
  "7": "⁷",
  "8": "⁸",
  "9": "⁹",
  "-": "⁻",
};
const SUBSCRIPT: Record<string, string> = {
  "0": "₀",
  "1": "₁",
  "2": "₂",
  "3": "₃",
  "4": "₄",
  "5": "₅",
  "6": "₆",
  "7": "₇",
  "8": "₈",
  "9": "₉",
  ",": "‚",
};

const superscript = (s: string): string => [...s].map((c) => SUPERSCRIPT[c] ?? c).join("");
const subscript = (s: string): string => [...s].map((c) => SUBSCRIPT[c] ?? c).join("");

const NAMES: Record<string, string> = { asin: "arcsin", acos: "arccos", atan: "arctan" };

export function toUnicode(e: Expr, options: PrintOptions = {}): string {
  return new UnicodePrinter(options).print(e, 0);
}

/** ∂z/∂x, ∂²z/∂x∂y, ∂³z/∂x²∂y; with `total`, dz/dx. */
export function partialUnicode(of: string, wrt: readonly string[], total = false): string {
  const d = total ? "d" : "∂";
  const order = wrt.length > 1 ? superscript(String(wrt.length)) : "";
  const below = groupRuns(wrt)
    .map(([v, k]) => `${d}${v}${k > 1 ? superscript(String(k)) : ""}`)
    .join("");
  return `${d}${order}${of}/${below}`;
}

class UnicodePrinter {
  constructor(private readonly options: PrintOptions) {}

  print(e: Expr, context: number): string {
    const [text, precedence] = this.render(e);
    return precedence < context ? `(${text})` : text;
  }

  private render(e: Expr): [string, number] {
    switch (e.kind) {
      case "num":
        if (Q.isNegative(e.value)) return [`−${Q.toString(Q.neg(e.value))}`, SUM];
        return [Q.toString(e.value), e.value.den === 1n ? ATOM : PRODUCT];
      case "sym":
        return [e.name, ATOM];
      case "const":
        return [e.name === "pi" ? "π" : "e", ATOM];
      case "partial":
        return [partialUnicode(e.of, e.wrt, e.total), ATOM];
      case "call":
        if (e.name === "abs") return [`|${this.print(e.args[0]!, 0)}|`, ATOM];
        return [`${NAMES[e.name] ?? e.name}(${e.args.map((a) => this.print(a, 0)).join(", ")})`, ATOM];
      case "fn": {
        const slots = e.slots.some((s) => s > 9) ? e.slots.join(",") : e.slots.join("");
        const head = e.name + subscript(slots);
        if (!this.options.withArguments?.has(e.name)) return [head, ATOM];
        return [`${head}(${e.args.map((a) => this.print(a, 0)).join(", ")})`, ATOM];
      }
      case "add": {
        let out = "";
        displayTerms(e.args).forEach((t, i) => {
          const negative = isNegativeTerm(t);
          const body = this.print(negative ? neg(t) : t, PRODUCT);
          out += i === 0 ? (negative ? `−${body}` : body) : negative ? ` − ${body}` : ` + ${body}`;
        });
        return [out, SUM];
      }
      case "mul":
        return this.product(e);
      case "pow":
        if (e.exp.kind === "num" && Q.isNegative(e.exp.value)) return this.product(e);
        return this.power(e.base, e.exp);
    }
  }

  private power(base: Expr, exp: Expr): [string, number] {
    if (exp.kind === "num" && exp.value.num === 1n && exp.value.den === 2n)
      return [`√(${this.print(base, 0)})`, ATOM];
    if (exp.kind === "num" && exp.value.den === 1n)
      return [this.print(base, ATOM) + superscript(exp.value.num.toString()), POWER];
    return [`${this.print(base, ATOM)}^${this.print(exp, ATOM)}`, POWER];
  }

  private product(e: Expr): [string, number] {
    const f = fraction(e);
    const top = [
      ...(f.numCoeff !== 1n || f.numerator.length === 0 ? [f.numCoeff.toString()] : []),
      ...f.numerator.map((x) => this.print(x, PRODUCT)),
    ].join("·");
    const parts = [...(f.denCoeff !== 1n ? [f.denCoeff.toString()] : []), ...f.denominator];
    const bottomParts = parts.map((x) =>
      typeof x === "string" ? x : this.print(x, parts.length > 1 ? PRODUCT : POWER),
    );
    const sign = f.negative ? "−" : "";
    if (bottomParts.length === 0) return [sign + top, f.negative ? SUM : PRODUCT];
    const bottom = bottomParts.length > 1 ? `(${bottomParts.join("·")})` : bottomParts[0]!;
    return [`${sign}${top}/${bottom}`, f.negative ? SUM : PRODUCT];
  }
}
