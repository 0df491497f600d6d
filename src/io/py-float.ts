/**
 * A Python float as the 'checkpoint' pickle policy decodes it. Pickled ints and floats would both be
 * JS numbers, and `1.0` would become indistinguishable from `1`; values that are printed back as
 * Python prints them (XLM's params → config.json) need the difference.
 */
export class PyFloat {
  constructor(readonly value: number) {}

  /** Arithmetic and comparisons see the number. */
  valueOf(): number {
    return this.value;
  }

  /** JSON.stringify sees the number. */
  toJSON(): number {
    return this.value;
  }
}
