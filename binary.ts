/**
 * The single binary's entry module: `deno task compile` (tools/compile.ts) stages this file
 * with the native libraries embedded and compiles it; `smolvlm serve --model ... --mmproj ...`
 * runs the service with the frontend and the libraries from inside the binary.
 * src/binary/permissions.ts lists the permissions baked into it.
 *
 * @module
 */
import { STATIC_ASSETS } from "./src/edge/assets.ts";
import { runBinary } from "./src/binary/entry.ts";
import { NATIVE_PAYLOAD } from "./src/binary/native_payload.ts";

if (import.meta.main) {
  Deno.exitCode = await runBinary(Deno.args, NATIVE_PAYLOAD, STATIC_ASSETS);
}
