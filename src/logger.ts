/** The logging the shells need; pino's logger satisfies it, tests pass a recorder. */
export interface Logger {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}
