/** A pod as the tests handle it: plain JSON. */
export type Pod = Record<string, any>;

export function clone<T>(value: T): T {
  return structuredClone(value);
}
