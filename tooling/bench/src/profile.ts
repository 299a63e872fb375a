/** Summaries of V8 CPU profiles (`.cpuprofile`): where the instrumentor's own time goes. */
import type { ProfileLine, ProfileSummary } from "./types.js";

export interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number;
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      readonly lineNumber: number;
    };
    readonly children?: ReadonlyArray<number>;
  }>;
  readonly samples: ReadonlyArray<number>;
  readonly timeDeltas: ReadonlyArray<number>;
}

const ownerOf = (url: string, functionName: string): string => {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  const pnpm = /node_modules\/\.pnpm\/(.+?)@\d[^/]*\/node_modules\//.exec(url);
  if (pnpm?.[1] !== undefined) return pnpm[1].replace("+", "/");
  const workspace = /\/(apps|packages|tooling)\/([^/]+)\//.exec(url);
  if (workspace !== null) return `${workspace[1]}/${workspace[2]}`;
  if (url.startsWith("node:")) return "node (built-in)";
  return url;
};

const shortUrl = (url: string): string =>
  url
    .replace(/^file:\/\//, "")
    .replace(/^.*\/node_modules\/\.pnpm\/[^/]+\/node_modules\//, "")
    .replace(/^.*\/(apps|packages|tooling)\//, "$1/");

/** Self time per function and per package, idle excluded, largest first. */
export const summarizeProfile = (profile: CpuProfile, top = 25): ProfileSummary => {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index + 1] ?? 0;
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + delta);
  });
  const bySelf = new Map<string, { owner: string; micros: number }>();
  const byOwner = new Map<string, number>();
  let busy = 0;
  for (const [id, micros] of selfMicros) {
    const frame = nodes.get(id)?.callFrame;
    if (frame === undefined || frame.functionName === "(idle)") continue;
    busy += micros;
    const owner = ownerOf(frame.url, frame.functionName);
    const where =
      frame.url === ""
        ? frame.functionName || "(anonymous)"
        : `${frame.functionName || "(anonymous)"} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
    const entry = bySelf.get(where) ?? { owner, micros: 0 };
    entry.micros += micros;
    bySelf.set(where, entry);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + micros);
  }
  const line = (where: string, owner: string, micros: number): ProfileLine => ({
    where,
    owner,
    ms: micros / 1000,
    percent: busy === 0 ? 0 : (100 * micros) / busy,
  });
  return {
    busyMs: busy / 1000,
    bySelf: [...bySelf]
      .sort((a, b) => b[1].micros - a[1].micros)
      .slice(0, top)
      .map(([where, { owner, micros }]) => line(where, owner, micros)),
    byOwner: [...byOwner]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([owner, micros]) => line(owner, owner, micros)),
  };
};
