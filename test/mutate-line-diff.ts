/**
 * For the `mutate` tests: is `output` the `input` with lines inserted? Lines are compared with
 * their line breaks, so a CRLF line that became LF counts as changed. Input lines are matched in
 * order; an input line with no match is a changed line (reported with its 1-based number). The
 * input's last line, when it has no line break, may gain one (lines were inserted after it).
 */
export function insertedOnly(input: string, output: string): { readonly changed: readonly string[]; readonly inserted: number } {
  const lines = (text: string) => text.split(/(?<=\n)/);
  const before = lines(input);
  const after = lines(output);
  const changed: string[] = [];
  let at = 0;
  for (const [index, line] of before.entries()) {
    let found = after.indexOf(line, at);
    if (found === -1 && index === before.length - 1 && !line.endsWith('\n')) {
      found = Math.max(after.indexOf(`${line}\n`, at), after.indexOf(`${line}\r\n`, at));
    }
    if (found === -1) {
      changed.push(`${index + 1}: ${JSON.stringify(line)}`);
      continue;
    }
    at = found + 1;
  }
  return { changed, inserted: after.length - (before.length - changed.length) };
}
