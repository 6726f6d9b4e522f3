import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository stands on its own: a fresh clone with nothing beside it must build, test and
 * benchmark. So no file of the project may read outside its own tree, nor name a path of the
 * machine it was written on.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCANNED = ['src', 'test', 'bench', 'scripts', '.ci'];
const SOURCE = /\.(ts|js|mjs|cjs|sh|json|yaml|yml)$|^run$/;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : files(full);
    return SOURCE.test(entry.name) ? [full] : [];
  });
}

/** Relative paths written in a file (`'<up>x'`, `"<up><up>y"`), resolved against the file's folder. */
function escapingRelativePaths(file: string, text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/(?<![\w.])((?:\.\.\/)+[\w.\-/]*)/g)) {
    const relative = match[1] as string;
    const resolved = path.resolve(path.dirname(file), relative);
    if (resolved !== ROOT && !resolved.startsWith(`${ROOT}${path.sep}`)) found.push(relative);
  }
  return found;
}

// Spelled in pieces so that this file does not name them itself.
const STEERING = ['sha', 'red'].join('');
const UP = '../';

/** Absolute paths of a particular machine: home and work folders, the steering repository's files. */
const MACHINE_PATHS = new RegExp(`(?:^|[\\s'"\`(=:])(${['work', 'root', 'home/[a-z]', 'Users'].map((dir) => `/${dir}/`).join('|')}|[\\w.]*/${STEERING}/fixtures)`);

function outsideReferences(root: string = ROOT): string[] {
  const problems: string[] = [];
  for (const dir of SCANNED) {
    const full = path.join(root, dir);
    if (!statSync(full, { throwIfNoEntry: false })?.isDirectory()) continue;
    for (const file of files(full)) {
      const text = readFileSync(file, 'utf8');
      const where = path.relative(root, file);
      for (const relative of escapingRelativePaths(file, text)) problems.push(`${where}: ${relative} leaves the repository`);
      text.split('\n').forEach((line, index) => {
        const machine = MACHINE_PATHS.exec(line);
        if (machine) problems.push(`${where}:${index + 1}: names a path of one machine (${machine[1]})`);
      });
    }
  }
  return problems;
}

describe('the repository stands on its own', () => {
  it('no file under src/, test/, bench/, scripts/ or .ci/ refers to a path outside the repository', () => {
    expect(outsideReferences()).toEqual([]);
  });

  it('the check itself finds such references (it can fail)', () => {
    const file = path.join(ROOT, 'test', 'support', 'example.ts');
    const outside = `${UP.repeat(3)}${STEERING}/fixtures/x.json`;
    expect(escapingRelativePaths(file, `readFileSync(new URL('${outside}', import.meta.url))`)).toEqual([outside]);
    expect(escapingRelativePaths(file, `new URL('${UP}fixtures/admission/x.json', import.meta.url)`)).toEqual([]);
    expect(MACHINE_PATHS.test(`// kube-apiserver sends (/${'work'}/${STEERING}/fixtures/a.json)`)).toBe(true);
    expect(MACHINE_PATHS.test(`const FIXTURE = '/${'root'}/.cache/x'`)).toBe(true);
    expect(MACHINE_PATHS.test("command: ['/bin/sh', '-c', 'cat /tmp/healthy']")).toBe(false);
  });

  it('the AdmissionReview fixture is in the repository', () => {
    const review = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/admission/admissionreview-v1-pod-create.json'), 'utf8'));
    expect(review).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { operation: 'CREATE' } });
  });
});
