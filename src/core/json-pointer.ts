/** RFC 6901: `~` becomes `~0`, then `/` becomes `~1` (annotation keys contain `/`). */
export function escapePointerToken(token: string): string {
  if (!token.includes('~') && !token.includes('/')) return token;
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

export function pointer(...tokens: (string | number)[]): string {
  return tokens.map((token) => `/${escapePointerToken(String(token))}`).join('');
}
