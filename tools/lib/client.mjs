// A well-behaved MQTT 3.1.1 client for the fuzzer and the soak: QoS 0/1/2 in both directions,
// CleanSession 0 sessions that survive kills and reconnects, and the receiver side of exactly
// once (an inbound QoS 2 id is remembered from PUBLISH until PUBREL, across reconnects, so a
// resent PUBLISH is not delivered twice). It counts every protocol anomaly the broker causes.
import { createConnection } from "node:net";
import { Splitter, TYPE_NAMES, parsePublish, pk } from "./wire.mjs";

const CONNECT_TIMEOUT_MS = 5000;

export class GoodClient {
  /**
   * o: { host, port, clientId, clean (default true), keepalive (s, default 30), onMessage(msg) }
   * msg: { topic, payload, qos, retain, dup }
   */
  constructor(o) {
    this.host = o.host ?? "127.0.0.1";
    this.port = o.port;
    this.clientId = o.clientId;
    this.clean = o.clean ?? true;
    this.keepalive = o.keepalive ?? 30;
    this.onMessage = o.onMessage ?? (() => {});
    this.socket = null;
    this.connected = false;
    this.nextId = 1;
    /** Outbound QoS 1/2 flows: id → { packet, qos, stage: "publish" | "pubrel", resolve }. */
    this.outbound = new Map();
    /** Inbound QoS 2 ids received and not yet released (client side of MQTT-4.3.3). */
    this.inboundQos2 = new Set();
    this.waiters = new Map(); // "suback:<id>" → resolve
    this.connectWaiter = null;
    /** Anomalies: things a correct broker never does to a well-behaved client. */
    this.anomalies = [];
    this.unexpectedCloses = 0;
    this.closing = false;
    this.pingTimer = null;
    this.stats = { received: 0, sent: 0, reconnects: 0, kills: 0, resent: 0 };
  }

  anomaly(what) {
    if (this.anomalies.length < 50) this.anomalies.push(`${this.clientId}: ${what}`);
  }

  /** Connects (or reconnects); resolves with sessionPresent once CONNACK 0 arrives. */
  connect() {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: this.host, port: this.port });
      socket.setNoDelay(true);
      this.socket = socket;
      this.closing = false;
      const splitter = new Splitter();
      let settled = false;
      const timer = setTimeout(() => fail(new Error(`${this.clientId}: no CONNACK within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      const fail = (e) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(e);
      };
      this.connectWaiter = (sessionPresent, rc) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (rc !== 0) {
          socket.destroy();
          reject(new Error(`${this.clientId}: CONNACK return code ${rc}`));
          return;
        }
        this.connected = true;
        this.startPing();
        // Resend unacknowledged flows in order, with their ids (MQTT-4.4.0-1). With a clean
        // session they start over as new flows (the broker forgot them).
        for (const [id, f] of this.outbound) {
          this.stats.resent++;
          if (f.stage === "pubrel") this.write(pk.pubrel(id));
          else this.write(f.qos > 0 && sessionPresent ? markDup(f.packet) : f.packet);
        }
        resolve(sessionPresent);
      };
      socket.on("connect", () => socket.write(pk.connect({ clientId: this.clientId, clean: this.clean, keepalive: this.keepalive })));
      socket.on("data", (chunk) => {
        if (this.socket !== socket) return;
        const { packets, error } = splitter.push(chunk);
        for (const p of packets) this.handle(p);
        if (error) this.anomaly(error);
      });
      socket.on("error", () => {});
      socket.on("close", () => {
        if (this.socket === socket) {
          this.connected = false;
          this.stopPing();
          if (!this.closing) this.unexpectedCloses++;
        }
        fail(new Error(`${this.clientId}: connection closed before CONNACK`));
      });
    });
  }

  handle(p) {
    switch (p.type) {
      case 2: {
        if (p.body.length !== 2) this.anomaly(`CONNACK of length ${p.body.length}`);
        const w = this.connectWaiter;
        this.connectWaiter = null;
        if (w) w((p.body[0] & 1) === 1, p.body[1]);
        else this.anomaly("unexpected CONNACK");
        return;
      }
      case 3: {
        const m = parsePublish(p);
        if (m.qos === 3) return this.anomaly("PUBLISH with QoS 3");
        if (m.qos === 2) {
          // Deliver on first receipt only; a resend with the same id before PUBREL is the same message.
          if (!this.inboundQos2.has(m.id)) {
            this.inboundQos2.add(m.id);
            this.deliver(m);
          }
          this.write(pk.pubrec(m.id));
        } else {
          this.deliver(m);
          if (m.qos === 1) this.write(pk.puback(m.id));
        }
        return;
      }
      case 4: // PUBACK
      case 7: {
        // PUBCOMP
        const id = p.body.readUInt16BE(0);
        const f = this.outbound.get(id);
        const want = p.type === 4 ? 1 : 2;
        if (!f || f.qos !== want || (want === 2 && f.stage !== "pubrel")) return this.anomaly(`${TYPE_NAMES[p.type]} for unknown id ${id}`);
        this.outbound.delete(id);
        f.resolve();
        return;
      }
      case 5: {
        // PUBREC
        const id = p.body.readUInt16BE(0);
        const f = this.outbound.get(id);
        if (!f || f.qos !== 2) return this.anomaly(`PUBREC for unknown id ${id}`);
        f.stage = "pubrel";
        this.write(pk.pubrel(id));
        return;
      }
      case 6: {
        // PUBREL: end of an inbound QoS 2 flow; PUBCOMP even for an id we no longer hold.
        if (p.flags !== 2) this.anomaly(`PUBREL with flags ${p.flags}`);
        const id = p.body.readUInt16BE(0);
        this.inboundQos2.delete(id);
        this.write(pk.pubcomp(id));
        return;
      }
      case 9: {
        const id = p.body.readUInt16BE(0);
        const w = this.waiters.get("suback:" + id);
        if (!w) return this.anomaly(`SUBACK for unknown id ${id}`);
        this.waiters.delete("suback:" + id);
        w(Array.from(p.body.subarray(2)));
        return;
      }
      case 11: {
        const id = p.body.readUInt16BE(0);
        const w = this.waiters.get("unsuback:" + id);
        if (w) {
          this.waiters.delete("unsuback:" + id);
          w();
        }
        return;
      }
      case 13:
        return;
      default:
        this.anomaly(`broker sent ${TYPE_NAMES[p.type]}`);
    }
  }

  deliver(m) {
    this.stats.received++;
    this.onMessage(m);
  }

  write(buf) {
    if (this.socket && !this.socket.destroyed) this.socket.write(buf);
  }

  allocId() {
    for (;;) {
      const id = this.nextId;
      this.nextId = id === 65535 ? 1 : id + 1;
      if (!this.outbound.has(id) && !this.waiters.has("suback:" + id) && !this.waiters.has("unsuback:" + id)) return id;
    }
  }

  /** SUBSCRIBE; resolves with the SUBACK return codes. */
  subscribe(entries, timeoutMs = 5000) {
    const id = this.allocId();
    return withTimeout(
      new Promise((resolve) => {
        this.waiters.set("suback:" + id, resolve);
        this.write(pk.subscribe(id, entries));
      }),
      timeoutMs,
      `${this.clientId}: no SUBACK`,
    );
  }

  /**
   * Publishes; the promise resolves when the flow is complete (QoS 0: once written). A flow
   * outlives the connection: it is resent on reconnect.
   */
  publish(topic, payload, qos, retain = false) {
    this.stats.sent++;
    if (qos === 0) {
      return new Promise((resolve) => {
        if (!this.socket || this.socket.destroyed) return resolve(false);
        this.socket.write(pk.publish({ topic, payload, qos: 0, retain }), () => resolve(true));
      });
    }
    const id = this.allocId();
    const packet = pk.publish({ topic, payload, qos, retain, id });
    return new Promise((resolve) => {
      this.outbound.set(id, { packet, qos, stage: "publish", resolve: () => resolve(true) });
      if (this.connected) this.write(packet);
    });
  }

  startPing() {
    this.stopPing();
    if (this.keepalive > 0) {
      this.pingTimer = setInterval(() => this.write(pk.pingreq()), (this.keepalive * 1000) / 2);
      this.pingTimer.unref();
    }
  }

  stopPing() {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  /** Abrupt network failure: no DISCONNECT (the broker keeps a CleanSession 0 session). */
  kill() {
    this.stats.kills++;
    this.closing = true;
    this.connected = false;
    this.stopPing();
    if (this.socket) this.socket.destroy();
  }

  /** Clean DISCONNECT and close. */
  async end() {
    this.closing = true;
    this.stopPing();
    if (this.socket && !this.socket.destroyed) {
      const s = this.socket;
      await new Promise((resolve) => {
        s.end(pk.disconnect(), resolve);
        setTimeout(resolve, 1000).unref();
      });
      s.destroy();
    }
    this.connected = false;
  }
}

function markDup(packet) {
  const b = Buffer.from(packet);
  b[0] |= 0x08; // MQTT-3.3.1-1: DUP on a resent PUBLISH
  return b;
}

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise.finally(() => clearTimeout(t)),
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
    }),
  ]);
}
