/** API group of every Odigos custom resource. */
export const OdigosGroup = "odigos.io";
/** The only served version of the Odigos CRDs this project reads. */
export const OdigosVersion = "v1alpha1";
/** `apiVersion` field value of Odigos custom resources. */
export const OdigosApiVersion = `${OdigosGroup}/${OdigosVersion}`;

/** REST plurals of the Odigos kinds. */
export const OdigosPlurals = {
  InstrumentedApplication: "instrumentedapplications",
  CollectorsGroup: "collectorsgroups",
  OdigosConfiguration: "odigosconfigurations",
} as const;

/** Workload opt-in annotation: `"true"` enables, any other value disables. */
export const InstrumentAnnotation = "odigos.io/instrument";
/** Value of {@link InstrumentAnnotation} that enables instrumentation. */
export const InstrumentAnnotationEnabled = "true";
/** Legacy opt-in label set by Odigos 1.0-era tooling. */
export const LegacyInstrumentationLabel = "odigos-instrumentation";
/** Value of {@link LegacyInstrumentationLabel} that enables instrumentation. */
export const LegacyInstrumentationEnabled = "enabled";
/** Annotation the node agent writes on workloads; removed when a workload is opted out. */
export const ReportedNameAnnotation = "odigos.io/reported-name";
/** Deprecated workload annotation removed when a workload is un-instrumented. */
export const DeprecatedEbpfAnnotation = "instrumentation.odigos.io/ebpf";

/** Every extended resource whose name starts with this is an instrumentation device. */
export const DeviceResourcePrefix = "instrumentation.odigos.io";
/** Quantity every instrumentation device is requested with. */
export const DeviceQuantity = "1";

/**
 * Pod-template label the instrumentor writes with the devices, in the same patch (and removes
 * with the last of them), so that the pods of instrumented revisions can be listed and watched
 * by a label selector: pods of workloads it never wrote cost it nothing. Never written alone
 * (a template change restarts the pods).
 */
export const InstrumentedPodLabel = "instrumentor.odigos.io/instrumented";
/** Value of {@link InstrumentedPodLabel}. */
export const InstrumentedPodLabelValue = "true";

/** Environment variable holding the Odigos namespace. */
export const OdigosNamespaceEnv = "CURRENT_NS";
/** Odigos namespace when {@link OdigosNamespaceEnv} is unset. */
export const DefaultOdigosNamespace = "odigos-system";
/** Name of the OdigosConfiguration object in the Odigos namespace. */
export const OdigosConfigName = "odigos-config";

/** Field manager the instrumentor writes with. */
export const InstrumentorFieldManager = "odigos-instrumentor";

/** Resolves the Odigos namespace from an environment (defaults to {@link DefaultOdigosNamespace}). */
export const odigosNamespaceFrom = (env: Readonly<Record<string, string | undefined>>): string => {
  const value = env[OdigosNamespaceEnv]?.trim();
  return value === undefined || value === "" ? DefaultOdigosNamespace : value;
};

/**
 * Written by the instrumentor on a workload, in the same patch as a device change: the rollout it
 * started (`{"action","at","generation"}`), so that what is in flight can be read from the
 * cluster by any replica, after any restart.
 */
export const RolloutAnnotation = "odigos.io/rollout";
/**
 * Written by the instrumentor when it rolled a workload's instrumentation back (its pods
 * crash-looped or never became ready): why, when, and the inputs it was for. The workload is not
 * instrumented again until those inputs change or a person removes the annotation.
 */
export const RollbackAnnotation = "odigos.io/rollback";
/**
 * A change of this annotation on `odigos-config` (any value) clears the circuit breaker, as
 * any change of `odigos-config` does.
 */
export const ResetBreakerAnnotation = "odigos.io/reset-breaker";
