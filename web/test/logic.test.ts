import { describe, expect, it } from "vitest";
import { dailySeries } from "../src/lib/activity";
import { costInfo, liftVerdict, reportCurve, reportJsonUrl, snapshotCurve } from "../src/lib/campaign";
import { describeError, ERROR_MESSAGES } from "../src/lib/errors";
import { GqlError, errorOf } from "../src/gql/client";
import { eth, isAddress, pct, pp, short } from "../src/lib/format";
import { href, parse } from "../src/lib/router";
import { emptyForm, membersCsv, toFilter } from "../src/lib/segment";
import { featureWords, reasons, typologyWords } from "../src/lib/words";

const ADDR = "0x" + "ab".repeat(20);

describe("routes", () => {
  it("reads deep links and writes them back", () => {
    expect(parse("/app/")).toEqual({ page: "home" });
    expect(parse("/app")).toEqual({ page: "home" });
    expect(parse(`/app/wallet/${ADDR}`)).toEqual({ page: "wallet", address: ADDR });
    expect(parse("/app/segments/risky-defi")).toEqual({ page: "segments", id: "risky-defi" });
    expect(parse("/app/segments")).toEqual({ page: "segments", id: undefined });
    expect(parse("/app/campaigns/quest%201")).toEqual({ page: "campaigns", id: "quest 1" });
    expect(parse("/app/jobs/")).toEqual({ page: "jobs" });
    expect(parse("/app/nope").page).toBe("notfound");
    expect(parse("/app/wallet/a/b").page).toBe("notfound");
    for (const r of [{ page: "wallet", address: ADDR }, { page: "campaigns", id: "quest 1" }, { page: "models" }] as const) {
      expect(parse(href(r))).toEqual(r);
    }
  });
});

describe("errors", () => {
  it("has words for every code the API sends", () => {
    for (const code of ["INVALID_ADDRESS", "NOT_FOUND", "UNAUTHENTICATED", "RATE_LIMITED", "QUERY_TOO_COMPLEX", "REQUEST_TOO_LARGE", "BAD_USER_INPUT", "GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "ANALYSIS_UNAVAILABLE", "INTERNAL_SERVER_ERROR", "GRAPH_UNAVAILABLE", "CONFLICT", "MARKETING", "NO_RPC_NODE"]) {
      expect(ERROR_MESSAGES[code], code).toBeTruthy();
    }
  });
  it("takes the code from extensions, else from the HTTP status", () => {
    const e = errorOf({ errors: [{ message: "no wallet 0x1", extensions: { code: "NOT_FOUND" } }] })!;
    expect(e.code).toBe("NOT_FOUND");
    expect(describeError(e)).toEqual({ code: "NOT_FOUND", title: ERROR_MESSAGES.NOT_FOUND, detail: "no wallet 0x1" });
    expect(errorOf(null, 429, 3)!.code).toBe("RATE_LIMITED");
    expect(describeError(errorOf(null, 429, 3)).detail).toContain("retry after 3 s");
    expect(errorOf({ errors: [{ message: "x" }] }, 401)!.code).toBe("UNAUTHENTICATED");
    expect(errorOf({}, 200)).toBeNull();
    expect(describeError(new GqlError("SOMETHING_NEW", "m")).title).toContain("SOMETHING_NEW");
    expect(describeError(new Error("boom")).code).toBe("CLIENT");
  });
});

describe("words", () => {
  it("says why a wallet scored as it did, biggest effect first", () => {
    const r = reasons([
      { factor: "fan_in_share", contribution: 0.05 },
      { factor: "out_counterparties", contribution: -0.2 },
      { factor: "cat_defi", contribution: 0.1 },
      { factor: "nothing", contribution: 0 },
    ]);
    expect(r.map((x) => x.factor)).toEqual(["out_counterparties", "cat_defi", "fan_in_share"]);
    expect(r[0].text).toBe("Distinct receivers from the wallet (fan-out) lowered the score by 0.200.");
    expect(r[1].text).toBe("Share of transfers with DeFi contracts or their tokens raised the score by 0.100.");
    expect(featureWords("some_new_thing")).toBe("some new thing");
  });
  it("reads typology codes", () => {
    expect(typologyWords("D-T-A-C")).toBe("DeFi trader, aggressive, community");
    expect(typologyWords(null)).toBe("no typology yet");
  });
});

describe("segment builder", () => {
  it("turns the form into the API's filter", () => {
    const form = { ...emptyForm(), base: "defi-holders", typologies: "d-*-a-*, N-T-S-I", clusters: "1, 3", minAnomaly: "0.1", maxAnomaly: "0.8", activeSince: "2024-01-02", activeWithinDays: "30", minVolume: "1.5", categories: ["DeFi"], addresses: `${ADDR}\n`, includeFlagged: true };
    expect(toFilter(form)).toEqual({
      errors: [],
      filter: { base: "defi-holders", typologies: ["D-*-A-*", "N-T-S-I"], clusters: [1, 3], minAnomaly: 0.1, maxAnomaly: 0.8, activeSince: 1704153600, activeWithinDays: 30, minVolume: 1.5, categories: ["DeFi"], addresses: [ADDR], includeFlagged: true },
    });
    expect(toFilter(emptyForm())).toEqual({ filter: { includeFlagged: false }, errors: [] });
  });
  it("says what is wrong before asking the API", () => {
    const { errors } = toFilter({ ...emptyForm(), typologies: "X-T-A-C", clusters: "a", minAnomaly: "0.9", maxAnomaly: "0.2", addresses: "0x12", minVolume: "-1" });
    expect(errors).toHaveLength(5);
    expect(errors.join(" ")).toMatch(/X-T-A-C.*clusters.*min anomaly is above.*min volume: at least 0.*addresses/);
  });
  it("writes members as CSV", () => {
    expect(membersCsv([{ address: ADDR, typology: { code: "D-T-A-C" }, cluster: { id: 2 }, anomaly: { score: 0.5, flagged: false } }, { address: "0x1", typology: null }])).toBe(
      `address,typology,cluster,anomaly_score,flagged\n${ADDR},D-T-A-C,2,0.5,false\n0x1,,,,\n`,
    );
  });
});

describe("campaigns", () => {
  const summary = (t: number, tc: number, c: number, cc: number) => ({ treatment: { targets: t, converted: tc }, control: { targets: c, converted: cc } });
  it("draws conversion per snapshot in time order, or the report's daily curve", () => {
    expect(snapshotCurve([{ name: "end", at: 20, summary: summary(10, 5, 10, 1) }, { name: "start", at: 10, summary: summary(10, 0, 0, 0) }])).toEqual([
      { at: 10, name: "start", treatment: 0, control: null },
      { at: 20, name: "end", treatment: 0.5, control: 0.1 },
    ]);
    expect(reportCurve({ series: { times: [1, 2], curve: { treatment: [0, 0.2], control: [0, 0.1] } } })).toEqual([
      { at: 1, treatment: 0, control: 0 },
      { at: 2, treatment: 0.2, control: 0.1 },
    ]);
    expect(reportCurve(null)).toBeNull();
    expect(reportJsonUrl("http://h/blobs/campaigns/q/report.html")).toBe("http://h/blobs/campaigns/q/report.json");
    expect(reportJsonUrl(null)).toBeNull();
  });
  it("reads lift and cost", () => {
    const lift = { diff: 0.1, low: 0.02, high: 0.2, treatment: 0.3, control: 0.2, method: "newcombe" };
    expect(liftVerdict(lift)).toBe("up");
    expect(liftVerdict({ ...lift, low: -0.01 })).toBe("unclear");
    expect(liftVerdict({ ...lift, diff: -0.1, low: -0.2, high: -0.01 })).toBe("down");
    expect(costInfo({ total: 150, per_converted: 16.7, incremental_conversions: 3.3, per_incremental: 45.6 })).toEqual({ total: 150, perConverted: 16.7, incremental: 3.3, perIncremental: 45.6 });
    expect(costInfo({ total: 150, per_incremental: null })!.perIncremental).toBeNull();
    expect(costInfo(null)).toBeNull();
  });
});

describe("activity and formats", () => {
  it("fills the days without transfers", () => {
    const s = dailySeries([{ day: 86400 * 3, valueIn: 1, valueOut: 0, transfersIn: 1, transfersOut: 0 }, { day: 86400, valueIn: 0, valueOut: 2, transfersIn: 0, transfersOut: 2 }]);
    expect(s.days).toEqual([86400, 172800, 259200]);
    expect(s.valueIn).toEqual([0, 0, 1]);
    expect(s.valueOut).toEqual([2, 0, 0]);
    expect(s.transfers).toEqual([2, 0, 1]);
    expect(dailySeries([]).days).toEqual([]);
  });
  it("formats", () => {
    expect(short(ADDR)).toBe("0xababab…ababab");
    expect(eth(1.23456789)).toBe("1.2346 ETH");
    expect(eth(null)).toBe("–");
    expect(pct(0.1234)).toBe("12.3%");
    expect(pp(0.041)).toBe("+4.1 pp");
    expect(isAddress(` ${ADDR} `)).toBe(true);
    expect(isAddress("0x12")).toBe(false);
  });
});

describe("a deep link's early query", () => {
  it("is asked once and taken once", async () => {
    const { prefetch, takePrefetched } = await import("../src/lib/useQuery");
    const asked: string[] = [];
    const real = globalThis.fetch;
    globalThis.fetch = (async (_url: string, init: { body: string }) => {
      asked.push(init.body);
      return new Response(JSON.stringify({ data: { wallet: { address: "0xa" } } }), { headers: { "Content-Type": "application/json" } });
    }) as unknown as typeof fetch;
    try {
      prefetch("query W($address: String!) { wallet(address: $address) { address } }", { address: "0xa" });
      expect(asked).toHaveLength(1);
      expect(takePrefetched("query Other { x }", JSON.stringify({ address: "0xa" }))).toBeUndefined();
      const p = takePrefetched<{ wallet: { address: string } }>("query W($address: String!) { wallet(address: $address) { address } }", JSON.stringify({ address: "0xa" }));
      expect(await p).toEqual({ wallet: { address: "0xa" } });
      expect(takePrefetched("query W($address: String!) { wallet(address: $address) { address } }", JSON.stringify({ address: "0xa" }))).toBeUndefined();
    } finally {
      globalThis.fetch = real;
    }
  });
});
