// Typed errors. Every failure a user can cause (bad shapes, bad files, bad expressions, bad flags)
// is a NablaError subclass whose message names the problem; anything else is a bug in nabla.

export class NablaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit the op: the message names the op and the shapes. */
export class ShapeError extends NablaError {}

/** A dtype the op does not accept. */
export class DTypeError extends NablaError {}

/** Misuse of autograd (backward twice, grad of a non-scalar, ...). */
export class AutogradError extends NablaError {}

/** An argument out of range or of the wrong kind. */
export class ValueError extends NablaError {}

/** A file that is missing, truncated or not in the expected format. */
export class FormatError extends NablaError {}

/** A kernel or feature that is not available on this backend or build. */
export class NotSupportedError extends NablaError {}
