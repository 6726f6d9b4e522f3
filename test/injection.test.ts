import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeInjectionConfig } from '../src/core/config.js';
import { expected } from './support/expect.js';
import { INJECTION_CASES } from './support/injection-cases.js';
import { admit, basePod, startTestWebhook, type TestWebhook } from './support/webhook.js';

describe('admission through the real HTTPS server: pod in, patched pod out', () => {
  let hook: TestWebhook;
  beforeAll(async () => {
    hook = await startTestWebhook();
  });
  afterAll(() => hook.close());

  it.each(INJECTION_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    hook.config = makeInjectionConfig(c.config);
    const pod = c.pod(basePod);
    const result = await admit(hook, pod);
    expect(result.response.allowed).toBe(true);
    const want = c.expect ? expected(pod, c.expect) : pod;
    expect(result.pod).toEqual(want);
    if (!c.expect) expect(result.patch).toEqual([]);
    if (c.warnings) {
      expect(result.warnings).toHaveLength(c.warnings.length);
      c.warnings.forEach((pattern, i) => expect(result.warnings[i]).toMatch(pattern));
    }
    // Idempotent: kube-apiserver may send the mutated pod back (reinvocationPolicy: IfNeeded).
    const again = await admit(hook, result.pod);
    expect(again.patch).toEqual([]);
    expect(again.warnings).toEqual([]);
  });
});
