/**
 * What the caches keep of an object beyond what decoding keeps, for a cache of every workload in
 * the cluster: of its annotations and, for a workload, of its `managedFields` and of its pod
 * template's labels.
 *
 * Of its annotations, only Odigos's own (`odigos.io/…` and its
 * subdomains', such as `instrumentation.odigos.io/…`). The instrumentor reads no other, and
 * others can be large: `kubectl apply` copies a whole object into
 * `kubectl.kubernetes.io/last-applied-configuration`, a kilobyte or more per workload, which a
 * cache of every workload in the cluster would otherwise hold.
 *
 * An object that has annotations keeps an annotations map, empty if none is Odigos's: a patch
 * adds `/metadata/annotations` only when the object has none (adding it over an existing map
 * would replace every annotation on it).
 */
import {
  type DecodeError,
  InstrumentedPodLabel,
  InstrumentorFieldManager,
  type ManagedFieldsEntry,
  type Workload,
  type WorkloadStatus,
} from "@odigos/crd-types";
import * as Either from "effect/Either";

type Annotated = {
  readonly metadata: { readonly annotations?: Readonly<Record<string, string>> | undefined };
};

const odigosKey = /^(?:[a-z0-9-]+\.)*odigos\.io\//;

/** Whether the instrumentor may read or write this annotation key. */
export const isOdigosAnnotation = (key: string): boolean => odigosKey.test(key);

/** `object` with only Odigos's annotations; the same object when it has no other. */
export const withOdigosAnnotationsOnly = <A extends Annotated>(object: A): A => {
  const annotations = object.metadata.annotations;
  if (annotations === undefined) return object;
  const keys = Object.keys(annotations);
  if (keys.every(isOdigosAnnotation)) return object;
  const kept: Record<string, string> = {};
  for (const key of keys) if (isOdigosAnnotation(key)) kept[key] = annotations[key] as string;
  return { ...object, metadata: { ...object.metadata, annotations: kept } };
};

type Written = {
  readonly metadata: { readonly managedFields?: ReadonlyArray<ManagedFieldsEntry> | undefined };
};

/**
 * Of `entries`, the last write of the spec (by time, the later entry on a tie) by a manager other
 * than the instrumentor: status writers (the workload's controller) only report.
 */
export const lastOtherSpecWrite = (
  entries: ReadonlyArray<ManagedFieldsEntry>,
): ManagedFieldsEntry | undefined =>
  entries.reduce<ManagedFieldsEntry | undefined>(
    (best, entry) =>
      entry.manager === undefined ||
      entry.manager === InstrumentorFieldManager ||
      entry.subresource !== undefined ||
      (best !== undefined && (entry.time ?? "") < (best.time ?? ""))
        ? best
        : entry,
    undefined,
  );

/**
 * `object` whose `managedFields` keep only {@link lastOtherSpecWrite}, as its manager and time:
 * all that fight detection reads from the cache (when a removal's writer is not recorded, it
 * lists the one workload for every manager, to name the candidates). A workload has an entry per writer (its controller's status
 * writes, `kubectl`, Helm, the instrumentor), each a few hundred bytes in a cache of every
 * workload in the cluster.
 */
export const withLastOtherSpecWriteOnly = <A extends Written>(object: A): A => {
  const entries = object.metadata.managedFields;
  if (entries === undefined) return object;
  const last = lastOtherSpecWrite(entries);
  const kept: ReadonlyArray<ManagedFieldsEntry> =
    last === undefined
      ? []
      : [
          last.time === undefined
            ? { manager: last.manager }
            : { manager: last.manager, time: last.time },
        ];
  return { ...object, metadata: { ...object.metadata, managedFields: kept } };
};

type Templated = {
  readonly spec: {
    readonly template: {
      readonly metadata?:
        | { readonly labels?: Readonly<Record<string, string>> | undefined }
        | undefined;
    };
  };
};

/**
 * `workload` whose pod-template labels keep only `instrumentor.odigos.io/instrumented`: all the
 * device planner reads of them (whether to add or remove it). A template with labels keeps a
 * labels map, empty if the instrumentor's is not there (the planner adds its key to it).
 */
export const withInstrumentedLabelOnly = <A extends Templated>(workload: A): A => {
  const labels = workload.spec.template.metadata?.labels;
  if (labels === undefined) return workload;
  const keys = Object.keys(labels);
  if (keys.length === 0 || (keys.length === 1 && keys[0] === InstrumentedPodLabel)) return workload;
  const value = labels[InstrumentedPodLabel];
  const kept = value === undefined ? {} : { [InstrumentedPodLabel]: value };
  return {
    ...workload,
    spec: {
      ...workload.spec,
      template: { ...workload.spec.template, metadata: { labels: kept } },
    },
  };
};

type Raw = Readonly<Record<string, unknown>>;

const isRecord = (value: unknown): value is Raw =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Whether `raw` is a map of strings with exactly the entries of `kept`. */
const sameLabels = (raw: unknown, kept: Readonly<Record<string, string>> | undefined): boolean => {
  if (raw === undefined || kept === undefined) return raw === kept;
  if (!isRecord(raw)) return false;
  const keys = Object.keys(raw);
  return keys.length === Object.keys(kept).length && keys.every((key) => raw[key] === kept[key]);
};

/** Whether `raw` is a map of strings whose Odigos entries are exactly those of `kept`. */
const sameOdigosAnnotations = (
  raw: unknown,
  kept: Readonly<Record<string, string>> | undefined,
): boolean => {
  if (raw === undefined || kept === undefined) return raw === kept;
  if (!isRecord(raw)) return false;
  let odigos = 0;
  for (const key in raw) {
    const value = raw[key];
    if (typeof value !== "string") return false;
    if (!isOdigosAnnotation(key)) continue;
    if (value !== kept[key]) return false;
    odigos += 1;
  }
  return odigos === Object.keys(kept).length;
};

const optionalString = (value: unknown): boolean =>
  value === undefined || typeof value === "string";

/** Whether `raw` is a list of writers whose {@link lastOtherSpecWrite} is what `kept` holds. */
const sameLastOtherSpecWrite = (
  raw: unknown,
  kept: ReadonlyArray<ManagedFieldsEntry> | undefined,
): boolean => {
  if (raw === undefined || kept === undefined) return raw === kept;
  if (!Array.isArray(raw)) return false;
  for (const entry of raw as ReadonlyArray<unknown>) {
    if (!isRecord(entry)) return false;
    const { manager, operation, subresource, time } = entry;
    if (![manager, operation, subresource, time].every(optionalString)) return false;
  }
  const last = lastOtherSpecWrite(raw as ReadonlyArray<ManagedFieldsEntry>);
  const [was] = kept;
  return last === undefined
    ? was === undefined
    : last.manager === was?.manager && last.time === was?.time;
};

/**
 * `previous`, a cached workload (decoded and slimmed as the cache keeps it), brought up to `raw`,
 * a newer version of it as served, without decoding all of `raw`: when `raw` moved nothing the
 * cache keeps but its `resourceVersion` and its `status`, as a controller reporting a rollout's
 * progress does some 30 times a rollout, in every namespace. That is: the same `generation` (the
 * API server bumps it with every spec change), uid, labels, Odigos annotations and last other
 * spec writer. `undefined` when anything else may have moved, or when `raw`'s status does not
 * decode (`decodeStatus`, its kind's `workloadStatusDecoder`): then decode `raw` whole, which
 * also names what is wrong. When defined, it equals what decoding and slimming `raw` gives.
 */
export const refreshStatusOnly = <W extends Workload>(
  previous: W,
  raw: unknown,
  decodeStatus: (raw: unknown) => Either.Either<WorkloadStatus | undefined, DecodeError>,
): W | undefined => {
  if (!isRecord(raw) || !isRecord(raw.metadata)) return undefined;
  const metadata = raw.metadata;
  const before = previous.metadata;
  if (
    before.generation === undefined ||
    metadata.generation !== before.generation ||
    metadata.uid !== before.uid ||
    metadata.name !== before.name ||
    metadata.namespace !== before.namespace ||
    typeof metadata.resourceVersion !== "string" ||
    !sameLabels(metadata.labels, before.labels) ||
    !sameOdigosAnnotations(metadata.annotations, before.annotations) ||
    !sameLastOtherSpecWrite(metadata.managedFields, before.managedFields)
  )
    return undefined;
  const status = decodeStatus(raw);
  if (Either.isLeft(status)) return undefined;
  const { status: _was, ...rest } = previous;
  const current = { ...rest, metadata: { ...before, resourceVersion: metadata.resourceVersion } };
  return (status.right === undefined ? current : { ...current, status: status.right }) as W;
};
