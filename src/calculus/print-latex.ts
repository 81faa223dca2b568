// LaTeX: -\frac{F_{1} z}{F_{1} x + F_{2}}, \frac{\partial^{2} z}{\partial x \partial y}.
import { neg, type Expr } from "./expr.js";
import { displayTerms, fraction, isNegativeTerm, type PrintOptions } from "./layout.js";
import { groupRuns } from "./print-ascii.js";
import * as Q from "./rational.js";

const SUM = 1;
const PRODUCT = 2;
const POWER = 3;
const ATOM = 4;

const COMMANDS: Record<string, string> = {
  ln: "\\ln",
  sin: "\\sin",
  cos: "\\cos",
  tan: "\\tan",
  cot: "\\cot",
  sec: "\\sec",
  csc: "\\csc",
  asin: "\\arcsin",
  acos: "\\arccos",
  atan: "\\arctan",
  sinh: "\\sinh",
  cosh: "\\cosh",
  tanh: "\\tanh",
};

const GREEK = new Set([
  "alpha",
  "beta",
  "gamma",
  "delta",
  "epsilon",
  "zeta",
  "eta",
  "theta",
  "iota",
  "kappa",
  "lambda",
  "mu",
  "nu",
  "xi",
  "rho",
  "sigma",
  "tau",
  "upsilon",
  "phi",
  "chi",
  "psi",
  "omega",
  "Gamma",
  "Delta",
  "Theta",
  "Lambda",
  "Xi",
  "Sigma",
  "Phi",
  "Psi",
  "Omega",
]);

/** A variable or function name: Greek names become commands, long names upright, x_1 subscripts. */
export function latexName(name: string): string {
  const m = /^([^_]+)_(.+)$/.exec(name);
  if (m) return `${latexName(m[1]!)}_{${m[2]}}`;
  if (GREEK.has(name)) return `\\${name}`;
  if ([...name].length > 1) return `\\operatorname{${name}}`;
  return name;
}

export function toLatex(e: Expr, options: PrintOptions = {}): string {
  return new LatexPrinter(options).print(e, 0);
}

/** \frac{\partial^{2} z}{\partial x \partial y}; with `total`, \frac{dz}{dx}. */
export function partialLatex(of: string, wrt: readonly string[], total = false): string {
  const d = total ? "d" : "\\partial ";
  const order = wrt.length > 1 ? `^{${wrt.length}}` : "";
  const below = groupRuns(wrt)
    .map(([v, k]) => `${d}${latexName(v)}${k > 1 ? `^{${k}}` : ""}`)
    .join(" ");
  return `\\frac{${d}${order}${total ? "" : " "}${latexName(of)}}{${below}}`.replace(/ +/g, " ");
}

const paren = (s: string): string => `\\left(${s}\\right)`;

class LatexPrinter {
  constructor(private readonly options: PrintOptions) {}

  print(e: Expr, context: number): string {
    const [text, precedence] = this.render(e);
    return precedence < context ? paren(text) : text;
  }

  private render(e: Expr): [string, number] {
    switch (e.kind) {
      case "num": {
        const v = Q.abs(e.value);
        const body = v.den === 1n ? v.num.toString() : `\\frac{${v.num}}{${v.den}}`;
        if (Q.isNegative(e.value)) return [`-${body}`, SUM];
        return [body, v.den === 1n ? ATOM : PRODUCT];
      }
      case "sym":
        return [latexName(e.name), ATOM];
      case "const":
        return [e.name === "pi" ? "\\pi" : "e", ATOM];
      case "partial":
        return [partialLatex(e.of, e.wrt, e.total), ATOM];
      case "call": {
        const arg = this.print(e.args[0]!, 0);
        if (e.name === "abs") return [`\\left|${arg}\\right|`, ATOM];
        return [`${COMMANDS[e.name] ?? `\\operatorname{${e.name}}`}${paren(arg)}`, ATOM];
      }
      case "fn": {
        const slots = e.slots.some((s) => s > 9) ? e.slots.join(",") : e.slots.join("");
        const head = slots ? `${latexName(e.name)}_{${slots}}` : latexName(e.name);
        if (!this.options.withArguments?.has(e.name)) return [head, ATOM];
        return [`${head}${paren(e.args.map((a) => this.print(a, 0)).join(", "))}`, ATOM];
      }
      case "add": {
        let out = "";
        displayTerms(e.args).forEach((t, i) => {
          const negative = isNegativeTerm(t);
          const body = this.print(negative ? neg(t) : t, PRODUCT);
          out += i === 0 ? (negative ? `-${body}` : body) : negative ? ` - ${body}` : ` + ${body}`;
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
      return [`\\sqrt{${this.print(base, 0)}}`, ATOM];
    // Powers of functions read better with the argument kept whole: \sin\left(x\right)^{2}.
    return [`${this.print(base, ATOM)}^{${this.print(exp, 0)}}`, POWER];
  }

  /** Juxtapose factors, with \cdot only where two numbers would run together. */
  private juxtapose(parts: string[]): string {
    let out = "";
    for (const p of parts) {
      if (out === "") out = p;
      else out += /^[\d.]/.test(p) ? ` \\cdot ${p}` : ` ${p}`;
    }
    return out;
  }

  private product(e: Expr): [string, number] {
    const f = fraction(e);
    const topParts = [
      ...(f.numCoeff !== 1n || f.numerator.length === 0 ? [f.numCoeff.toString()] : []),
      ...f.numerator.map((x) => this.print(x, PRODUCT)),
    ];
    // Inside \frac{…}{…} a lone factor needs no parentheses.
    const inFraction = f.denominator.length > 0 || f.denCoeff !== 1n;
    if (inFraction && f.numerator.length === 1 && f.numCoeff === 1n)
      topParts[0] = this.print(f.numerator[0]!, 0);
    const bottomParts = [
      ...(f.denCoeff !== 1n ? [f.denCoeff.toString()] : []),
      ...f.denominator.map((x) =>
        this.print(x, f.denominator.length === 1 && f.denCoeff === 1n ? 0 : PRODUCT),
      ),
    ];
    const sign = f.negative ? "-" : "";
    const top = this.juxtapose(topParts);
    if (bottomParts.length === 0) return [sign + top, f.negative ? SUM : PRODUCT];
    return [`${sign}\\frac{${top}}{${this.juxtapose(bottomParts)}}`, f.negative ? SUM : PRODUCT];
  }
}
