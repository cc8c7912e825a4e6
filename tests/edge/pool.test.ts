import { assertEquals, assertStrictEquals } from "jsr:@std/assert@^1";
