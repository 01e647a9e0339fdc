// The type generator on a schema that has the sections other parts of the API add: the app's
// wallet query then asks for them (and without them, it does not).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const SDL = `
type Query { wallet(address: String!): Wallet }
type Wallet { address: String! exposure: Exposure sybil: Sybil transfers(first: Int!): [String!]! }
type Exposure { total: Float! paths(first: Int = 5): [Path!]! }
type Path { hops: Int! via: Wallet needs(x: Int!): Int }
type Sybil { clusterId: ID members: [Wallet!]! }
enum Direction { IN OUT }
input F { a: Int! b: String = "x" c: [Int!] }
`;

function generate(sdl: string): string {
  const dir = mkdtempSync(join(tmpdir(), "gen-"));
  writeFileSync(join(dir, "s.graphql"), sdl);
  execFileSync(process.execPath, ["scripts/gen-types.mjs", join(dir, "s.graphql"), join(dir, "out.ts")]);
  return readFileSync(join(dir, "out.ts"), "utf8");
}

describe("gen-types", () => {
  it("types every object, input and enum, and selects the optional wallet sections", () => {
    const out = generate(SDL);
    expect(out).toContain("export type Direction = \"IN\" | \"OUT\";");
    expect(out).toMatch(/export interface F \{\n {2}a: number;\n {2}b\?: string \| null;\n {2}c\?: number\[\] \| null;\n\}/);
    expect(out).toContain("exposure: Exposure | null;");
    const sections = JSON.parse(/WALLET_SECTIONS: Record<string, string> = (\{[^;]*\});/.exec(out)![1]);
    expect(sections).toEqual({
      exposure: "exposure { total paths { hops via { address } } }",
      sybil: "sybil { clusterId members { address } }",
    });
  });
});
