import { PacketType } from "../../codec/constants";
import { encodeEmpty } from "../../codec/encode";
import { sendBytes } from "../delivery";
import { Broker } from "../state";

/** PINGREQ is answered with PINGRESP (MQTT-3.12.4-1); keep alive was renewed by the packet itself. */
export function handlePingreq(b: Broker, conn: number): void {
  sendBytes(b, conn, encodeEmpty(PacketType.PINGRESP)); // MQTT-3.12.4-1
}
