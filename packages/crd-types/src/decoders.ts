/** Ready-made decoders for every kind the instrumentor reads. */
import type * as Either from "effect/Either";
import { type DecodeError, makeDecoder } from "./decode.js";
import {
  DaemonSet,
  Deployment,
  Namespace,
  StatefulSet,
  type Workload,
  type WorkloadKind,
} from "./kubernetes.js";
import { CollectorsGroup, InstrumentedApplication, OdigosConfiguration } from "./odigos.js";

export const decodeDeployment = makeDecoder("Deployment", Deployment);
export const decodeStatefulSet = makeDecoder("StatefulSet", StatefulSet);
export const decodeDaemonSet = makeDecoder("DaemonSet", DaemonSet);
export const decodeNamespace = makeDecoder("Namespace", Namespace);
export const decodeInstrumentedApplication = makeDecoder(
  "InstrumentedApplication",
  InstrumentedApplication,
);
export const decodeCollectorsGroup = makeDecoder("CollectorsGroup", CollectorsGroup);
export const decodeOdigosConfiguration = makeDecoder("OdigosConfiguration", OdigosConfiguration);

/** The decoder for one workload kind. */
export const workloadDecoder = (
  kind: WorkloadKind,
): ((raw: unknown) => Either.Either<Workload, DecodeError>) =>
  kind === "Deployment"
    ? decodeDeployment
    : kind === "StatefulSet"
      ? decodeStatefulSet
      : decodeDaemonSet;
