import * as v from 'valibot';

/**
 * The leader-election record a `coordination.k8s.io/v1` Lease holds (client-go's
 * `resourcelock.LeaderElectionRecord`), and the edge that reads it from what the API server
 * answered. Pure: no I/O.
 *
 * Times stay the MicroTime text the API server stored (`2006-01-02T15:04:05.000000Z`): the election
 * never reads them as time — only whether the record *changed* matters (client-go's observedTime
 * logic), so a remote clock's skew cannot matter.
 */
export interface LeaseRecord {
  /** '' when nobody holds the lease (never set, or released). */
  readonly holderIdentity: string;
  /** How long the holder's term lasts after each change of the record, by the observer's clock; 0 when unset. */
  readonly leaseDurationSeconds: number;
  readonly acquireTime?: string | undefined;
  readonly renewTime?: string | undefined;
  readonly leaseTransitions: number;
}

/** A Lease as read: its record and the resourceVersion an update must carry (optimistic concurrency). */
export interface ObservedLease {
  readonly record: LeaseRecord;
  readonly resourceVersion: string;
}

export type LeaseParse = { readonly ok: true; readonly lease: ObservedLease } | { readonly ok: false; readonly message: string };

const INT32_MAX = 2147483647;

/** RFC 3339 as metav1.Time/MicroTime write it (the fraction is optional, the zone required). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const TIME_ACCEPTED = 'expected an RFC 3339 time such as 2006-01-02T15:04:05.000000Z';

/**
 * @kubernetes/client-node hands MicroTime fields back as the JSON string (its serializer does not
 * know the type) and Time fields as a Date; accept both, keep text.
 */
const time = v.union(
  [
    v.pipe(v.string(), v.check((text) => RFC3339.test(text) && !Number.isNaN(Date.parse(text)), TIME_ACCEPTED)),
    v.pipe(
      v.date(TIME_ACCEPTED),
      v.check((date) => !Number.isNaN(date.getTime()), TIME_ACCEPTED),
      v.transform((date) => date.toISOString()),
    ),
  ],
  TIME_ACCEPTED,
);
const int32 = (min: number) =>
  v.pipe(
    v.number(`expected an integer from ${min} to ${INT32_MAX}`),
    v.integer(`expected an integer from ${min} to ${INT32_MAX}`),
    v.minValue(min, `expected an integer from ${min} to ${INT32_MAX}`),
    v.maxValue(INT32_MAX, `expected an integer from ${min} to ${INT32_MAX}`),
  );
/** Absent and JSON null mean "unset" (Go's nil pointer). */
const unset = <T extends v.GenericSchema>(schema: T) => v.nullish(schema);
/** valibot's object() takes an array for an object; a JSON object is asked for. */
const record = <T extends v.ObjectEntries>(entries: T, message: string) =>
  v.pipe(
    v.unknown(),
    v.check((value) => value !== null && typeof value === 'object' && !Array.isArray(value), message),
    v.object(entries, message),
  );

const LeaseSchema = record(
  {
    metadata: record(
      { resourceVersion: v.pipe(v.string('expected a string'), v.minLength(1, 'expected a non-empty string')) },
      'expected an object with a resourceVersion',
    ),
    spec: unset(
      record(
        {
          holderIdentity: unset(v.string('expected a string')),
          // The API server refuses <= 0; a record from elsewhere with 0 simply counts as expired.
          leaseDurationSeconds: unset(int32(0)),
          acquireTime: unset(time),
          renewTime: unset(time),
          leaseTransitions: unset(int32(0)),
        },
        'expected an object',
      ),
    ),
  },
  'expected a Lease object (with metadata)',
);

/**
 * Reads a Lease as the API server answered it. Missing fields take client-go's zero values (an
 * empty spec is a lease nobody holds); a field of the wrong type is an error naming the field, the
 * value and what is accepted, never a guess.
 */
export function parseLease(value: unknown): LeaseParse {
  const parsed = v.safeParse(LeaseSchema, value);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const path = issue.path?.map((item) => String(item.key)).join('.') ?? '';
    return { ok: false, message: `the Lease ${path ? `field ${path} ` : ''}is invalid: ${issue.message}, got ${describe(issue.input)}` };
  }
  const spec = parsed.output.spec ?? {};
  return {
    ok: true,
    lease: {
      resourceVersion: parsed.output.metadata.resourceVersion,
      record: {
        holderIdentity: spec.holderIdentity ?? '',
        leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
        acquireTime: spec.acquireTime ?? undefined,
        renewTime: spec.renewTime ?? undefined,
        leaseTransitions: spec.leaseTransitions ?? 0,
      },
    },
  };
}

/** Identity of a record's content, for "has it changed since we last looked" (client-go compares the JSON). */
export function recordKey(record: LeaseRecord): string {
  return JSON.stringify([record.holderIdentity, record.leaseDurationSeconds, record.acquireTime ?? null, record.renewTime ?? null, record.leaseTransitions]);
}

/** A time as metav1.MicroTime serialises it: UTC, six fractional digits. */
export function formatMicroTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/Z$/, '000Z');
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid date' : value.toISOString();
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
