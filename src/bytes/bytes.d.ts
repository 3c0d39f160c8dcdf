/** @noSelfInFile */
/**
 * The opaque byte-string type of the portable core. Each target implements it in a sibling
 * file: bytes.js (Uint8Array, for Node and Espruino) and bytes.lua (Lua strings).
 * Contract: a Bytes value is never mutated once created, so views may be shared freely.
 */
export interface Bytes {
  readonly __midgeBytes: never;
}

export declare const EMPTY_BYTES: Bytes;

export declare function bytesLength(b: Bytes): number;
/** Byte at index i (0-based, 0 <= i < length). */
export declare function byteAt(b: Bytes, i: number): number;
/** Bytes [start, end) as a view where the target allows (no copy in JS). */
export declare function bytesView(b: Bytes, start: number, end: number): Bytes;
/** Bytes [start, end) as an independent copy, for values kept long (retained, queued). */
export declare function bytesCopy(b: Bytes, start: number, end: number): Bytes;
/** The first n numbers of a (each 0..255) as Bytes. */
export declare function bytesFromArray(a: number[], n: number): Bytes;
/** The first count parts joined; total is their summed length. */
export declare function bytesJoin(parts: Bytes[], count: number, total: number): Bytes;
export declare function bytesEqual(a: Bytes, b: Bytes): boolean;
/** UTF-8 encoding of a string (in Lua strings already are bytes: identity). */
export declare function utf8Encode(s: string): Bytes;
/** Decoding of a range already validated as UTF-8. */
export declare function utf8Decode(b: Bytes, start: number, end: number): string;
/** Number of bytes s takes as UTF-8. */
export declare function utf8Length(s: string): number;

/**
 * A reusable output buffer. Encoders reset it, append bytes, and take the result with
 * writerTake, which returns a fresh Bytes the caller may keep (the writer is reused).
 */
export interface Writer {
  readonly __midgeWriter: never;
}
export declare function newWriter(capacity: number): Writer;
export declare function writerReset(w: Writer): void;
export declare function writerByte(w: Writer, b: number): void;
export declare function writerBytes(w: Writer, b: Bytes, start: number, end: number): void;
export declare function writerString(w: Writer, s: string): void;
export declare function writerTake(w: Writer): Bytes;
