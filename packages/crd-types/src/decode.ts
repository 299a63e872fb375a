/**
 * Decoding at the edge: raw JSON from the API server becomes a typed value, or
 * a {@link DecodeError} that names the object and the path that failed.
 */
import * as Data from "effect/Data";
import * as Either from "effect/Either";
import * as ParseResult from "effect/ParseResult";
import * as Schema from "effect/Schema";

/** One failed path inside an object, e.g. `spec.languages[0].language`. */
export interface DecodeIssue {
  readonly path: string;
  readonly message: string;
}

/** An object from the API server that does not have the shape its kind requires. */
export class DecodeError extends Data.TaggedError("DecodeError")<{
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly issues: ReadonlyArray<DecodeIssue>;
}> {
  /** `InstrumentedApplication shop/deployment-cart` */
  get objectName(): string {
    const name = this.name ?? "<unnamed>";
    return `${this.kind} ${this.namespace === undefined ? name : `${this.namespace}/${name}`}`;
  }

  override get message(): string {
    const details = this.issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ");
    return `${this.objectName} is malformed: ${details}`;
  }
}

const formatPath = (path: ReadonlyArray<PropertyKey>): string => {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? "<root>" : out;
};

const expectedActual = /^Expected (.*), actual (.*)$/s;

/** One issue per failing leaf path; union branches' "Expected X, actual Y" are merged. */
const leafIssues = (issues: ReadonlyArray<DecodeIssue>): ReadonlyArray<DecodeIssue> => {
  const byPath = new Map<string, Array<string>>();
  for (const issue of issues) {
    const messages = byPath.get(issue.path) ?? [];
    if (!messages.includes(issue.message)) messages.push(issue.message);
    byPath.set(issue.path, messages);
  }
  const paths = [...byPath.keys()];
  const isAncestor = (path: string) =>
    paths.some(
      (other) =>
        other !== path &&
        (path === "<root>" || other.startsWith(`${path}.`) || other.startsWith(`${path}[`)),
    );
  return paths
    .filter((path) => !isAncestor(path))
    .map((path) => {
      const messages = byPath.get(path) ?? [];
      const parsed = messages.map((message) => expectedActual.exec(message));
      if (messages.length > 1 && parsed.every((match) => match !== null)) {
        const expected = parsed.map((match) => match?.[1]).join(" | ");
        return { path, message: `Expected ${expected}, actual ${parsed[0]?.[2]}` };
      }
      return { path, message: messages.join("; ") };
    });
};

const metadataOf = (raw: unknown): { namespace?: string; name?: string } => {
  if (typeof raw !== "object" || raw === null) return {};
  const metadata = (raw as { metadata?: unknown }).metadata;
  if (typeof metadata !== "object" || metadata === null) return {};
  const { name, namespace } = metadata as { name?: unknown; namespace?: unknown };
  return {
    ...(typeof name === "string" ? { name } : {}),
    ...(typeof namespace === "string" ? { namespace } : {}),
  };
};

/** The failing leaf paths of a parse error, each prefixed with `prefix` (e.g. `spec.languages[2]`). */
export const issuesOf = (
  error: ParseResult.ParseError,
  prefix: ReadonlyArray<PropertyKey> = [],
): ReadonlyArray<DecodeIssue> =>
  leafIssues(
    ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
      path: formatPath([...prefix, ...issue.path]),
      message: issue.message,
    })),
  );

/**
 * Builds a decoder for one kind. Excess fields are dropped, so only the slice
 * the schema names is kept in memory.
 */
export const makeDecoder = <A, I>(kind: string, schema: Schema.Schema<A, I, never>) => {
  const decode = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "ignore" });
  return (raw: unknown): Either.Either<A, DecodeError> =>
    Either.mapLeft(decode(raw), (error) => {
      const { name, namespace } = metadataOf(raw);
      return new DecodeError({ kind, name, namespace, issues: issuesOf(error) });
    });
};
