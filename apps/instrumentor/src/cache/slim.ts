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
  InstrumentedPodLabel,
  InstrumentorFieldManager,
  type ManagedFieldsEntry,
} from "@odigos/crd-types";

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
