import { describe, expect, it } from '@jest/globals';
import { formatSelector, selects, type LabelSelector } from '../src/check/label-selector.js';

/**
 * Label selectors as kube-apiserver evaluates a webhook's namespaceSelector (apimachinery's
 * `LabelSelectorAsSelector`): matchLabels and every matchExpressions requirement must hold.
 */
const NS = { 'kubernetes.io/metadata.name': 'shop', team: 'shop', tier: '' };

describe('selects', () => {
  it.each<[string, LabelSelector | null | undefined, boolean]>([
    ['absent selector: everything', undefined, true],
    ['null selector: everything', null, true],
    ['empty selector: everything', {}, true],
    ['matchLabels met', { matchLabels: { team: 'shop' } }, true],
    ['matchLabels, other value', { matchLabels: { team: 'pay' } }, false],
    ['matchLabels, key absent', { matchLabels: { env: 'prod' } }, false],
    ['matchLabels, empty value present', { matchLabels: { tier: '' } }, true],
    ['matchLabels, all of them', { matchLabels: { team: 'shop', env: 'prod' } }, false],
    ['In, value listed', { matchExpressions: [{ key: 'team', operator: 'In', values: ['pay', 'shop'] }] }, true],
    ['In, value not listed', { matchExpressions: [{ key: 'team', operator: 'In', values: ['pay'] }] }, false],
    ['In, key absent', { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] }, false],
    ['NotIn, value listed', { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'shop'] }] }, false],
    ['NotIn, value not listed', { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] }] }, true],
    ['NotIn, key absent (clusters before 1.21 have no kubernetes.io/metadata.name label)', { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, true],
    ['Exists', { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, true],
    ['Exists, absent', { matchExpressions: [{ key: 'env', operator: 'Exists' }] }, false],
    ['DoesNotExist', { matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] }, true],
    ['DoesNotExist, present', { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }, false],
    ['unknown operator never matches', { matchExpressions: [{ key: 'team', operator: 'Equals', values: ['shop'] }] }, false],
    ['matchLabels and expressions together, both met', { matchLabels: { team: 'shop' }, matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] }, true],
    ['matchLabels and expressions together, one not met', { matchLabels: { team: 'shop' }, matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['shop'] }] }, false],
    ['a key named __proto__ is a label like any other (absent here)', { matchLabels: JSON.parse('{"__proto__":"x"}') }, false],
  ])('%s', (_name, selector, expected) => {
    expect(selects(selector, NS)).toBe(expected);
  });

  it('a label named like an Object.prototype member is not present unless set', () => {
    expect(selects({ matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, NS)).toBe(false);
    expect(selects({ matchExpressions: [{ key: 'constructor', operator: 'DoesNotExist' }] }, NS)).toBe(true);
  });
});

describe('formatSelector', () => {
  it.each<[LabelSelector | undefined, string]>([
    [undefined, '(everything)'],
    [{ matchLabels: { team: 'shop' } }, 'team=shop'],
    [
      { matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['x', 'y'] }, { key: 'b', operator: 'Exists' }, { key: 'c', operator: 'DoesNotExist' }] },
      'a notin (x,y), b, !c',
    ],
  ])('%j → %s', (selector, text) => {
    expect(formatSelector(selector)).toBe(text);
  });
});
