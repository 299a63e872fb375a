/**
 * SPEC section 8, fights: who removes a workload's devices. `managedFields` names the field
 * manager of each write that took a field, with the second it happened. A write that changes
 * nothing but removals (a JSON Patch that removes the device, a PUT of an otherwise identical
 * manifest) takes no field: the API server records no entry for its writer (and drops the entry
 * of a writer whose fields it all removed, often the instrumentor's own). The newest entry is
 * then someone else's, from before the instrumentor's write. So the writer is named only when an
 * entry is newer than the instrumentor's own last write of the devices; otherwise it is "not
 * recorded", and the workload's other field managers are named as candidates, never as fact.
 */
import { InstrumentorFieldManager, type ManagedFieldsEntry } from "@odigos/crd-types";

/** Who removed the devices, as far as `managedFields` tells. */
export type FightWriter =
  /** The field manager of a write newer than the instrumentor's own. */
  | { readonly _tag: "Recorded"; readonly manager: string }
  /** No entry is newer than the instrumentor's own write: the likeliest writers, most recent first. */
  | { readonly _tag: "Unrecorded"; readonly candidates: ReadonlyArray<string> };

/** A spec write by a field manager other than the instrumentor, as `managedFields` records it. */
export interface OtherWrite {
  readonly manager: string;
  /** RFC 3339, whole seconds on a real API server. */
  readonly time: string | undefined;
}

/** What the instrumentor saw when it last wrote the devices. */
export interface OwnDeviceWrite {
  /**
   * When it decided the write (ms since the epoch): the write landed at or after this. Its own
   * clock, compared with the API server's (`managedFields` times).
   */
  readonly at: number;
  /**
   * The newest other spec write on the copy it wrote from. The write carried that copy's
   * resourceVersion as a precondition, so no other write came between.
   */
  readonly newestOther: OtherWrite | undefined;
}

const millis = (time: string | undefined) => (time === undefined ? Number.NaN : Date.parse(time));
/** For ordering: an entry without a (valid) time counts as the oldest. */
const order = (time: string | undefined) => {
  const ms = millis(time);
  return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
};

/** Reports the workload; never removes devices from its spec (the status is a subresource anyway). */
const controllerManager = "kube-controller-manager";

/**
 * The spec writers other than the instrumentor and the controller manager, newest first (on a
 * tie, the later entry first): status and scale writers (a subresource) never touch the
 * template.
 */
export const otherSpecWrites = (
  entries: ReadonlyArray<ManagedFieldsEntry>,
): ReadonlyArray<OtherWrite> =>
  entries
    .flatMap((entry, index) =>
      entry.manager === undefined ||
      entry.manager === InstrumentorFieldManager ||
      entry.manager === controllerManager ||
      entry.subresource !== undefined
        ? []
        : [{ write: { manager: entry.manager, time: entry.time }, at: order(entry.time), index }],
    )
    .sort((a, b) => (a.at === b.at ? b.index - a.index : b.at - a.at))
    .map(({ write }) => write);

/** Candidates: the other spec writers' managers, each once, most recent first. */
export const fightCandidates = (
  entries: ReadonlyArray<ManagedFieldsEntry>,
): ReadonlyArray<string> => [...new Set(otherSpecWrites(entries).map((write) => write.manager))];

/**
 * Whether `write` (the newest other spec write now) came after the instrumentor's own write.
 * `managedFields` times have whole seconds, so a time of the very second the instrumentor wrote
 * in can be before or after its write; the copy it wrote from tells: an entry that is not the
 * newest one it saw was written after (the precondition kept any other write from coming
 * between). An entry older than that second, or older than the newest it saw (it surfaced
 * because a later writer's fields were all removed), is not the remover's. The newest entry it
 * saw, unchanged, is no new write: a write by the same manager in that same second cannot be
 * told from it, and is reported as not recorded (that manager the first candidate).
 */
const writtenSince = (write: OtherWrite, own: OwnDeviceWrite): boolean => {
  const time = millis(write.time);
  if (Number.isNaN(time)) return false;
  const seen = own.newestOther;
  if (seen !== undefined && seen.manager === write.manager && seen.time === write.time)
    return false;
  const seenTime = millis(seen?.time);
  return time >= Math.floor(own.at / 1000) * 1000 && (Number.isNaN(seenTime) || time >= seenTime);
};

/**
 * Who removed the devices after the instrumentor's write `own`, from the workload's
 * `managedFields` now (a cache that keeps only the newest other spec write is enough to tell
 * whether the writer is recorded; the candidates are the managers `entries` has).
 */
export const attributeRemoval = (
  own: OwnDeviceWrite,
  entries: ReadonlyArray<ManagedFieldsEntry>,
): FightWriter => {
  const newest = otherSpecWrites(entries)[0];
  if (newest !== undefined && writtenSince(newest, own))
    return { _tag: "Recorded", manager: newest.manager };
  return { _tag: "Unrecorded", candidates: fightCandidates(entries) };
};

/** The candidates, in a sentence's words. */
const candidateList = (candidates: ReadonlyArray<string>) =>
  candidates.length === 0 ? "none: no other field manager" : candidates.join(", ");

/**
 * The writer in a few words, to put where a name goes: its field manager, or
 * `an unrecorded writer (candidates: helm, gitops)`.
 */
export const describeFightWriter = (writer: FightWriter): string =>
  writer._tag === "Recorded"
    ? writer.manager
    : `an unrecorded writer (candidates: ${candidateList(writer.candidates)})`;

/** Why the writer is not named, and how to find it (when it is not recorded). */
export const unrecordedWriterNote = (candidates: ReadonlyArray<string>): string =>
  `the writer is not recorded: a write that only removes fields leaves no managedFields entry, and none is newer than the instrumentor's own write; candidates, most recent first, not confirmed: ${candidateList(candidates)}; the API server's audit log names it (a patch or update of this workload)`;

/** The remedy for a fight with `writer`, without the workload's name. */
export const fightRemedy = (writer: FightWriter): string => {
  const ignore = `ignore resources.limits["instrumentation.odigos.io/*"] of this workload's containers`;
  return writer._tag === "Recorded"
    ? `make ${writer.manager} ${ignore}`
    : `find the writer (candidates: ${candidateList(writer.candidates)}; the audit log names it) and make it ${ignore}`;
};

/** The writer as a status's live facts carry it (`candidates` only when it is not recorded). */
export const fightWriterOf = (fight: {
  readonly writer: string;
  readonly candidates?: ReadonlyArray<string> | undefined;
}): FightWriter =>
  fight.candidates === undefined
    ? { _tag: "Recorded", manager: fight.writer }
    : { _tag: "Unrecorded", candidates: fight.candidates };
