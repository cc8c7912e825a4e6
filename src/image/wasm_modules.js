// @ts-self-types="./wasm_modules.d.ts"
// The codecs' WebAssembly, compiled through the module graph (`import source`): no file read at
// run time, so the pipeline needs no read permission for package folders, and an edge front or a
// compiled binary carries them. (In a .ts file `import source` does not type-check yet.)
import source gif from "imagescript/wasm/any/gif.wasm";
import source jpeg from "imagescript/wasm/any/jpeg.wasm";
import source png from "imagescript/wasm/any/png.wasm";
import source webp from "@cwasm/webp/webp.wasm";

export const imagescriptWasm = { gif, jpeg, png };
export const webpWasm = webp;
