import { Bytes, EMPTY_BYTES, bytesLength } from "../bytes/bytes";
import { PacketType } from "../codec/constants";
import { encodeConnectV5, encodePublishMessageV5, encodeReasonV5, encodeSubscribeV5 } from "../codec/encode5";
import { Packet, newPacket } from "../codec/packet";
import { propertiesReset } from "../codec/properties";
import { SESSION_NEVER_EXPIRES } from "../broker/state";
import { Bridge, Bridges, baseWindow } from "./state";

/**
 * MQTT 5.0 on a bridge's upstream connection (bridge_protocol_version mqttv50): the CONNECT
 * properties, what the upstream's CONNACK allows, SUBSCRIBE with No Local and Retain As
 * Published (how a 5.0 bridge avoids loops, instead of 3.1.1's protocol level 0x84), PUBLISH
 * with the message's properties, DISCONNECT with a reason code. The 3.1.1 forms of PUBACK,
 * PUBREC, PUBREL, PUBCOMP (Success, Remaining Length 2, MQTT-3.4.2-1), PINGREQ and DISCONNECT
 * (Normal disconnection, Remaining Length 0, §3.14.2.1) are also 5.0's, so link.ts and
 * flows.ts send those unchanged. Reached only where isV5Bridge (state.ts) is true, so a build
 * without MIDGE_FEATURES.mqtt5 drops this file.
 */

/** Packet record for encoding SUBSCRIBE, UNSUBSCRIBE and DISCONNECT; made on first use. */
let scratch: Packet | undefined = undefined;
/** See publishDropReason. */
let why = "";

function scratchPacket(): Packet {
  if (scratch === undefined) scratch = newPacket();
  return scratch;
}

/**
 * CONNECT (§3.1) from p's CONNECT fields, which link.ts filled in, with the bridge's
 * properties: Session Expiry Interval (bridge_session_expiry_interval; by default none with
 * cleansession true, and with cleansession false 0xFFFFFFFF, so the upstream keeps the session
 * as a 3.1.1 CleanSession 0 one, §3.1.2.11.2), Receive Maximum (what this broker takes of QoS 2
 * messages awaiting PUBREL, §3.1.2.11.3) and Maximum Packet Size (the frame reader's limit,
 * §3.1.2.11.4). Clean Start is p.cleanSession.
 */
export function encodeBridgeConnectV5(set: Bridges, br: Bridge, p: Packet): Bytes {
  const c = br.config;
  const limits = set.broker.limits;
  propertiesReset(p.props);
  propertiesReset(p.willProps);
  const expiry = c.sessionExpiry >= 0 ? c.sessionExpiry : c.cleanSession ? 0 : SESSION_NEVER_EXPIRES;
  if (expiry > 0) p.props.sessionExpiryInterval = expiry; // absent = 0 (§3.1.2.11.2)
  let receive = limits.maxInboundQos2;
  if (c.receiveMaximum > 0 && c.receiveMaximum < receive) receive = c.receiveMaximum;
  if (receive < 1) receive = 1;
  if (receive < 65535) p.props.receiveMaximum = receive; // absent = 65,535
  p.props.maximumPacketSize = limits.maxPacketSize;
  return encodeConnectV5(p);
}

/**
 * Takes what the upstream's CONNACK (§3.2.2.3) allows: its Receive Maximum bounds the in-flight
 * window (MQTT-3.3.4-9), Maximum QoS, Retain Available and Maximum Packet Size bound what is
 * published upstream (MQTT-3.2.2-11, MQTT-3.2.2-14, MQTT-3.2.2-15), Server Keep Alive replaces
 * the keep alive (MQTT-3.2.2-21).
 */
export function connackV5(br: Bridge, p: Packet): void {
  const pr = p.props;
  const window = baseWindow(br.config);
  br.window = pr.receiveMaximum > 0 && pr.receiveMaximum < window ? pr.receiveMaximum : window;
  br.maxQos = pr.maximumQos >= 0 ? pr.maximumQos : 2;
  br.retainAvailable = pr.retainAvailable !== 0;
  br.maxPacketOut = pr.maximumPacketSize > 0 ? pr.maximumPacketSize : 0;
  br.keepAlive = pr.serverKeepAlive >= 0 ? pr.serverKeepAlive : br.config.keepAlive;
}

/**
 * PUBLISH (§3.3) of a message to a 5.0 upstream with its properties (props: encoded by
 * encodeMessageProperties, undefined = none) and what is left of its Message Expiry Interval
 * (expiresAt: clock ms, -1 or undefined = none; MQTT-3.3.2-6). Undefined when it must not go:
 * expired before its first send (`started` false; MQTT-3.3.2-5) or larger than the upstream's
 * Maximum Packet Size (MQTT-3.2.2-15); `why` then says which.
 */
export function encodePublishUpV5(set: Bridges, br: Bridge, topicBytes: Bytes, payload: Bytes, props: Bytes | undefined, expiresAt: number | undefined, qos: number, dup: boolean, retain: boolean, packetId: number, started: boolean): Bytes | undefined {
  let expiry = -1;
  if (expiresAt !== undefined && expiresAt >= 0) {
    const left = expiresAt - set.broker.clock.now();
    if (left <= 0 && !started) {
      why = "its Message Expiry Interval has passed";
      return undefined;
    }
    if (left > 0) expiry = Math.ceil(left / 1000);
  }
  const data = encodePublishMessageV5(topicBytes, payload, qos, dup, retain, packetId, expiry, undefined, 0, props === undefined ? EMPTY_BYTES : props);
  if (br.maxPacketOut > 0 && bytesLength(data) > br.maxPacketOut) {
    why = "it is larger than the upstream's Maximum Packet Size (" + br.maxPacketOut + " bytes)";
    return undefined;
  }
  return data;
}

/** Why encodePublishUpV5 last returned undefined, for the log line. */
export function publishDropReason(): string {
  return why;
}

/**
 * SUBSCRIBE (§3.8) to the first n filters at their QoS, with No Local (MQTT-3.8.3-3: the
 * upstream does not send our own messages back) and Retain As Published (MQTT-3.3.1-13: RETAIN
 * comes down as it was published), as mosquitto's 5.0 bridges subscribe. A shared subscription
 * gets no No Local (MQTT-3.8.3-4).
 */
export function encodeSubscribeUpV5(packetId: number, filters: string[], qosList: number[], n: number): Bytes {
  const p = scratchPacket();
  p.type = PacketType.SUBSCRIBE;
  p.packetId = packetId;
  p.count = n;
  propertiesReset(p.props);
  for (let i = 0; i < n; i++) {
    p.filters[i] = filters[i];
    p.qosList[i] = qosList[i];
    p.noLocal[i] = filters[i].indexOf("$share/") !== 0;
    p.retainAsPublished[i] = true;
    p.retainHandling[i] = 0;
  }
  return encodeSubscribeV5(p);
}

/** UNSUBSCRIBE (§3.10) of the first n filters. */
export function encodeUnsubscribeUpV5(packetId: number, filters: string[], n: number): Bytes {
  const p = scratchPacket();
  p.type = PacketType.UNSUBSCRIBE;
  p.packetId = packetId;
  p.count = n;
  propertiesReset(p.props);
  for (let i = 0; i < n; i++) p.filters[i] = filters[i];
  return encodeSubscribeV5(p);
}

/** DISCONNECT (§3.14) with reason code `code`, before the bridge closes a 5.0 link on an error (§4.13.2). */
export function encodeDisconnectUpV5(br: Bridge, code: number): Bytes {
  const p = scratchPacket();
  propertiesReset(p.props);
  return encodeReasonV5(PacketType.DISCONNECT, code, p.props, br.maxPacketOut);
}

const HEX = "0123456789abcdef";

/** "0x87 not authorised": a 5.0 reason code (§2.4) with its name, for log lines. */
export function reasonText(code: number): string {
  return "0x" + HEX.charAt(Math.floor(code / 16)) + HEX.charAt(code % 16) + reasonName(code);
}

function reasonName(code: number): string {
  switch (code) {
    case 0x00:
      return " normal disconnection";
    case 0x04:
      return " disconnect with will message";
    case 0x80:
      return " unspecified error";
    case 0x81:
      return " malformed packet";
    case 0x82:
      return " protocol error";
    case 0x83:
      return " implementation specific error";
    case 0x84:
      return " unsupported protocol version";
    case 0x85:
      return " client identifier not valid";
    case 0x86:
      return " bad user name or password";
    case 0x87:
      return " not authorised";
    case 0x88:
      return " server unavailable";
    case 0x89:
      return " server busy";
    case 0x8a:
      return " banned";
    case 0x8b:
      return " server shutting down";
    case 0x8c:
      return " bad authentication method";
    case 0x8d:
      return " keep alive timeout";
    case 0x8e:
      return " session taken over";
    case 0x90:
      return " topic name invalid";
    case 0x93:
      return " receive maximum exceeded";
    case 0x94:
      return " topic alias invalid";
    case 0x95:
      return " packet too large";
    case 0x97:
      return " quota exceeded";
    case 0x98:
      return " administrative action";
    case 0x99:
      return " payload format invalid";
    case 0x9a:
      return " retain not supported";
    case 0x9b:
      return " QoS not supported";
    case 0x9c:
      return " use another server";
    case 0x9d:
      return " server moved";
    case 0x9f:
      return " connection rate exceeded";
    default:
      return "";
  }
}
