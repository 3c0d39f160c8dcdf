/**
 * A Home Assistant-style session at MQTT 5, with Python paho-mqtt (Debian's python3-paho-mqtt,
 * 1.6 or 2.x) running test/e2e-v5/ha_client.py, which does what Home Assistant's MQTT
 * integration does: connect (client id, Clean Start 1, a retained Will "offline" on
 * homeassistant/status), subscribe to the discovery prefix and the devices' state topics,
 * publish the retained birth "online", and send commands to the devices its discovery configs
 * name, at the QoS each config gives. The "devices" are MQTT.js clients, two at 3.1.1 and one at
 * 5.0, which publish their retained discovery configs and states before HA connects. The test
 * ends with an unclean drop of HA (SIGKILL of the Python process): the Will reaches a subscriber.
 *
 * The script prints one JSON line per event; the test reads them with deadlines.
 */
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, expect, test, vi } from "vitest";
import { E2E_CONCURRENCY, Harness, MqttConn, fits, publish } from "../e2e/helpers";
import { selectedTargets, trackChild } from "../e2e/targets";
import { V5Conn, describeV5, mqtt5, publish5, startV5 } from "./v5";

vi.setConfig({ maxConcurrency: E2E_CONCURRENCY });

const SCRIPT = join(fileURLToPath(new URL(".", import.meta.url)), "ha_client.py");
/** The whole scenario's bound (the Python start alone can take a second on a loaded machine). */
const HA_TEST_TIMEOUT = 40000;
const EVENT_MS = 8000;

/** A Python with paho-mqtt: $MIDGE_PYTHON, else Debian's /usr/bin/python3, else python3 on PATH. */
function findPython(): string | null {
  const candidates = [process.env.MIDGE_PYTHON, "/usr/bin/python3", "python3"].filter((c): c is string => !!c);
  for (const py of candidates) {
    const r = spawnSync(py, ["-c", "import paho.mqtt.client"], { stdio: "ignore", timeout: 10000 });
    if (r.status === 0) return py;
  }
  return null;
}

type HaEvent = Record<string, unknown> & { event: string };

/** ha_client.py as a child process whose JSON lines are collected as events. */
class HaProcess {
  events: HaEvent[] = [];
  stderr = "";
  exited = false;
  private wake: Array<() => void> = [];
  private child;

  constructor(python: string, args: string[]) {
    this.child = spawn(python, ["-u", SCRIPT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    trackChild(this.child);
    let buf = "";
    this.child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString("utf8");
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line === "") continue;
        try {
          this.events.push(JSON.parse(line) as HaEvent);
        } catch {
          this.events.push({ event: "unparsed", line });
        }
      }
      this.notify();
    });
    this.child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString("utf8")));
    this.child.once("exit", () => {
      this.exited = true;
      this.notify();
    });
  }

  private notify(): void {
    for (const f of this.wake.splice(0)) f();
  }

  /** Waits for an event matching pred (earlier ones count); throws with the log on timeout or exit. */
  async waitFor(pred: (e: HaEvent) => boolean, what: string, timeoutMs = EVENT_MS): Promise<HaEvent> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const e = this.events.find(pred);
      if (e) return e;
      const left = end - Date.now();
      if (this.exited || left <= 0) {
        throw new Error(`ha_client.py: ${this.exited ? "exited" : `no ${what} within ${timeoutMs} ms`}; events: ${JSON.stringify(this.events)}; stderr: ${this.stderr}`);
      }
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.wake.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  messages(topic: string): HaEvent[] {
    return this.events.filter((e) => e.event === "message" && e.topic === topic);
  }

  /** SIGKILL: the TCP connection ends without DISCONNECT, as when HA's host loses power. */
  kill(): void {
    if (!this.exited) this.child.kill("SIGKILL");
  }
}

let python: string | null = null;

for (const target of selectedTargets()) {
  describeV5(target)(target.name, () => {
    describeV5(target)("e2e-v5/20-home-assistant", { timeout: HA_TEST_TIMEOUT }, () => {
      beforeAll(() => {
        python = findPython();
        if (python === null) throw new Error("no Python with paho-mqtt: apt-get install python3-paho-mqtt (or set MIDGE_PYTHON)");
      });

      test.skipIf(!fits(target, { maxPacketSize: 300, maxConnections: 7, maxRetained: 8 }))("[MQTT-3.1.2-8, MQTT-3.1.2-15, MQTT-3.3.1-5, SRV5-V311-26, SRV5-V311-27, SRV5-CON-22, MQTT-3.3.4-1, MQTT-3.8.4-8] Home Assistant (paho-mqtt, MQTT 5): discovery configs retained by 3.1.1 and 5.0 devices, birth, commands at QoS 0 and 1, and the retained Will on an unclean drop", async (ctx) => {
        const h: Harness = await startV5(target, ctx);

        // Devices: two MQTT.js 3.1.1 clients and one MQTT.js 5.0 client, each with a retained
        // discovery config and state, subscribed to its command topic at QoS 1.
        const devA: MqttConn = await h.mqtt({ clientId: "dev-a-311" });
        await devA.client.subscribeAsync({ "dev-a/set": { qos: 1 } });
        await publish(devA, "homeassistant/sensor/dev-a/temperature/config", JSON.stringify({ name: "Temperature", unique_id: "dev-a-t", state_topic: "dev-a/state", unit_of_measurement: "°C" }), 1, true);
        await publish(devA, "dev-a/state", "21.5", 1, true);

        const devB: MqttConn = await h.mqtt({ clientId: "dev-b-311" });
        await devB.client.subscribeAsync({ "dev-b/set": { qos: 1 } });
        await publish(devB, "homeassistant/light/dev-b/config", JSON.stringify({ name: "Lamp", unique_id: "dev-b-l", state_topic: "dev-b/state", command_topic: "dev-b/set", payload_on: "ON", qos: 0 }), 1, true);
        await publish(devB, "dev-b/state", "OFF", 1, true);

        const devC: V5Conn = await mqtt5(h, { clientId: "dev-c-v5" });
        await devC.client.subscribeAsync({ "dev-c/set": { qos: 1 } });
        await publish5(devC, "homeassistant/switch/dev-c/config", JSON.stringify({ name: "Pump", unique_id: "dev-c-s", state_topic: "dev-c/state", command_topic: "dev-c/set", payload_on: "START", qos: 1 }), {
          qos: 1,
          retain: true,
          properties: { contentType: "application/json", userProperties: { vendor: "e2e" } },
        });
        await publish5(devC, "dev-c/state", "STOPPED", { qos: 1, retain: true });

        // Someone watching HA's status (as the devices do to re-send discovery on HA's birth).
        const watcher = await mqtt5(h, { clientId: "status-watch" });
        await watcher.client.subscribeAsync({ "homeassistant/status": { qos: 1, rap: true } });

        const ha = new HaProcess(python!, [
          "--port", String(h.port),
          "--client-id", "home-assistant-e2e",
          "--state-topic", "dev-a/state",
          "--state-topic", "dev-b/state",
          "--state-topic", "dev-c/state",
          "--expect-configs", "3",
        ]);
        h.defer(() => ha.kill());

        const connected = await ha.waitFor((e) => e.event === "connected", "CONNACK");
        expect(connected).toMatchObject({ reason_code: 0, session_present: false });
        const sub = await ha.waitFor((e) => e.event === "subscribed", "SUBACK");
        expect(sub.codes, "SUBACK: homeassistant/# at QoS 0, the three state topics at QoS 1").toEqual([0, 1, 1, 1]);

        // The retained configs and states arrive on subscribe, RETAIN 1, whatever version published them.
        for (const t of ["homeassistant/sensor/dev-a/temperature/config", "homeassistant/light/dev-b/config", "homeassistant/switch/dev-c/config"]) {
          const m = await ha.waitFor((e) => e.event === "message" && e.topic === t, `the retained config on ${t}`);
          expect(m.retain, t).toBe(true);
          expect(m.qos, "MQTT-3.8.4-8: published at QoS 1, subscribed at QoS 0").toBe(0);
          expect(JSON.parse(m.payload as string).unique_id).toBeDefined();
        }
        const cfgC = ha.messages("homeassistant/switch/dev-c/config")[0];
        expect(cfgC.content_type, "the 5.0 device's properties are kept with the retained message").toBe("application/json");
        expect(cfgC.user_properties).toEqual([["vendor", "e2e"]]);
        for (const [t, v] of [["dev-a/state", "21.5"], ["dev-b/state", "OFF"], ["dev-c/state", "STOPPED"]]) {
          const m = await ha.waitFor((e) => e.event === "message" && e.topic === t, `the retained state on ${t}`);
          expect([m.payload, m.retain, m.qos]).toEqual([v, true, 1]);
        }

        // Birth: retained "online" on homeassistant/status.
        await ha.waitFor((e) => e.event === "birth_sent", "the birth message");
        const birth = await watcher.inbox.waitFor((m) => m.payload.toString() === "online", 5000, "the birth");
        expect(birth.retain).toBe(true);

        // Commands to the devices at the QoS each config asked for.
        await ha.waitFor((e) => e.event === "commands_done", "the commands");
        const cmdB = await devB.inbox.waitTopic("dev-b/set");
        expect([cmdB.payload.toString(), cmdB.qos]).toEqual(["ON", 0]);
        const cmdC = await devC.inbox.waitTopic("dev-c/set");
        expect([cmdC.payload.toString(), cmdC.qos]).toEqual(["START", 1]);
        expect(Object.entries(cmdC.properties.userProperties ?? {}), "HA's user property reaches the 5.0 device").toEqual([["origin", "home-assistant"]]);
        expect(devA.inbox.msgs, "the sensor has no command topic").toEqual([]);

        // The devices report their new state; HA sees it live (RETAIN 0: not retained by them now).
        await publish(devB, "dev-b/state", "ON", 1);
        await publish5(devC, "dev-c/state", "RUNNING", { qos: 1 });
        await ha.waitFor((e) => e.event === "message" && e.topic === "dev-b/state" && e.payload === "ON", "dev-b's new state");
        await ha.waitFor((e) => e.event === "message" && e.topic === "dev-c/state" && e.payload === "RUNNING", "dev-c's new state");

        // Unclean drop: the Will "offline" reaches the watcher and stays retained.
        ha.kill();
        const will = await watcher.inbox.waitFor((m) => m.payload.toString() === "offline", 5000, "HA's Will");
        expect(will.retain).toBe(true);
        expect(will.properties.contentType, "the Will's properties").toBe("text/plain");
        const later = await h.mqtt({ clientId: "late-311" });
        await later.client.subscribeAsync({ "homeassistant/status": { qos: 1 } });
        const kept = await later.inbox.waitTopic("homeassistant/status");
        expect([kept.payload.toString(), kept.retain]).toEqual(["offline", true]);
      });
    });
  });
}
