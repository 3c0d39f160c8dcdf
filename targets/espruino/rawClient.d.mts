export interface RawClient {
  sock: import("node:net").Socket;
  ready: Promise<void>;
  send(b: Buffer | Uint8Array): void;
  count(type: number): number;
  codes: number[];
  closed: boolean;
  waitCount(type: number, n: number, ms?: number): Promise<void>;
  waitClosed(ms?: number): Promise<boolean>;
  close(): void;
}
export const pk: {
  connect(id: string, clean: boolean, will?: { topic: string; payload: string; qos: number }): Buffer;
  subscribe(pid: number, filter: string, qos: number): Buffer;
  publish(topic: string, payload: string, qos: number, retain: boolean, pid: number): Buffer;
  pingreq(): Buffer;
  disconnect(): Buffer;
};
export function vbi(n: number): Buffer;
export function u16(n: number): Buffer;
export function str16(s: string): Buffer;
export function frame(first: number, ...parts: Buffer[]): Buffer;
export function client(port: number): RawClient;
export function connected(port: number, id: string, clean: boolean, will?: { topic: string; payload: string; qos: number }): Promise<RawClient>;
export function sync(c: RawClient): Promise<void>;
