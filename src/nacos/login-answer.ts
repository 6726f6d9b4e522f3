import * as v from 'valibot';
import { describeIssues, parseJson } from './answer.js';
import { NacosError } from './nacos-error.js';

/**
 * The answer of `POST {ctx}/v1/auth/login` and `POST {ctx}/v3/auth/user/login` (default auth
 * plugin): `{"accessToken": "…", "tokenTtl": 18000, "globalAdmin": false, "username": "…"}`, a plain
 * object in both versions (https://nacos.io/docs/v2/guide/user/auth/, "Open-API鉴权";
 * https://nacos.io/docs/latest/manual/user/auth/). `tokenTtl` is in seconds.
 */

export interface NacosLogin {
  /** Empty when Nacos runs without auth (nothing to send). */
  readonly accessToken: string;
  readonly ttlSeconds: number;
}

const LoginSchema = v.object({
  accessToken: v.pipe(v.string(), v.maxLength(16 * 1024)),
  tokenTtl: v.pipe(v.number(), v.finite(), v.minValue(0)),
});

export function parseLogin(text: string): NacosLogin {
  // Never quotes the answer itself: it may hold a token.
  const result = v.safeParse(LoginSchema, parseJson(text, 'the login answer', { quoteInput: false }));
  if (!result.success) throw new NacosError('malformed', `the login answer is not a Nacos login: ${describeIssues(result.issues, { quoteInput: false })}`);
  return { accessToken: result.output.accessToken, ttlSeconds: result.output.tokenTtl };
}
