// Parsing flag values into numbers with errors that name the flag.
import { ValueError } from "../errors.js";

export function parseInteger(flag: string, value: string, min = 0): number {
  const n = Number(value);
  if (!/^[+-]?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new ValueError(`${flag} must be an integer ≥ ${min}, got "${value}"`);
  }
  return n;
}

export function parsePositiveNumber(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0)
    throw new ValueError(`${flag} must be a positive number, got "${value}"`);
  return n;
}

export function parseNonNegativeNumber(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0)
    throw new ValueError(`${flag} must be a number ≥ 0, got "${value}"`);
  return n;
}
