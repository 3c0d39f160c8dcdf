// A raw MQTT 3.1.1 client for measurements and load tests: packets typed from the spec
// (independent of src/codec), a socket, and counters of what came back. Every wait is bounded.
import net from "node:net";

// Packets, typed from the spec (independent of src/codec) ---------------------------------------
export function vbi(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b += 128;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}
export const u16 = (n) => Buffer.from([Math.floor(n / 256), n % 256]);
export const str16 = (s) => {
  const b = Buffer.from(s, "latin1");
  return Buffer.concat([u16(b.length), b]);
};
export const frame = (first, ...parts) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([first]), vbi(body.length), body]);
};
export const pk = {
  /** will: { topic, payload, qos } or undefined. Keep alive 0 (no deadline). */
  connect: (id, clean, will) =>
    will
      ? frame(0x10, str16("MQTT"), Buffer.from([4, (clean ? 2 : 0) + 4 + will.qos * 8]), u16(0), str16(id), str16(will.topic), str16(will.payload))
      : frame(0x10, str16("MQTT"), Buffer.from([4, clean ? 2 : 0]), u16(0), str16(id)),
  subscribe: (pid, filter, qos) => frame(0x82, u16(pid), str16(filter), Buffer.from([qos])),
  publish: (topic, payload, qos, retain, pid) =>
    frame(0x30 + qos * 2 + (retain ? 1 : 0), str16(topic), qos > 0 ? u16(pid) : Buffer.alloc(0), Buffer.from(payload, "latin1")),
  pingreq: () => Buffer.from([0xc0, 0]),
  disconnect: () => Buffer.from([0xe0, 0]),
};

/** A raw client that collects packet types as they arrive. */
export function client(port) {
  const sock = net.connect(port, "127.0.0.1");
  let buf = Buffer.alloc(0);
  const seen = [];
  const waiters = [];
  sock.on("data", (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) break;
      let len = 0, mult = 1, i = 1;
      for (;;) {
        if (i >= buf.length) return;
        len += (buf[i] % 128) * mult;
        mult *= 128;
        if (buf[i++] < 128) break;
      }
      if (buf.length < i + len) break;
      seen.push(buf[0] >> 4);
      if (buf[0] >> 4 === 2) c.codes.push(buf[i + 1]);
      if (buf[0] >> 4 === 9) for (let k = i + 2; k < i + len; k++) c.codes.push(buf[k]);
      buf = buf.subarray(i + len);
    }
    for (const w of waiters.slice()) w();
  });
  sock.on("error", () => {});
  sock.on("close", () => {
    c.closed = true;
    for (const w of waiters.slice()) w();
  });
  const c = {
    sock,
    ready: new Promise((r) => sock.once("connect", r)),
    send: (b) => sock.write(b),
    count: (type) => seen.filter((t) => t === type).length,
    /** Return codes of the CONNACKs and SUBACKs received, in order. */
    codes: [],
    closed: false,
    /** Resolves once `n` packets of `type` have arrived in all. */
    waitCount(type, n, ms = 15000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (c.count(type) >= n) {
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(check), 1);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          reject(new Error(`timed out waiting for ${n} packets of type ${type} (have ${c.count(type)})`));
        }, ms);
        waiters.push(check);
        check();
      });
    },
    /** Resolves true once the broker has closed the connection, false after ms. */
    waitClosed(ms = 3000) {
      return new Promise((resolve) => {
        const check = () => {
          if (c.closed) {
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(check), 1);
            resolve(true);
          }
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          resolve(false);
        }, ms);
        waiters.push(check);
        check();
      });
    },
    close: () => sock.destroy(),
  };
  return c;
}

export async function connected(port, id, clean, will) {
  const c = client(port);
  await c.ready;
  c.send(pk.connect(id, clean, will));
  await c.waitCount(2, 1);
  return c;
}

/** A PINGREQ round trip: everything sent before it has been handled. */
export async function sync(c) {
  const n = c.count(13);
  c.send(pk.pingreq());
  await c.waitCount(13, n + 1);
}

