import { PacketType, ReasonCode } from "../../codec/constants";
import { encodeAck } from "../../codec/encode";
import { Packet } from "../../codec/packet";
import { logf } from "../../log/log";
import { Msg } from "../../log/messages";
import { LogLevel } from "../../platform";
import { FlowState, NO_MESSAGE, flightAcked, flightFind, flightReleased, flightRemove, inboundRelease } from "../../qos/flows";
import { pumpQueue, resendNext, sendBytes } from "../delivery";
import { storeFor } from "../persist";
import { isV5 } from "../message5";
import { encodeAckCode } from "../mqtt5";
import { replayPump } from "../replay";
import { Broker, Session } from "../state";

/**
 * The acknowledgements of QoS 1/2 flows (§4.3): PUBACK, PUBREC and PUBCOMP for messages the
 * broker sent (on the QoS engine of src/qos/flows.ts), PUBREL for messages it received.
 */

function sessionOf(b: Broker, conn: number): Session {
  return b.sessions[b.conns[conn].session];
}

/**
 * Ends the flight at index: deleted from the store, then a flight waiting to be sent again
 * takes its place in the window (resendNext), then the queue moves up, then a replay.
 */
function endFlight(b: Broker, s: Session, index: number): void {
  const st = storeFor(b, s);
  if (st !== undefined) st.messageDelete(s.clientId, s.flights[index].seq);
  // One of those waiting (acknowledged from the previous connection) took no room in the window.
  // Only a session that outlived its connection has any (connect.ts).
  const waiting = MIDGE_FEATURES.mqtt5 && MIDGE_FEATURES.persistentSessions && index >= s.flightCount - s.resendLeft;
  flightRemove(s, index);
  b.changes++;
  if (MIDGE_FEATURES.mqtt5 && MIDGE_FEATURES.persistentSessions) {
    if (waiting) s.resendLeft--;
    else resendNext(b, s);
  }
  pumpQueue(b, s);
  // Then a retained replay waiting for the window (replay.ts): the queue goes first.
  if (MIDGE_FEATURES.retained && b.rpCount > 0) replayPump(b, b.conns[s.conn].session);
}

/** An acknowledgement for a packet id no flow of this session waits for: ignored (SRV-ENC-13). */
function unknownId(b: Broker, s: Session, type: number, id: number): void {
  logf(b.log, LogLevel.DEBUG, Msg.UNKNOWN_ACK, s.clientId, type, id);
}

/** PUBACK (qos 1) or PUBCOMP (qos 2) ends a flow. */
function ackEnds(b: Broker, conn: number, id: number, qos: number, type: number): void {
  const s = sessionOf(b, conn);
  const i = flightAcked(s, id, qos);
  if (i < 0) return unknownId(b, s, type, id);
  endFlight(b, s, i);
}

/** PUBACK ends a QoS 1 flow (SRV-PUB-8). */
export function handlePuback(b: Broker, conn: number, p: Packet): void {
  ackEnds(b, conn, p.packetId, 1, PacketType.PUBACK);
}

/** PUBREC moves a QoS 2 flow to the PUBREL stage (MQTT-4.3.3-1, SRV-PUB-9). */
export function handlePubrec(b: Broker, conn: number, p: Packet): void {
  const s = sessionOf(b, conn);
  const id = p.packetId;
  if (MIDGE_FEATURES.mqtt5 && p.reasonCode >= 0x80 && isV5(b.conns[conn])) {
    // A 5.0 client's PUBREC of 0x80 or more ends the exchange: no PUBREL (§4.3.3).
    const at = flightFind(s, id);
    if (at < 0 || s.flights[at].qos !== 2 || s.flights[at].state !== FlowState.AWAIT_ACK) return unknownId(b, s, PacketType.PUBREC, id);
    endFlight(b, s, at);
    return;
  }
  const i = flightReleased(s, id);
  if (i < 0) return unknownId(b, s, PacketType.PUBREC, id);
  const f = s.flights[i];
  b.changes++;
  const st = storeFor(b, s);
  if (st !== undefined) st.messageReleased(s.clientId, f.seq);
  f.message = NO_MESSAGE; // only the packet id is needed from now on
  sendBytes(b, conn, encodeAck(PacketType.PUBREL, id));
}

/** PUBCOMP ends a QoS 2 flow (SRV-PUB-11). */
export function handlePubcomp(b: Broker, conn: number, p: Packet): void {
  ackEnds(b, conn, p.packetId, 2, PacketType.PUBCOMP);
}

/** PUBREL ends an inbound QoS 2 flow; PUBCOMP is sent even for unknown ids (SRV-PUB-10). */
export function handlePubrel(b: Broker, conn: number, p: Packet): void {
  const s = sessionOf(b, conn);
  const id = p.packetId;
  const known = inboundRelease(s, id);
  if (known) {
    b.changes++;
    const st = storeFor(b, s);
    if (st !== undefined) st.inboundDelete(s.clientId, id);
  }
  // 5.0 says when the id was not known: 0x92 Packet Identifier not found (§3.7.2.1).
  sendBytes(b, conn, MIDGE_FEATURES.mqtt5 && !known ? encodeAckCode(b, conn, PacketType.PUBCOMP, id, ReasonCode.PACKET_IDENTIFIER_NOT_FOUND) : encodeAck(PacketType.PUBCOMP, id));
}
