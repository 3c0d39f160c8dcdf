import { ReasonCode } from "../../codec/constants";
import { Packet } from "../../codec/packet";
import { render } from "../../log/log";
import { Msg } from "../../log/messages";
import { closeConnection, closeForCode } from "../lifecycle";
import { isV5 } from "../message5";
import { storeFor } from "../persist";
import { Broker } from "../state";

/**
 * DISCONNECT: the will is discarded (MQTT-3.14.4-3) and the connection closed. From an MQTT 5.0
 * client, a reason code other than 0x00 (0x04: Disconnect with Will Message) keeps the will
 * (§3.14.4), and a Session Expiry Interval replaces the CONNECT's, unless that was 0
 * (MQTT-3.14.2-2: a Protocol Error).
 */
export function handleDisconnect(b: Broker, conn: number, p: Packet): void {
  const c = b.conns[conn];
  if (MIDGE_FEATURES.mqtt5 && isV5(c)) {
    const s = b.sessions[c.session];
    const expiry = p.props.sessionExpiryInterval;
    if (expiry > 0 && s.expiry === 0) {
      closeForCode(b, conn, ReasonCode.PROTOCOL_ERROR, render(Msg.REASON_EXPIRY_AFTER_ZERO));
      return;
    }
    if (expiry >= 0 && MIDGE_FEATURES.persistentSessions) {
      if (expiry === 0 && !s.cleanSession) {
        const st = storeFor(b, s);
        if (st !== undefined) st.sessionDelete(s.clientId);
      }
      s.expiry = expiry;
      s.cleanSession = expiry === 0;
    }
    if (p.reasonCode !== ReasonCode.SUCCESS) {
      closeConnection(b, conn, render(Msg.REASON_DISCONNECT_CODE, p.reasonCode), true);
      return;
    }
  }
  c.hasWill = false; // MQTT-3.14.4-3
  closeConnection(b, conn, render(Msg.REASON_DISCONNECT), false);
}
