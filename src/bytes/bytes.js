// Bytes for JavaScript targets (Node and Espruino): a Uint8Array that is never mutated
// after creation. See bytes.d.ts for the contract.

export const EMPTY_BYTES = new Uint8Array(0);

export function bytesLength(b) {
  return b.length;
}

export function byteAt(b, i) {
  return b[i];
}

export function bytesView(b, start, end) {
  return b.subarray(start, end);
}

// Copies go through the Uint8Array constructor: on Espruino, Uint8Array.prototype.slice
// returns a plain Array (one variable per byte: 201 variables for 200 bytes, measured).
export function bytesCopy(b, start, end) {
  return new Uint8Array(b.subarray(start, end));
}

export function bytesFromArray(a, n) {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = a[i];
  return out;
}

export function bytesJoin(parts, count, total) {
  if (count === 1) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < count; i++) {
    out.set(parts[i], at);
    at += parts[i].length;
  }
  return out;
}

export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) {
      n += 4;
      i++;
    } else n += 3; // BMP character, or a lone surrogate written as U+FFFD
  }
  return n;
}

// Writes the UTF-8 of s into out at `at`; returns the new position. Written by hand because
// Espruino has no TextEncoder.
function utf8Write(s, out, at) {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[at++] = c;
    } else if (c < 0x800) {
      out[at++] = 0xc0 + Math.floor(c / 64);
      out[at++] = 0x80 + (c % 64);
    } else {
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const lo = s.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          i++;
          c = 0x10000 + (c - 0xd800) * 1024 + (lo - 0xdc00);
          out[at++] = 0xf0 + Math.floor(c / 262144);
          out[at++] = 0x80 + (Math.floor(c / 4096) % 64);
          out[at++] = 0x80 + (Math.floor(c / 64) % 64);
          out[at++] = 0x80 + (c % 64);
          continue;
        }
      }
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // lone surrogate: not encodable in UTF-8
      out[at++] = 0xe0 + Math.floor(c / 4096);
      out[at++] = 0x80 + (Math.floor(c / 64) % 64);
      out[at++] = 0x80 + (c % 64);
    }
  }
  return at;
}

export function utf8Encode(s) {
  const out = new Uint8Array(utf8Length(s));
  utf8Write(s, out, 0);
  return out;
}

export function utf8Decode(b, start, end) {
  let s = "";
  let i = start;
  while (i < end) {
    const c = b[i];
    if (c < 0x80) {
      // Runs of ASCII are the common case for topics: take them in one step.
      let j = i + 1;
      while (j < end && j - i < 256 && b[j] < 0x80) j++; // Espruino: apply takes <= 256 args
      s += String.fromCharCode.apply(null, b.subarray(i, j));
      i = j;
    } else if (c < 0xe0) {
      s += String.fromCharCode((c - 0xc0) * 64 + (b[i + 1] - 0x80));
      i += 2;
    } else if (c < 0xf0) {
      s += String.fromCharCode((c - 0xe0) * 4096 + (b[i + 1] - 0x80) * 64 + (b[i + 2] - 0x80));
      i += 3;
    } else {
      const cp = (c - 0xf0) * 262144 + (b[i + 1] - 0x80) * 4096 + (b[i + 2] - 0x80) * 64 + (b[i + 3] - 0x80) - 0x10000;
      s += String.fromCharCode(0xd800 + Math.floor(cp / 1024), 0xdc00 + (cp % 1024));
      i += 4;
    }
  }
  return s;
}

export function newWriter(capacity) {
  return { buf: new Uint8Array(capacity > 16 ? capacity : 16), pos: 0 };
}

export function writerReset(w) {
  w.pos = 0;
}

function ensure(w, n) {
  if (w.pos + n <= w.buf.length) return;
  let size = w.buf.length * 2;
  while (size < w.pos + n) size *= 2;
  const next = new Uint8Array(size);
  next.set(w.buf.subarray(0, w.pos));
  w.buf = next;
}

export function writerByte(w, b) {
  if (w.pos >= w.buf.length) ensure(w, 1);
  w.buf[w.pos++] = b;
}

export function writerBytes(w, b, start, end) {
  const n = end - start;
  ensure(w, n);
  if (n < 16) {
    for (let i = start; i < end; i++) w.buf[w.pos++] = b[i];
  } else {
    w.buf.set(start === 0 && end === b.length ? b : b.subarray(start, end), w.pos);
    w.pos += n;
  }
}

export function writerString(w, s) {
  ensure(w, s.length * 3);
  w.pos = utf8Write(s, w.buf, w.pos);
}

export function writerTake(w) {
  return new Uint8Array(w.buf.subarray(0, w.pos));
}
