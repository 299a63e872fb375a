import { describe, expect, it } from "vitest";
import { type HeapSnapshotFile, largestRetainers, renderRetainers } from "./retainers.js";

const nodeTypes = ["hidden", "array", "string", "object", "code", "closure", "synthetic"];
const edgeTypes = ["context", "element", "property", "internal", "hidden", "shortcut", "weak"];

type Node = {
  type: string;
  name: string;
  size: number;
  edges: Array<[string, string | number, number]>;
};

/** A snapshot in V8's flat format from a list of nodes (node 0 is the root). */
const snapshot = (graph: ReadonlyArray<Node>): HeapSnapshotFile => {
  const strings: Array<string> = [];
  const intern = (text: string): number => {
    const at = strings.indexOf(text);
    return at === -1 ? strings.push(text) - 1 : at;
  };
  const nodeFields = [
    "type",
    "name",
    "id",
    "self_size",
    "edge_count",
    "trace_node_id",
    "detachedness",
  ];
  const nodes = graph.flatMap((node, index) => [
    nodeTypes.indexOf(node.type),
    intern(node.name),
    index * 2 + 1,
    node.size,
    node.edges.length,
    0,
    0,
  ]);
  const edges = graph.flatMap((node) =>
    node.edges.flatMap(([type, name, to]) => [
      edgeTypes.indexOf(type),
      typeof name === "number" ? name : intern(name),
      to * nodeFields.length,
    ]),
  );
  return {
    snapshot: {
      meta: {
        node_fields: nodeFields,
        node_types: [nodeTypes, "string", "number", "number", "number", "number", "number"],
        edge_fields: ["type", "name_or_index", "to_node"],
        edge_types: [edgeTypes, "string_or_number", "node"],
      },
    },
    nodes,
    edges,
    strings,
  };
};

// A cache (a Map of two entries) and a queue; the queue's key string is also an entry's name,
// and the queue holds an entry weakly.
const graph: ReadonlyArray<Node> = [
  {
    type: "synthetic",
    name: "",
    size: 0,
    edges: [
      ["property", "cache", 1],
      ["property", "queue", 2],
    ],
  },
  {
    type: "object",
    name: "Map",
    size: 40,
    edges: [
      ["element", 0, 3],
      ["element", 1, 4],
    ],
  },
  {
    type: "object",
    name: "Queue",
    size: 30,
    edges: [
      ["property", "key", 5],
      ["weak", "held", 3],
    ],
  },
  { type: "object", name: "Object", size: 100, edges: [["property", "name", 5]] },
  { type: "object", name: "Object", size: 100, edges: [] },
  { type: "string", name: "shop/cart", size: 20, edges: [] },
];

describe("largestRetainers", () => {
  const report = largestRetainers(snapshot(graph), { minBytes: 0, limit: 10 });

  it("sums what each object alone keeps alive; a shared object counts for neither holder", () => {
    expect(report.totalBytes).toBe(290);
    expect(report.retainers.map((one) => [one.label, one.retainedBytes, one.dominated])).toEqual([
      ["object:Map", 240, 2],
      ["object:Object", 100, 0],
      ["object:Object", 100, 0],
      ["object:Queue", 30, 0],
      ["string:shop/cart", 20, 0],
    ]);
  });

  it("names the path of dominators from the root, and ignores weak references", () => {
    expect(report.retainers[1]?.path).toEqual(["object:Map", "[0]<object:Object>"]);
    expect(report.retainers[2]?.path).toEqual(["object:Map", "[1]<object:Object>"]);
  });

  it("keeps only the retainers asked for", () => {
    const few = largestRetainers(snapshot(graph), { minBytes: 50, limit: 2 });
    expect(few.retainers.map((one) => one.retainedBytes)).toEqual([240, 100]);
    expect(renderRetainers(few)).toContain("object:Map . [0]<object:Object>");
  });
});
