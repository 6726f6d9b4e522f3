/**
 * Text from Nacos or a pod, made fit for a condition message, an Event or a log line: control
 * characters and line breaks replaced, and cut to a bound (Nacos answers are validated by the
 * client, but their strings are whatever was registered).
 */
export function printable(text: string, limit = 120): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return clean.length <= limit ? clean : `${clean.slice(0, limit)}…`;
}
