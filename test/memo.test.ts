import { describe, expect, it } from '@jest/globals';
import { memoizedMutatePod } from '../src/admission/memo.js';
import { makeInjectionConfig } from '../src/core/config.js';
import { mutatePod } from '../src/core/mutation.js';
import { isPod, type Pod as CorePod } from '../src/core/pod.js';
import { basePod } from './support/fixture.js';
import type { Pod } from './support/pod.js';

/**
 * The admission memo (src/admission/memo.ts): a repeated pod content gets the answer already
 * computed, per configuration, within a bound. (That equal keys mean equal answers is a property
 * in fuzz-core.test.ts; this is the cache around it.)
 */
const asCore = (pod: Pod): CorePod => {
  if (!isPod(pod)) throw new Error('not a pod');
  return pod;
};
const opted = (port: string) => asCore(basePod({ 'probe-injector.io/inject': 'true', 'probe-injector.io/readiness-port': port }));

describe('the admission memo', () => {
  it('a replica (another name, the same content) gets the answer already computed; it equals a fresh one', () => {
    const config = makeInjectionConfig();
    const first = memoizedMutatePod(opted('8080'), config);
    const replica = opted('8080');
    replica.metadata!.name = 'orders-7d9f-x2k4q';
    const again = memoizedMutatePod(replica, config);
    expect(again).toBe(first);
    expect(again).toEqual(mutatePod(replica, config));
  });

  it('another configuration (a reload makes a new object) is never answered from the old one', () => {
    const pod = opted('8080');
    const strict = memoizedMutatePod(pod, makeInjectionConfig());
    const lenient = memoizedMutatePod(pod, makeInjectionConfig({ injectByDefault: true, profiles: { default: { readiness: { periodSeconds: 9 } } } }));
    expect(lenient).not.toBe(strict);
    expect(JSON.stringify(lenient.patch)).toContain('"periodSeconds":9');
  });

  it('is bounded: after 512 other contents the first is computed again', () => {
    const config = makeInjectionConfig();
    const first = memoizedMutatePod(opted('1'), config);
    expect(memoizedMutatePod(opted('1'), config)).toBe(first);
    for (let port = 2; port <= 513; port++) memoizedMutatePod(opted(String(port)), config);
    const later = memoizedMutatePod(opted('1'), config);
    expect(later).not.toBe(first);
    expect(later).toEqual(first);
  });

  it('a pod too big to key cheaply (over 16 containers) is computed every time', () => {
    const config = makeInjectionConfig();
    const big = () => {
      const pod = basePod({ 'probe-injector.io/inject': 'true' });
      for (let i = 0; i < 20; i++) pod.spec.containers.push({ name: `side-${i}`, image: 'x' });
      return asCore(pod);
    };
    const first = memoizedMutatePod(big(), config);
    expect(memoizedMutatePod(big(), config)).not.toBe(first);
  });
});
