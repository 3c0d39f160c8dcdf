import { execFile } from "node:child_process";
import { afterAll, describe, expect, test } from "vitest";
import { BrokerHandle, nodeTarget } from "../e2e/targets";

const brokers: BrokerHandle[] = [];
afterAll(async () => {
  for (const b of brokers) await b.stop();
});

function sub(port: number, args: string[]): Promise<string> {
  return new Promise((resolve) => execFile("mosquitto_sub", ["-h", "127.0.0.1", "-p", String(port), ...args], { timeout: 8000 }, (_e, out) => resolve(String(out))));
}

describe("$SYS topics (Node CLI)", () => {
  test("[SRV-IMPL-18] sys_interval publishes retained broker figures that mosquitto_sub can read", async () => {
    const b = await nodeTarget.start({ configLines: ["sys_interval 1"] });
    brokers.push(b);
    const first = await sub(b.port, ["-t", "$SYS/broker/#", "-v", "-W", "2"]);
    const lines = new Map(first.trim().split("\n").map((l) => [l.substring(0, l.indexOf(" ")), l.substring(l.indexOf(" ") + 1)]));
    expect(lines.get("$SYS/broker/version")).toMatch(/^midge version \d+\.\d+\.\d+$/);
    expect(lines.get("$SYS/broker/uptime")).toMatch(/^\d+ seconds$/);
    expect(lines.has("$SYS/broker/tables/sessions/used")).toBe(true);
    expect(lines.get("$SYS/broker/tables/sessions/size")).toBe("10000");
    // The figures move: after another interval the subscriber itself is counted.
    const connected = await sub(b.port, ["-t", "$SYS/broker/clients/connected", "-C", "2", "-W", "4"]);
    expect(connected.trim().split("\n").map(Number)).toContain(1);
  }, 20000);

  test("sys_interval 0 publishes nothing under $SYS", async () => {
    const b = await nodeTarget.start({ configLines: ["sys_interval 0"] });
    brokers.push(b);
    expect(await sub(b.port, ["-t", "$SYS/#", "-v", "-W", "2"])).toBe("");
  }, 20000);
});
