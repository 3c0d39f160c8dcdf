import { Bytes, byteAt } from "../bytes/bytes";
import { Status } from "./status";

/**
 * Checks that bytes [start, end) are well-formed UTF-8 (RFC 3629) without U+0000
 * (MQTT-1.5.3-1, MQTT-1.5.3-2): no over-long forms, no surrogates, nothing above U+10FFFF,
 * no truncated sequences. U+FEFF is kept as an ordinary character (MQTT-1.5.3-3).
 */
export function validateUtf8(b: Bytes, start: number, stop: number): Status {
  let i = start;
  while (i < stop) {
    const c = byteAt(b, i);
    if (c < 0x80) {
      if (c === 0) return Status.NULL_CHARACTER;
      i++;
      continue;
    }
    let need = 0;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0; // over-long
      if (c === 0xed) hi = 0x9f; // surrogates U+D800..U+DFFF
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90; // over-long
      if (c === 0xf4) hi = 0x8f; // above U+10FFFF
    } else {
      return Status.BAD_UTF8; // 0x80..0xC1 and 0xF5..0xFF never start a sequence
    }
    if (i + need >= stop) return Status.BAD_UTF8; // truncated sequence
    const second = byteAt(b, i + 1);
    if (second < lo || second > hi) return Status.BAD_UTF8;
    for (let k = 2; k <= need; k++) {
      const cont = byteAt(b, i + k);
      if (cont < 0x80 || cont > 0xbf) return Status.BAD_UTF8;
    }
    i += need + 1;
  }
  return Status.OK;
}
