"""Step 2 of the SymPy comparison: SymPy's answers to the suite, simplified with simplify().

Reads bench/calculus/sympy-input.json (from export-sympy.ts), writes sympy-answers.json with, for
each derivative, SymPy's simplified answer in nabla's answer syntax (abstract partials as f_1,
f_12 symbols, so both sides count the same things) and the time SymPy took (diff + simplify).

Implicit unknowns become functions of the independent variables; their derivatives come from
the differentiated equations (sympy.solve of the linear system), higher orders by differentiating
again and substituting — the usual way to do it in SymPy.

    /usr/bin/python3 bench/calculus/sympy_reference.py
"""
import json
import os
import signal
import sys
import time

import sympy
from sympy import Derivative, Function, Subs, Symbol
from sympy.core.function import AppliedUndef
from sympy.parsing.sympy_parser import parse_expr
from sympy.printing.str import StrPrinter

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 30


class NablaPrinter(StrPrinter):
    """Prints in nabla's syntax: e, pi, abs(...)."""

    def _print_Exp1(self, expr):
        return "e"

    def _print_Pi(self, expr):
        return "pi"

    def _print_Abs(self, expr):
        return "abs(%s)" % self._print(expr.args[0])


def slot_name(name, slots):
    slots = sorted(slots)
    if any(s > 9 for s in slots):
        return name + "_" + "_".join(map(str, slots))
    return name + "_" + "".join(map(str, slots))


def atomize(e, abstract):
    """Replace f(...) by the symbol f and its derivatives by f_1, f_12 ... (evaluated at its arguments)."""
    if isinstance(e, Subs) and isinstance(e.expr, Derivative) and isinstance(e.expr.expr, AppliedUndef):
        d = e.expr
        f = d.expr
        slots = [f.args.index(v) + 1 for v, n in d.variable_count for _ in range(n)]
        return Symbol(slot_name(f.func.__name__, slots))
    if isinstance(e, Derivative) and isinstance(e.expr, AppliedUndef) and e.expr.func.__name__ in abstract:
        f = e.expr
        slots = [f.args.index(v) + 1 for v, n in e.variable_count for _ in range(n)]
        return Symbol(slot_name(f.func.__name__, slots))
    if isinstance(e, AppliedUndef) and e.func.__name__ in abstract:
        return Symbol(e.func.__name__)
    if e.args:
        return e.func(*[atomize(a, abstract) for a in e.args])
    return e


class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout()


def solve_problem(item):
    names = {}
    for name in item["functions"]:
        names[name] = Function(name)
    symbols = set(item["independents"]) | set(item["parameters"]) | set(item["unknowns"])
    for s in symbols:
        names[s] = Symbol(s, real=True)  # nabla works over the reals too
    names["e"] = sympy.E
    names["E"] = sympy.E
    names["pi"] = sympy.pi
    for n in ["sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan", "sinh", "cosh", "tanh", "log", "exp", "sqrt", "Abs"]:
        names[n] = getattr(sympy, n)
    parse = lambda s: parse_expr(s, local_dict=names)
    indep = [names[v] for v in item["independents"]]
    # Unknowns as functions of the independent variables.
    as_function = {names[u]: Function(u + "_")(*indep) for u in item["unknowns"]}
    back = {f: names[u] for u, f in zip(item["unknowns"], as_function.values())}
    equations = [parse(e).subs(as_function) for e in item["equations"]]
    unknown_fns = list(as_function.values())
    first = {}

    def first_order(var):
        if var not in first:
            ds = [Derivative(f, var) for f in unknown_fns]
            placeholders = [Symbol("_d%d" % i) for i in range(len(ds))]
            eqs = [sympy.diff(e, var).subs(dict(zip(ds, placeholders))) for e in equations]
            sol = sympy.solve(eqs, placeholders, dict=True)[0]
            first[var] = {d: sol[p] for d, p in zip(ds, placeholders)}
        return first[var]

    results = []
    abstract = set(item["functions"])
    for f in item["finds"]:
        start = time.perf_counter()
        expr = parse(f["target"]).subs(as_function)
        for v in reversed(f["vars"]):
            expr = sympy.diff(expr, names[v])
            if unknown_fns:
                expr = expr.subs(first_order(names[v]))
        expr = atomize(expr.subs(back), abstract)
        simplified = sympy.simplify(expr)
        elapsed = (time.perf_counter() - start) * 1000
        results.append({"find": f["find"], "answer": NablaPrinter().doprint(simplified), "ms": elapsed})
    return results


def main():
    with open(os.path.join(HERE, "sympy-input.json")) as fh:
        items = json.load(fh)
    out = []
    signal.signal(signal.SIGALRM, on_alarm)
    for i, item in enumerate(items):
        signal.alarm(TIMEOUT)
        start = time.perf_counter()
        try:
            answers = solve_problem(item)
            error = None
        except Timeout:
            answers, error = [], "timeout after %ds" % TIMEOUT
        except Exception as exc:  # noqa: BLE001 - record and continue
            answers, error = [], "%s: %s" % (type(exc).__name__, exc)
        finally:
            signal.alarm(0)
        total = (time.perf_counter() - start) * 1000
        entry = {"problem": item["problem"], "answers": answers, "ms": total}
        if error:
            entry["error"] = error
        out.append(entry)
        print("%3d/%d %8.1f ms %s%s" % (i + 1, len(items), total, item["problem"][:70], " ERROR " + error if error else ""), file=sys.stderr)
    with open(os.path.join(HERE, "sympy-answers.json"), "w") as fh:
        json.dump({"sympy": sympy.__version__, "problems": out}, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
