// Declarations for what TypeScript callers (test/e2e/helpers.ts) take from wire.mjs.
/** Remaining Length as a variable byte integer (SRV-ENC-1), shortest form. */
export function vbi(n: number): Buffer;
/** Two bytes, most significant first. */
export function u16(n: number): Buffer;
/** A length-prefixed UTF-8 string or binary field; a Buffer is taken as raw bytes. */
export function str(s: string | Buffer): Buffer;
/** Fixed header byte + Remaining Length + body. */
export function frame(first: number, ...parts: Buffer[]): Buffer;
