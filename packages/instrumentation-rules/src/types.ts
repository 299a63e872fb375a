/** Values the rules hand to the rest of the instrumentor. */
import type { ProgrammingLanguage } from "@odigos/crd-types";

/** Where a workload's or namespace's opt-in marker came from. */
export type MarkerSource = "annotation" | "label";

/** What an object's `odigos.io/instrument` annotation or legacy label says. */
export type Marker =
  | { readonly _tag: "Absent" }
  | { readonly _tag: "Enabled"; readonly source: MarkerSource }
  | { readonly _tag: "Disabled"; readonly source: MarkerSource; readonly value: string };

/** Why a workload is or is not opted in. */
export type OptInReason =
  | "WorkloadEnabled"
  | "NamespaceEnabled"
  | "WorkloadDisabled"
  | "NamespaceDisabled"
  | "NoMarker"
  | "IgnoredNamespace"
  | "OdigosNamespace";

/** The opt-in answer for one workload. */
export interface OptIn {
  readonly optedIn: boolean;
  readonly reason: OptInReason;
}

/** Why a workload should or should not carry devices. */
export type DecisionReason =
  | "Instrument"
  | "NotOptedIn"
  | "NoRuntimeDetails"
  | "NoLanguages"
  | "CollectorsNotReady";

/** The final "should instrument" answer, with its reason for logs and events. */
export interface Decision {
  readonly instrument: boolean;
  readonly reason: DecisionReason;
  /** One human sentence, e.g. "the workload inherits its namespace's opt-in but no data-collection collectors group is ready". */
  readonly message: string;
  readonly optIn: OptIn;
}

/**
 * Device resource names per container name, e.g.
 * `{ app: ["instrumentation.odigos.io/go-ebpf-community"] }`. Lists are sorted and
 * free of duplicates; containers that get no device are absent.
 */
export type DesiredDevices = Readonly<Record<string, ReadonlyArray<string>>>;

/** A language entry of the runtime details that produced no device. */
export type DeviceProblem =
  | {
      readonly _tag: "ContainerNotFound";
      readonly containerName: string;
      readonly language: ProgrammingLanguage;
    }
  | {
      readonly _tag: "NoDefaultSdk";
      readonly containerName: string;
      readonly language: ProgrammingLanguage;
    }
  | {
      readonly _tag: "DuplicateEntry";
      readonly containerName: string;
      readonly language: ProgrammingLanguage;
    };
