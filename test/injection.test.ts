import { describe, expect, it } from '@jest/globals';
import { inject } from './support/core.js';
import { expected } from './support/expect.js';
import { INJECTION_CASES } from './support/injection-cases.js';
import { basePod } from './support/fixture.js';

describe('SPEC cases: pod in, stored pod out (the core, no HTTP)', () => {
  it.each(INJECTION_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const pod = c.pod(basePod);
    const result = inject(pod, c.config);
    expect(result.mutation.problems).toEqual([]);
    expect(result.pod).toEqual(c.expect ? expected(pod, c.expect) : pod);
    if (!c.expect) expect(result.patch).toEqual([]);
    if (c.warnings) {
      expect(result.warnings).toHaveLength(c.warnings.length);
      c.warnings.forEach((pattern, i) => expect(result.warnings[i]).toMatch(pattern));
    }
    // Idempotent: kube-apiserver may send the mutated pod back (reinvocationPolicy: IfNeeded); what was
    // said is not said again. (A pod that got nothing has no status annotation: the same answer again.)
    const again = inject(result.pod, c.config);
    expect(again.patch).toEqual([]);
    expect(again.warnings).toEqual(result.patch.length === 0 ? result.warnings : []);
  });
});
