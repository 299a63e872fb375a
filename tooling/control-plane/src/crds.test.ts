import { join } from "node:path";
import { dumpYaml } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { readCrds } from "./crds.js";
import { defaultCrdDir } from "./layout.js";

describe("readCrds", () => {
  it("keeps enums and required lists through the typed client's serializer", async () => {
    const crds = await readCrds([join(defaultCrdDir, "odigos.io_collectorsgroups.yaml")]);
    expect(crds).toHaveLength(1);
    // What the API client actually sends:
    const wire = parse(dumpYaml(crds[0])) as {
      spec: {
        versions: Array<{
          schema: {
            openAPIV3Schema: {
              properties: { spec: { properties: { role: unknown }; required: unknown } };
            };
          };
        }>;
      };
    };
    const spec = wire.spec.versions[0]?.schema.openAPIV3Schema.properties.spec;
    expect(spec?.properties.role).toEqual({ type: "string", enum: ["GATEWAY", "DATA_COLLECTION"] });
    expect(spec?.required).toEqual(["role"]);
  });
});
