import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as v from 'valibot';
import { POD_KEYS, PREFIX, PROBE_KEY_SUFFIXES, PROBE_KINDS } from '../src/core/annotation-keys.js';
import { ConfigFileSchema } from '../src/config/config-file.js';

/**
 * README is the front door: every annotation, config key, subcommand and flag the code accepts is
 * documented there. Each list below is read from the code (the annotation vocabulary, the config
 * schema, `--help` of the built CLI), so a key or flag added without a word in README fails here.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const CLI = path.join(ROOT, 'dist', 'cli.js');

/** Leaf and inner keys of a valibot object schema, as dotted paths (`*` for a record's key). */
function configPaths(schema: v.GenericSchema, prefix = ''): string[] {
  const node = schema as unknown as { type: string; wrapped?: v.GenericSchema; entries?: Record<string, v.GenericSchema>; value?: v.GenericSchema };
  if (node.type === 'optional' && node.wrapped) return configPaths(node.wrapped, prefix);
  if (node.type === 'record' && node.value) return configPaths(node.value, `${prefix}*.`);
  if (node.type !== 'object' || !node.entries) return [];
  return Object.entries(node.entries).flatMap(([key, entry]) => [`${prefix}${key}`, ...configPaths(entry, `${prefix}${key}.`)]);
}

/** The configuration section's text (its YAML example and prose). */
function section(title: string): string {
  const start = README.indexOf(`\n## ${title}`);
  if (start < 0) throw new Error(`README has no "## ${title}" section`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

function help(...args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args, '--help'], { encoding: 'utf8' });
}

describe('README documents what the code accepts', () => {
  it.each(POD_KEYS.map((key) => [key]))('annotation %s', (key) => {
    const mentioned = README.includes(`${PREFIX}${key}:`) || README.includes(`\`${key}\``);
    expect(mentioned).toBe(true);
  });

  it.each(PROBE_KINDS.map((kind) => [kind]))('annotation %s (turning the probe off)', (kind) => {
    expect(README.includes(`${PREFIX}${kind}:`) || README.includes('`{probe}`')).toBe(true);
  });

  it.each(PROBE_KEY_SUFFIXES.map((suffix) => [suffix]))('per-probe annotation {probe}-%s', (suffix) => {
    const example = PROBE_KINDS.some((kind) => README.includes(`${PREFIX}${kind}-${suffix}:`));
    expect(example).toBe(true);
  });

  const config = section('Configuration');
  it.each(configPaths(ConfigFileSchema as unknown as v.GenericSchema).map((key) => [key]))('config key %s', (key) => {
    const leaf = key.split('.').at(-1) as string;
    // In the YAML example as a key, or named in its comments ("also: enabled, …").
    expect(new RegExp(`(^|[\\s{,])${leaf}:|also:[^\\n]*\\b${leaf}\\b`, 'm').test(config)).toBe(true);
  });

  const commands = [...help().matchAll(/^ {2}([a-z]+) \[options\]/gm)].map((match) => match[1] as string);

  it('the CLI has the subcommands README describes', () => {
    expect(commands.sort()).toEqual(['certs', 'check', 'controller', 'mutate', 'serve']);
    expect(README).toContain('probe-injector --version');
  });

  it.each(['certs', 'check', 'controller', 'mutate', 'serve'].map((command) => [command]))('subcommand %s and each of its flags', (command) => {
    expect(README).toContain(`### \`probe-injector ${command}\``);
    // `-f, --filename <file>`: either spelling counts.
    const flags = [...help(command).matchAll(/^ {2}(?:(-\w), )?(--[a-z-]+)/gm)]
      .map((match) => ({ short: match[1], long: match[2] as string }))
      .filter((flag) => flag.long !== '--help');
    expect(flags.length).toBeGreaterThan(0);
    const start = README.indexOf(`### \`probe-injector ${command}\``);
    const ends = [README.indexOf('\n### ', start + 1), README.indexOf('\n## ', start + 1)].filter((index) => index > 0);
    const text = README.slice(start, Math.min(...ends));
    const missing = flags.filter((flag) => !text.includes(flag.long) && !(flag.short && text.includes(`${flag.short} `))).map((flag) => flag.long);
    expect(missing).toEqual([]);
  });
});
