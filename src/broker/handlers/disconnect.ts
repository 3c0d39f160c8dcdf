import { render } from "../../log/log";
import { Msg } from "../../log/messages";
import { closeConnection } from "../lifecycle";
import { Broker } from "../state";

/** DISCONNECT: the will is discarded (MQTT-3.14.4-3) and the connection closed. */
export function handleDisconnect(b: Broker, conn: number): void {
  b.conns[conn].hasWill = false; // MQTT-3.14.4-3
  closeConnection(b, conn, render(Msg.REASON_DISCONNECT), false);
}
