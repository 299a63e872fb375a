/**
 * The metric names a PromQL expression reads, from Prometheus' own grammar
 * (`@prometheus-io/lezer-promql`, the parser of its web UI): every vector selector's name.
 */
import { parser } from "@prometheus-io/lezer-promql";

/** Grafana's variables (`$__rate_interval`, `$namespace`), replaced by what PromQL can parse. */
const withoutGrafanaVariables = (expr: string): string =>
  expr.replaceAll(/\$__\w+/g, "5m").replaceAll(/\$\{?(\w+)\}?/g, "$1");

/** Thrown for an expression the grammar does not accept, naming it and where. */
export class PromQLSyntaxError extends Error {
  constructor(
    readonly expr: string,
    readonly at: number,
  ) {
    super(`not valid PromQL at character ${at}: ${expr}`);
    this.name = "PromQLSyntaxError";
  }
}

/** The metric names `expr` selects, sorted, each once; throws {@link PromQLSyntaxError}. */
export function metricNames(expr: string): string[] {
  const text = withoutGrafanaVariables(expr);
  const names = new Set<string>();
  const cursor = parser.parse(text).cursor();
  do {
    if (cursor.type.isError) throw new PromQLSyntaxError(expr, cursor.from);
    if (cursor.name === "Identifier" && cursor.node.parent?.name === "VectorSelector")
      names.add(text.slice(cursor.from, cursor.to));
  } while (cursor.next());
  return [...names].sort();
}
