/**
 * The syntax of a host allow-list entry (the service's `server.allowed_hosts`, the edge's
 * `--allowed-host`): a host name without scheme or port, `*.name` for its subdomains, or `*` for
 * any Host. A module of its own with nothing but zod, so the edge's configuration shares it.
 *
 * @module
 */
import { z } from "zod";

const LABEL = "[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?";

/** One entry, lowercased, no trailing dot (as src/http/middleware/allowed_hosts.ts compares). */
export const allowedHostEntry = z.string()
  .regex(
    new RegExp(`^\\*$|^(\\*\\.)?${LABEL}(?:\\.${LABEL})*\\.?$`, "i"),
    'a host name like app.example.com or *.example.com, without scheme or port ("*": any)',
  )
  .transform((s) => s.toLowerCase().replace(/\.$/, ""));
