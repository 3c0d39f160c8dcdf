// Types for mqtt.mjs (the load generator's own codec), for the TypeScript smoke test.
export declare const CONNECT: number;
export declare const CONNACK: number;
export declare const PUBLISH: number;
export declare const PUBACK: number;
export declare const PUBREC: number;
export declare const PUBREL: number;
export declare const PUBCOMP: number;
export declare const SUBSCRIBE: number;
export declare const SUBACK: number;
export declare function lengthSize(n: number): number;
export declare function writeLength(buf: Buffer, at: number, n: number): number;
export type Property = [number, string | number | [string, string]];
export declare const V5_PUBLISH_PROPERTIES: Property[];
export declare function varIntSize(n: number): number;
export declare function encodeProperties(list?: Property[]): Buffer;
export declare function skipProperties(buf: Buffer, at: number, end: number): number;
export declare function encodeConnect(clientId: string, opts?: { clean?: boolean; keepAlive?: number; version?: number; properties?: Property[] }): Buffer;
export declare function encodeSubscribe(packetId: number, filters: string[], qos: number, opts?: { version?: number; options?: number }): Buffer;
export declare function encodeAck(type: number, packetId: number): Buffer;
export declare function writeAck(buf: Buffer, at: number, type: number, packetId: number): number;
export declare function publishTemplate(
  topic: string,
  payloadSize: number,
  qos: number,
  retain?: boolean,
  opts?: { version?: number; properties?: Property[] },
): { bytes: Buffer; idAt: number; payloadAt: number; payloadSize: number };
export declare class PacketReader {
  constructor(onPacket: (type: number, flags: number, buf: Buffer, start: number, end: number) => void);
  push(chunk: Buffer): void;
}
