/**
 * A fixed permission grant for starting `main.ts serve` directly, without the launcher: loopback
 * on any port, the model directories (models/, tests/fixtures/generated/), config/, the
 * frontend, the native libraries and the image pipeline. The test helpers that spawn the server
 * use it. `./run serve` instead derives exact flags from its arguments (src/cli/permissions.ts),
 * which is what a user gets.
 *
 * @module
 */
import {
  ENGINE_WORKER_READ,
  IMAGE_PIPELINE_READ,
  NATIVE_LIB_READ,
  permissionFlags,
  SERVE_ENV,
} from "./permissions.ts";

export const SERVE_NET: readonly string[] = ["127.0.0.1", "localhost"];

export const SERVE_READ: readonly string[] = [
  "static",
  "models",
  "config",
  "tests/fixtures/generated",
  NATIVE_LIB_READ,
  IMAGE_PIPELINE_READ,
  ...ENGINE_WORKER_READ,
];

export const SERVE_WRITE: readonly string[] = ["logs"];

/** The flags, in a fixed order. */
export const SERVE_PERMISSION_FLAGS: readonly string[] = permissionFlags({
  net: SERVE_NET,
  read: SERVE_READ,
  write: SERVE_WRITE,
  env: SERVE_ENV,
  ffi: true,
});

/** The whole command line, for documentation and process managers that run it directly. */
export const SERVE_TASK = `deno run ${SERVE_PERMISSION_FLAGS.join(" ")} main.ts serve`;

if (import.meta.main) console.log(SERVE_TASK);
