import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Server, createServer } from "node:http";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrowserContext } from "playwright-core";
import { afterEach, describe, expect, test } from "vitest";
import { DEFAULT_LIMITS } from "../../src/limits";
import { Log } from "../../src/platform";
import { listenerConfig } from "../../targets/node/config";
import { RunningServer, startServer } from "../../targets/node/server";
import { closeAllClients, connectUrl } from "./fixtures/clients";

// A real browser: headless Chromium (Debian's chromium package, driven by playwright-core)
// loads a small page (fixtures/browser/index.html) that uses MQTT.js's browser bundle to
// subscribe and publish through the WebSocket listener; an MQTT.js client on the TCP listener
// checks what the page sends and that the page answers.
//
// .ci/run installs chromium. Without /usr/bin/chromium this test is skipped with a message.

const CHROMIUM = process.env.MIDGE_CHROMIUM ?? "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const HOST = "127.0.0.1";
const TEST_TIMEOUT = 90000;
const STEP_MS = 20000;

/** The flags known to work for headless Chromium as root on a machine with no outside network. */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const PAGE = fileURLToPath(new URL("./fixtures/browser/index.html", import.meta.url));
const BUNDLE = fileURLToPath(new URL("../../node_modules/mqtt/dist/mqtt.min.js", import.meta.url));

const lines: string[] = [];
const log: Log = { log: (_level, message) => lines.push(message) };

let server: RunningServer | null = null;
let http: Server | null = null;
let browser: BrowserContext | null = null;
let profile = "";
afterEach(async () => {
  closeAllClients();
  if (browser !== null) await Promise.race([browser.close(), new Promise((r) => setTimeout(r, 10000))]);
  browser = null;
  if (http !== null) {
    http.closeAllConnections();
    http.close();
  }
  http = null;
  if (server !== null) await server.stop();
  server = null;
  if (profile !== "") rmSync(profile, { recursive: true, force: true });
  profile = "";
  lines.length = 0;
});

/** Serves the test page and the MQTT.js browser bundle on 127.0.0.1. */
function servePage(): Promise<number> {
  const files: Record<string, [string, string]> = {
    "/": [PAGE, "text/html; charset=utf-8"],
    "/index.html": [PAGE, "text/html; charset=utf-8"],
    "/mqtt.min.js": [BUNDLE, "text/javascript; charset=utf-8"],
  };
  const srv = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const file = Object.prototype.hasOwnProperty.call(files, path) ? files[path] : null;
    if (file === null) {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found\n");
      return;
    }
    res.writeHead(200, { "Content-Type": file[1], "Cache-Control": "no-store" });
    res.end(readFileSync(file[0]));
  });
  http = srv;
  return new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(0, HOST, () => resolve((srv.address() as AddressInfo).port));
  });
}

describe("a browser dashboard over the WebSocket listener", () => {
  if (!HAVE_CHROMIUM) {
    console.warn(`browser.test.ts: SKIPPED, ${CHROMIUM} not found (apt-get install chromium; .ci/run installs it)`);
    test.skip(`SKIPPED: ${CHROMIUM} not found; install Debian's chromium package (.ci/run does) to run the browser test`, () => undefined);
    return;
  }

  test("headless Chromium with MQTT.js's browser bundle subscribes, publishes and answers through Midge", { timeout: TEST_TIMEOUT }, async () => {
    server = await startServer(DEFAULT_LIMITS, [listenerConfig(0, HOST), listenerConfig(0, HOST, { protocol: "websockets" })], log);
    const [tcpPort, wsPort] = server.listeners.map((l) => l.address.port);
    const httpPort = await servePage();

    const watcher = await connectUrl(`mqtt://${HOST}:${tcpPort}`);
    await watcher.subscribe("browser/#");

    const { chromium } = await import("playwright-core");
    profile = mkdtempSync(join(tmpdir(), "midge-chromium-"));
    // A persistent context on a fresh, empty profile directory (--user-data-dir).
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: STEP_MS,
    });
    browser = context;
    const page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });

    const brokerUrl = `ws://${HOST}:${wsPort}/mqtt`;
    await page.goto(`http://${HOST}:${httpPort}/?broker=${encodeURIComponent(brokerUrl)}`, { timeout: STEP_MS });
    try {
      // Page-side expressions are strings: this file is compiled without the DOM library.
      await page.waitForFunction(`window.midge !== undefined && (window.midge.status === "subscribed" || window.midge.status.startsWith("error"))`, undefined, { timeout: STEP_MS });
    } catch (e) {
      throw new Error(`the page did not subscribe: ${(e as Error).message}\npage text:\n${await page.innerText("body")}\n${problems.join("\n")}`);
    }
    expect(await page.innerText("#status"), `${await page.innerText("body")}\n${problems.join("\n")}`).toBe("subscribed");

    // What the page published reached the TCP client...
    expect((await watcher.message("browser/hello")).payload).toBe("hello from the browser");
    // ...and what the TCP client publishes reaches the page, which answers.
    await watcher.publish("browser/in", "ping over tcp");
    expect((await watcher.message("browser/out", STEP_MS)).payload).toBe("echo: ping over tcp");
    await page.waitForFunction(`document.getElementById("log").textContent.includes("received browser/in: ping over tcp")`, undefined, { timeout: STEP_MS });
    expect(await page.evaluate("window.midge.received")).toEqual(["browser/in ping over tcp"]);

    // The broker saw a WebSocket client from the browser.
    expect(lines.some((l) => /^New client connected from 127\.0\.0\.1:\d+ as browser-/.test(l)), lines.join("\n")).toBe(true);
    expect(problems).toEqual([]);
  });
});
