import { unitTestConfig } from "@odigos/vitest-config";

export default unitTestConfig();
