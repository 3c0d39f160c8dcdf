import { Bytes, EMPTY_BYTES } from "../bytes/bytes";
import { Properties, newProperties } from "./properties";

/**
 * One decoded control packet. Decoders fill a caller-owned record in place, so a broker
 * decodes every packet into the same object (no allocation per packet for the record).
 * Fields that a packet type does not use keep whatever value they had.
 */
export interface Packet {
  type: number;
  /** Low nibble of the fixed header. */
  flags: number;

  // PUBLISH (and CONNECT's will, see below)
  dup: boolean;
  qos: number;
  retain: boolean;
  /** PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK. */
  packetId: number;
  topic: string;
  /** The topic's UTF-8 bytes as received (a view), so relaying never re-encodes it. */
  topicBytes: Bytes;
  payload: Bytes;

  // CONNECT
  protocolName: string;
  protocolLevel: number;
  cleanSession: boolean;
  keepAlive: number;
  clientId: string;
  willFlag: boolean;
  willTopic: string;
  willPayload: Bytes;
  willQos: number;
  willRetain: boolean;
  hasUsername: boolean;
  username: string;
  hasPassword: boolean;
  password: Bytes;

  // CONNACK
  sessionPresent: boolean;
  returnCode: number;

  // SUBSCRIBE / UNSUBSCRIBE / SUBACK: the first `count` entries are valid.
  count: number;
  filters: string[];
  /** Requested QoS (SUBSCRIBE) or return codes (SUBACK). */
  qosList: number[];

  // MQTT 5.0 only (src/codec/decode5.ts): untouched by the 3.1.1 decoder.
  /** PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT, AUTH (CONNACK's is returnCode). */
  reasonCode: number;
  /** SUBSCRIBE subscription options, parallel to filters / qosList (§3.8.3.1). */
  noLocal: boolean[];
  retainAsPublished: boolean[];
  retainHandling: number[];
  /** The packet's properties (for CONNECT: the CONNECT properties). */
  props: Properties;
  /** CONNECT's Will Properties. */
  willProps: Properties;
  /** PUBLISH: the property block as received, without its Property Length (a view of the body). */
  propsRaw: Bytes;
}

export function newPacket(): Packet {
  const p = {
    type: 0,
    flags: 0,
    dup: false,
    qos: 0,
    retain: false,
    packetId: 0,
    topic: "",
    topicBytes: EMPTY_BYTES,
    payload: EMPTY_BYTES,
    protocolName: "",
    protocolLevel: 0,
    cleanSession: false,
    keepAlive: 0,
    clientId: "",
    willFlag: false,
    willTopic: "",
    willPayload: EMPTY_BYTES,
    willQos: 0,
    willRetain: false,
    hasUsername: false,
    username: "",
    hasPassword: false,
    password: EMPTY_BYTES,
    sessionPresent: false,
    returnCode: 0,
    count: 0,
    filters: [],
    qosList: [],
  } as unknown as Packet;
  // The MQTT 5.0 fields only where MQTT 5 is built in: only its decoders, encoders and the code
  // behind MIDGE_FEATURES.mqtt5 read them (about a dozen Espruino variables otherwise).
  if (MIDGE_FEATURES.mqtt5) {
    p.reasonCode = 0;
    p.noLocal = [];
    p.retainAsPublished = [];
    p.retainHandling = [];
    p.props = newProperties();
    p.willProps = newProperties();
    p.propsRaw = EMPTY_BYTES;
  }
  return p;
}
