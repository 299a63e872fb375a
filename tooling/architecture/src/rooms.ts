/**
 * The instrumentor's rooms, lowest first, as ARCHITECTURE.md draws them (controller-runtime's
 * shape): a module may import its own room and the rooms below it, never a room above or beside.
 */
import { isTestFile } from "./files.ts";
import { relativeImports } from "./imports.ts";

export interface Room {
  readonly name: string;
  /** Paths (relative to the app's `src`) of its files: a directory ends with `/`. */
  readonly paths: ReadonlyArray<string>;
  readonly rank: number;
}

/** Lowest first; rooms of one rank are peers and do not import each other. */
export const instrumentorRooms: ReadonlyArray<Room> = [
  { name: "base", paths: ["config.ts", "backoff.ts"], rank: 0 },
  { name: "observability", paths: ["observability/"], rank: 1 },
  { name: "kube", paths: ["kube/"], rank: 2 },
  { name: "cache", paths: ["cache/"], rank: 3 },
  { name: "leader", paths: ["leader/"], rank: 3 },
  { name: "rollouts", paths: ["rollouts/"], rank: 4 },
  { name: "controller", paths: ["controller/"], rank: 5 },
  { name: "manager", paths: ["manager.ts", "main.ts", "index.ts"], rank: 6 },
  { name: "test-support", paths: ["test-support/"], rank: 7 },
];

export const roomOf = (
  path: string,
  rooms: ReadonlyArray<Room> = instrumentorRooms,
): Room | undefined =>
  rooms.find((room) =>
    room.paths.some((prefix) => (prefix.endsWith("/") ? path.startsWith(prefix) : path === prefix)),
  );

export interface Violation {
  readonly file: string;
  readonly imports: string;
  readonly why: string;
}

/**
 * Imports that run up or sideways between rooms, among the files of `src` (paths relative to
 * the repository; `src` is the app's source directory). Tests are not part of the product's
 * graph: a room's tests may drive it through the rooms above it, and use test support.
 */
export const layeringViolations = (
  src: string,
  files: ReadonlyArray<string>,
  rooms: ReadonlyArray<Room> = instrumentorRooms,
  root?: string,
): ReadonlyArray<Violation> =>
  files.flatMap((file) => {
    if (isTestFile(file)) return [];
    const from = roomOf(file.slice(src.length + 1), rooms);
    if (from === undefined) return [{ file, imports: "", why: "in no room" }];
    return relativeImports(file, root).flatMap((target): ReadonlyArray<Violation> => {
      if (!target.startsWith(`${src}/`))
        return [{ file, imports: target, why: "outside the app's src" }];
      const to = roomOf(target.slice(src.length + 1), rooms);
      if (to === undefined) return [{ file, imports: target, why: "into no room" }];
      if (to.name === from.name) return [];
      if (to.rank < from.rank) return [];
      const way = to.rank === from.rank ? "sideways" : "upwards";
      return [{ file, imports: target, why: `${from.name} -> ${to.name} runs ${way}` }];
    });
  });
