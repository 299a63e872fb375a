/**
 * What holds the memory of a V8 heap snapshot (`.heapsnapshot`, as `--heapsnapshot-signal`
 * writes it): the dominator tree, and the objects that retain the most. An object's retained
 * size is what a collection would free if it alone became unreachable; its dominator is the one
 * object every path from the roots to it goes through. Weak edges do not retain.
 */
import { fixed, renderTable } from "./report.js";

/** The parts of a `.heapsnapshot` file this reads. */
export interface HeapSnapshotFile {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: ReadonlyArray<string>;
      readonly node_types: ReadonlyArray<unknown>;
      readonly edge_fields: ReadonlyArray<string>;
      readonly edge_types: ReadonlyArray<unknown>;
    };
  };
  readonly nodes: ReadonlyArray<number>;
  readonly edges: ReadonlyArray<number>;
  readonly strings: ReadonlyArray<string>;
}

/** One object that retains much, with the path of dominators that leads to it. */
export interface Retainer {
  /** `type:name`, as DevTools shows it (`object:Map`, `closure:reconcile`). */
  readonly label: string;
  /** From the root: `edge<type:name>` per step, the edge being the dominator's reference. */
  readonly path: ReadonlyArray<string>;
  readonly selfBytes: number;
  readonly retainedBytes: number;
  /** Objects it dominates directly: for a `Map`'s table, about one per entry and its key. */
  readonly dominated: number;
}

export interface RetainerReport {
  readonly totalBytes: number;
  readonly nodes: number;
  /** By retained size, largest first. */
  readonly retainers: ReadonlyArray<Retainer>;
}

const typeNames = (types: ReadonlyArray<unknown>): ReadonlyArray<string> =>
  Array.isArray(types[0]) ? (types[0] as ReadonlyArray<string>) : [];

/** The snapshot's flat arrays, with the offsets of the fields read and each node's first edge. */
interface Graph {
  readonly nodes: ReadonlyArray<number>;
  readonly edges: ReadonlyArray<number>;
  readonly strings: ReadonlyArray<string>;
  readonly count: number;
  readonly nodeFields: number;
  readonly edgeFields: number;
  readonly nodeTypes: ReadonlyArray<string>;
  readonly edgeTypes: ReadonlyArray<string>;
  readonly typeOf: number;
  readonly nameOf: number;
  readonly sizeOf: number;
  readonly edgeTypeOf: number;
  readonly edgeNameOf: number;
  readonly edgeToOf: number;
  /** `firstEdge[node]` to `firstEdge[node + 1]`: the node's edges. */
  readonly firstEdge: Uint32Array;
  /** Whether an edge retains its target (weak and shortcut edges do not). */
  readonly retains: (edge: number) => boolean;
  /** The node an edge points to. */
  readonly target: (edge: number) => number;
}

const graphOf = (file: HeapSnapshotFile): Graph => {
  const { meta } = file.snapshot;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const edgeTypes = typeNames(meta.edge_types);
  const edgeCountOf = meta.node_fields.indexOf("edge_count");
  const edgeTypeOf = meta.edge_fields.indexOf("type");
  const edgeToOf = meta.edge_fields.indexOf("to_node");
  const { nodes, edges, strings } = file;
  const count = nodes.length / nodeFields;
  const firstEdge = new Uint32Array(count + 1);
  for (let node = 0, edge = 0; node < count; node++) {
    firstEdge[node] = edge;
    edge += nodes[node * nodeFields + edgeCountOf] ?? 0;
    firstEdge[node + 1] = edge;
  }
  const retains = (edge: number): boolean => {
    const type = edgeTypes[edges[edge * edgeFields + edgeTypeOf] ?? -1];
    return type !== "weak" && type !== "shortcut";
  };
  const target = (edge: number): number => (edges[edge * edgeFields + edgeToOf] ?? 0) / nodeFields;
  return {
    nodes,
    edges,
    strings,
    count,
    nodeFields,
    edgeFields,
    nodeTypes: typeNames(meta.node_types),
    edgeTypes,
    typeOf: meta.node_fields.indexOf("type"),
    nameOf: meta.node_fields.indexOf("name"),
    sizeOf: meta.node_fields.indexOf("self_size"),
    edgeTypeOf,
    edgeNameOf: meta.edge_fields.indexOf("name_or_index"),
    edgeToOf,
    firstEdge,
    retains,
    target,
  };
};

/** Post-order of a depth-first walk from the root (node 0), iterative: snapshots are deep. */
const postOrder = (graph: Graph): { order: number[]; postIndex: Int32Array } => {
  const { count, firstEdge, retains, target } = graph;
  const postIndex = new Int32Array(count).fill(-1);
  const order: Array<number> = [];
  const visited = new Uint8Array(count);
  const cursor = new Uint32Array(count);
  const stack = [0];
  visited[0] = 1;
  cursor[0] = firstEdge[0] ?? 0;
  while (stack.length > 0) {
    const node = stack[stack.length - 1] as number;
    const edge = cursor[node] ?? 0;
    if (edge < (firstEdge[node + 1] ?? 0)) {
      cursor[node] = edge + 1;
      if (!retains(edge)) continue;
      const next = target(edge);
      if (visited[next] === 0) {
        visited[next] = 1;
        cursor[next] = firstEdge[next] ?? 0;
        stack.push(next);
      }
    } else {
      stack.pop();
      postIndex[node] = order.length;
      order.push(node);
    }
  }
  return { order, postIndex };
};

/** Each node's immediate dominator: predecessors, then Cooper, Harvey and Kennedy's iteration to a fixed point. */
const dominatorsOf = (
  graph: Graph,
  order: ReadonlyArray<number>,
  postIndex: Int32Array,
): Int32Array => {
  const { count, firstEdge, retains, target } = graph;
  const predecessors: Array<Array<number>> = Array.from({ length: count }, () => []);
  for (const node of order)
    for (let edge = firstEdge[node] ?? 0; edge < (firstEdge[node + 1] ?? 0); edge++)
      if (retains(edge)) predecessors[target(edge)]?.push(node);
  const dominator = new Int32Array(count).fill(-1);
  dominator[0] = 0;
  const intersect = (first: number, second: number): number => {
    let a = first;
    let b = second;
    while (a !== b) {
      while ((postIndex[a] ?? 0) < (postIndex[b] ?? 0)) a = dominator[a] ?? 0;
      while ((postIndex[b] ?? 0) < (postIndex[a] ?? 0)) b = dominator[b] ?? 0;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let index = order.length - 2; index >= 0; index--) {
      const node = order[index] as number;
      let found = -1;
      for (const predecessor of predecessors[node] ?? [])
        if ((dominator[predecessor] ?? -1) !== -1)
          found = found === -1 ? predecessor : intersect(predecessor, found);
      if (found !== -1 && dominator[node] !== found) {
        dominator[node] = found;
        changed = true;
      }
    }
  }
  return dominator;
};

const selfSizeOf = (graph: Graph, node: number): number =>
  graph.nodes[node * graph.nodeFields + graph.sizeOf] ?? 0;

/** Each node's retained size (its own and all it dominates) and how many it dominates directly. */
const retainedSizes = (
  graph: Graph,
  order: ReadonlyArray<number>,
  dominator: Int32Array,
): { retained: Float64Array; dominated: Uint32Array } => {
  const retained = new Float64Array(graph.count);
  const dominated = new Uint32Array(graph.count);
  for (const node of order) retained[node] = (retained[node] ?? 0) + selfSizeOf(graph, node);
  for (const node of order) {
    if (node === 0) continue;
    const parent = dominator[node] ?? 0;
    retained[parent] = (retained[parent] ?? 0) + (retained[node] ?? 0);
    dominated[parent] = (dominated[parent] ?? 0) + 1;
  }
  return { retained, dominated };
};

/** `type:name` of a node, as DevTools shows it. */
const labelOf = (graph: Graph, node: number): string => {
  const { nodes, nodeFields, strings } = graph;
  return `${graph.nodeTypes[nodes[node * nodeFields + graph.typeOf] ?? -1] ?? "?"}:${(
    strings[nodes[node * nodeFields + graph.nameOf] ?? -1] ?? ""
  )
    .slice(0, 60)
    .replace(/\s+/g, " ")}`;
};

/** The name of the reference from `from` to `to`: a property, or `[index]`. */
const edgeName = (graph: Graph, from: number, to: number): string => {
  const { edges, edgeFields, firstEdge } = graph;
  for (let edge = firstEdge[from] ?? 0; edge < (firstEdge[from + 1] ?? 0); edge++) {
    if (graph.target(edge) !== to) continue;
    const type = graph.edgeTypes[edges[edge * edgeFields + graph.edgeTypeOf] ?? -1];
    const name = edges[edge * edgeFields + graph.edgeNameOf] ?? 0;
    return type === "element" || type === "hidden" ? `[${name}]` : (graph.strings[name] ?? "?");
  }
  return "?";
};

/** The path of dominators from the root to `node`. */
const pathTo = (graph: Graph, dominator: Int32Array, node: number): ReadonlyArray<string> => {
  const steps: Array<string> = [];
  for (let at = node; at !== 0; at = dominator[at] ?? 0) {
    const parent = dominator[at] ?? 0;
    steps.unshift(
      parent === 0 ? labelOf(graph, at) : `${edgeName(graph, parent, at)}<${labelOf(graph, at)}>`,
    );
  }
  return steps;
};

/** The retainers of at least `minBytes`, at most `limit` of them (the root not counted). */
export const largestRetainers = (
  file: HeapSnapshotFile,
  options: { readonly minBytes: number; readonly limit: number },
): RetainerReport => {
  const graph = graphOf(file);
  const { order, postIndex } = postOrder(graph);
  const dominator = dominatorsOf(graph, order, postIndex);
  const { retained, dominated } = retainedSizes(graph, order, dominator);
  const retainers = order
    .filter((node) => node !== 0 && (retained[node] ?? 0) >= options.minBytes)
    .sort((a, b) => (retained[b] ?? 0) - (retained[a] ?? 0))
    .slice(0, options.limit)
    .map((node) => ({
      label: labelOf(graph, node),
      path: pathTo(graph, dominator, node),
      selfBytes: selfSizeOf(graph, node),
      retainedBytes: retained[node] ?? 0,
      dominated: dominated[node] ?? 0,
    }));
  return { totalBytes: retained[0] ?? 0, nodes: graph.count, retainers };
};

const megabytes = (bytes: number): string => fixed(bytes / 1024 / 1024);

/** A table of the retainers: MB retained, objects dominated and their mean, and the path. */
export const renderRetainers = (report: RetainerReport): string =>
  `live heap ${megabytes(report.totalBytes)} MB in ${report.nodes} objects\n${renderTable(
    ["retained MB", "dominated", "mean B", "path from the root"],
    report.retainers.map((one) => [
      megabytes(one.retainedBytes),
      String(one.dominated),
      one.dominated === 0 ? "" : String(Math.round(one.retainedBytes / one.dominated)),
      one.path.join(" . "),
    ]),
    ["r", "r", "r", "l"],
  )}`;
