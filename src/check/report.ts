import { bounded, plain, quote } from '../core/text.js';
import type { Added, CheckRow, WaitingPod } from './decide.js';
import type { PodWebhook, Selection } from './webhook.js';

/**
 * How `check` says what it found: an aligned table (one short row per object, then the problems
 * and the pods waiting on the gate in full), or `-o json`, a stable shape for scripts
 * (docs/check.md). Pure: text in, text out. Everything from the cluster is escaped and cut.
 */

export const REPORT_KIND = 'ProbeInjectorCheck';
export const REPORT_VERSION = 1;

export interface NamespaceSummary {
  readonly name: string;
  readonly webhook: Selection;
}

export interface CheckReport {
  readonly kubernetesVersion: string;
  readonly conditionType: string;
  /** `-n NS`, or undefined with `-A`. */
  readonly namespace?: string | undefined;
  readonly webhooks: readonly PodWebhook[];
  readonly namespaces: readonly NamespaceSummary[];
  readonly rows: readonly CheckRow[];
}

export function problemCount(report: CheckReport): number {
  return report.rows.reduce((sum, row) => sum + row.problems.length, 0);
}

// ------------------------------------------------------------------------------------ JSON

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

function waitingJson(pod: WaitingPod) {
  return {
    pod: pod.pod,
    status: pod.status,
    reason: pod.reason ?? null,
    message: pod.message ?? null,
    since: iso(pod.since),
    seconds: pod.seconds ?? null,
    containersReady: pod.containersReady,
    labelled: pod.labelled,
  };
}

function addedJson(added: Added) {
  return {
    containers: added.containers,
    readinessGates: added.readinessGates,
    labels: added.labels,
    terminationGracePeriodSeconds: added.terminationGracePeriodSeconds ?? null,
  };
}

function selectionJson(selection: Selection) {
  return selection.selected ? { selected: true, by: selection.by } : { selected: false, why: selection.why, text: selection.text };
}

/** The `-o json` document (docs/check.md describes every field). */
export function reportJson(report: CheckReport): string {
  const document = {
    kind: REPORT_KIND,
    version: REPORT_VERSION,
    kubernetesVersion: report.kubernetesVersion,
    conditionType: report.conditionType,
    namespace: report.namespace ?? null,
    webhooks: report.webhooks.map((webhook) => ({ id: webhook.id, calls: webhook.calls, receivesPods: webhook.receivesPods })),
    namespaces: report.namespaces.map((namespace) => ({ name: namespace.name, webhook: selectionJson(namespace.webhook) })),
    items: report.rows.map((row) => ({
      namespace: row.namespace,
      kind: row.kind,
      name: row.name,
      optedIn: row.optIn.optedIn,
      optIn: { why: row.optIn.why, text: row.optIn.text },
      webhook: selectionJson(row.webhook),
      injected: { pods: row.pods.total, injected: row.pods.injected, added: row.pods.added === undefined ? null : addedJson(row.pods.added) },
      wouldGet: { outcome: row.wouldGet.outcome, ...addedJson(row.wouldGet) },
      gate: { waiting: row.pods.waitingCount, unlabelled: row.pods.unlabelledCount, pods: row.pods.waiting.map(waitingJson) },
      warnings: row.warnings,
      problems: row.problems,
    })),
    problems: problemCount(report),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

// ------------------------------------------------------------------------------------ table

const CELL = 70;
const SHORT_ITEMS: Readonly<Record<string, string>> = { startupProbe: 'startup', readinessProbe: 'readiness', livenessProbe: 'liveness', preStop: 'preStop' };

/** `app: startup,readiness,liveness,preStop; 1 gate; grace 48`. */
export function addedText(added: Added): string {
  const parts = Object.entries(added.containers).map(([name, items]) => `${plain(name, 40)}: ${items.map((item) => SHORT_ITEMS[item] ?? plain(item, 30)).join(',')}`);
  if (added.readinessGates.length > 0) parts.push(`${added.readinessGates.length} ${added.readinessGates.length === 1 ? 'gate' : 'gates'}`);
  if (added.terminationGracePeriodSeconds !== undefined) parts.push(`grace ${added.terminationGracePeriodSeconds}`);
  return parts.length === 0 ? 'nothing' : parts.join('; ');
}

const OPT_IN_CELL: Readonly<Record<CheckRow['optIn']['why'], string>> = {
  annotation: 'yes',
  'inject-by-default': 'yes (by default)',
  'no-annotation': 'no (no annotation)',
  'opted-out': 'no ("false")',
  'misspelt-key': 'no (misspelt key)',
};

const WEBHOOK_CELL: Readonly<Record<Extract<Selection, { selected: false }>['why'], string>> = {
  'no-webhook': 'no (none registered)',
  'no-pod-rule': 'no (rules)',
  'namespace-not-selected': 'no (namespace)',
  'object-not-selected': 'no (objectSelector)',
};

function wouldGetCell(row: CheckRow): string {
  switch (row.wouldGet.outcome) {
    case 'skipped':
      return '-';
    case 'denied':
      return 'denied';
    case 'unchanged':
      return row.problems.some((problem) => problem.code === 'invalid-annotations') ? 'nothing (invalid)' : 'nothing more';
    case 'patched':
      return addedText(row.wouldGet);
  }
}

function injectedCell(row: CheckRow): string {
  if (row.kind === 'Pod') return row.pods.injected > 0 ? `yes: ${addedText(row.pods.added!)}` : 'no';
  if (row.pods.total === 0) return 'no pods';
  return `${row.pods.injected}/${row.pods.total} pods`;
}

function gateCell(row: CheckRow): string {
  if (row.pods.waitingCount === 0) return '-';
  const unlabelled = row.pods.unlabelledCount > 0 ? `, ${row.pods.unlabelledCount} unlabelled` : '';
  return `${row.pods.waitingCount} waiting${unlabelled}`;
}

function cells(row: CheckRow): string[] {
  return [
    plain(row.namespace, 63),
    `${row.kind.toLowerCase()}/${plain(row.name, 63)}`,
    OPT_IN_CELL[row.optIn.why],
    row.webhook.selected ? 'yes' : WEBHOOK_CELL[row.webhook.why],
    injectedCell(row),
    wouldGetCell(row),
    gateCell(row),
    row.problems.length === 0 ? '-' : String(row.problems.length),
  ].map((cell) => bounded(cell, CELL));
}

const HEADER = ['NAMESPACE', 'NAME', 'OPTED IN', 'WEBHOOK', 'INJECTED', 'WOULD GET', 'GATE', 'PROBLEMS'];

/** Columns padded to the widest cell, two spaces apart, like kubectl get. */
export function alignColumns(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd()).join('\n') + '\n';
}

function duration(seconds: number | undefined): string {
  if (seconds === undefined) return 'since an unknown time';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h${m}m` : m > 0 ? `${m}m${s}s` : `${s}s`;
}

function waitingLine(row: CheckRow, pod: WaitingPod): string {
  const owner = row.kind === 'Pod' ? '' : ` (${row.kind.toLowerCase()}/${plain(row.name, 63)})`;
  const since = pod.since === undefined ? '' : ` since ${new Date(pod.since).toISOString()}`;
  const why = pod.status === 'absent' ? 'no condition yet' : `${plain(pod.status, 20)}${pod.reason ? ` ${plain(pod.reason, 60)}` : ''}`;
  const message = pod.message ? `: ${quote(pod.message, 120)}` : '';
  const notes = [pod.containersReady ? '' : 'containers not ready', pod.labelled ? '' : 'no gate label'].filter(Boolean);
  return `  ${plain(row.namespace, 63)} pod/${plain(pod.pod, 63)}${owner}: ${why}${since} (${duration(pod.seconds)})${message}${notes.length > 0 ? ` [${notes.join(', ')}]` : ''}`;
}

/** The table, then every problem and every waiting pod in full. */
export function reportTable(report: CheckReport): string {
  const out: string[] = [];
  if (report.webhooks.length === 0) out.push('Webhook: none registered (no MutatingWebhookConfiguration has pods.probe-injector.io or a /mutate path)');
  for (const webhook of report.webhooks) out.push(`Webhook: ${webhook.id} -> ${webhook.calls}${webhook.receivesPods ? '' : ' (its rules send no pod CREATEs)'}`);
  const unselected = report.namespaces.filter((namespace) => !namespace.webhook.selected);
  if (report.namespace !== undefined) {
    const [only] = report.namespaces;
    if (only) out.push(`Namespace ${plain(only.name, 63)}: ${only.webhook.selected ? `selected by ${only.webhook.by.join(', ')}` : `not selected: ${only.webhook.text}`}`);
  } else if (unselected.length > 0) {
    const names = unselected.slice(0, 30).map((namespace) => plain(namespace.name, 63));
    out.push(`Namespaces no webhook selects (${unselected.length}): ${names.join(', ')}${unselected.length > 30 ? ', …' : ''}`);
  }
  out.push('');
  if (report.rows.length === 0) {
    out.push(report.namespace === undefined ? 'No workloads or bare pods found.' : `No workloads or bare pods in namespace ${plain(report.namespace, 63)}.`);
    return out.join('\n') + '\n';
  }
  const table = alignColumns([HEADER, ...report.rows.map(cells)]);
  const problems = report.rows.flatMap((row) => row.problems.map((problem) => `  ${plain(row.namespace, 63)} ${row.kind.toLowerCase()}/${plain(row.name, 63)}: ${problem.message}`));
  const waiting = report.rows.flatMap((row) => [
    ...row.pods.waiting.map((pod) => waitingLine(row, pod)),
    ...(row.pods.waitingCount > row.pods.waiting.length ? [`  … and ${row.pods.waitingCount - row.pods.waiting.length} more of ${row.kind.toLowerCase()}/${plain(row.name, 63)}`] : []),
  ]);
  let text = out.join('\n') + '\n' + table;
  if (waiting.length > 0) text += `\nWaiting on the readiness gate ${plain(report.conditionType)}:\n${waiting.join('\n')}\n`;
  text += problems.length > 0 ? `\nProblems (${problems.length}):\n${problems.join('\n')}\n` : '\nNo problems found.\n';
  return text;
}
