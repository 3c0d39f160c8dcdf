import { Bytes, Writer, bytesLength, writerByte, writerBytes, writerString } from "../bytes/bytes";

/**
 * The field encodings both MQTT versions share (§1.5 of each standard), written into the
 * caller's Writer: the 3.1.1 encoders (encode.ts) and the 5.0 ones (encode5.ts) each keep their
 * own writer and use these, so each encoding exists once.
 */

/** A Variable Byte Integer in its shortest form (MQTT-1.5.5-1, SRV-ENC-5). */
export function fieldVariable(w: Writer, n: number): void {
  let rest = n;
  do {
    let digit = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) digit += 128;
    writerByte(w, digit);
  } while (rest > 0);
}

/** A Two Byte Integer, most significant byte first. */
export function fieldU16(w: Writer, n: number): void {
  writerByte(w, Math.floor(n / 256) % 256);
  writerByte(w, n % 256);
}

/** A UTF-8 string whose encoded length the caller knows: length, then the bytes. */
export function fieldString(w: Writer, s: string, byteLength: number): void {
  fieldU16(w, byteLength);
  writerString(w, s);
}

/** Binary data: length, then the bytes. */
export function fieldBinary(w: Writer, b: Bytes): void {
  const n = bytesLength(b);
  fieldU16(w, n);
  writerBytes(w, b, 0, n);
}
