import { PacketType, SUBACK_FAILURE } from "../../codec/constants";
import { encodeAck, encodeSuback } from "../../codec/encode";
import { Packet } from "../../codec/packet";
import { logf } from "../../log/log";
import { Msg } from "../../log/messages";
import { Access, LogLevel } from "../../platform";
import { isValidFilter } from "../../topics/topic";
import { utf8Length } from "../../bytes/bytes";
import { sendBytes } from "../delivery";
import { replayPump } from "../replay";
import { Broker } from "../state";
import { SubResult, findSubscription, subscriptionAdd, subscriptionRemove } from "../subscriptions";

/** Highest QoS the broker grants (SRV-IMPL-17). */
const MAX_GRANTED_QOS = 2;

/**
 * SUBSCRIBE (§3.8): each filter in order as if alone (MQTT-3.8.4-4), one SUBACK with a code
 * per filter (MQTT-3.8.4-5), then the retained messages of each new or replaced
 * subscription with RETAIN = 1 (MQTT-3.3.1-6, MQTT-3.3.1-8, MQTT-3.8.4-3).
 */
export function handleSubscribe(b: Broker, conn: number, p: Packet): void {
  const c = b.conns[conn];
  const s = b.sessions[c.session];
  const codes = b.codes;
  for (let i = 0; i < p.count; i++) {
    const filter = p.filters[i];
    let requested = p.qosList[i];
    if (requested > MAX_GRANTED_QOS) requested = MAX_GRANTED_QOS;
    // Without QoS 2 the broker grants at most QoS 1 (MQTT-3.8.4-6: a lower QoS may be granted).
    if (!MIDGE_FEATURES.qos2 && requested > 1) requested = 1;
    if (!isValidFilter(filter) || utf8Length(filter) > b.limits.maxTopicLength) {
      logf(b.log, LogLevel.NOTICE, Msg.SUBSCRIBE_INVALID_FILTER, s.clientId, filter);
      codes[i] = SUBACK_FAILURE; // SRV-SUB-1
      continue;
    }
    if (b.policy !== undefined && !b.policy.allow(s.clientId, s.hasUsername, s.username, filter, Access.SUBSCRIBE)) {
      logf(b.log, LogLevel.NOTICE, Msg.SUBSCRIBE_DENIED, s.clientId, filter);
      codes[i] = SUBACK_FAILURE; // SRV-SUB-2
      continue;
    }
    const result = subscriptionAdd(b, c.session, filter, requested);
    if (result === SubResult.CLIENT_LIMIT || result === SubResult.TABLE_FULL) {
      if (result === SubResult.CLIENT_LIMIT) logf(b.log, LogLevel.WARNING, Msg.SUBSCRIBE_CLIENT_LIMIT, s.clientId, filter, b.limits.maxSubscriptionsPerClient);
      else logf(b.log, LogLevel.WARNING, Msg.SUBSCRIBE_TABLE_FULL, s.clientId, filter, b.limits.maxSubscriptions);
      codes[i] = SUBACK_FAILURE; // SRV-SUB-2
      continue;
    }
    codes[i] = requested;
  }
  sendBytes(b, conn, encodeSuback(p.packetId, codes, p.count));
  if (MIDGE_FEATURES.retained) {
    // The retained messages go out paced by the client (replay.ts): each granted subscription
    // gets its replay, or starts it again from the first slot, over the messages retained now.
    for (let i = 0; i < p.count; i++) {
      if (codes[i] === SUBACK_FAILURE) continue;
      const sub = findSubscription(b, c.session, p.filters[i]);
      let k = 0;
      while (k < b.rpCount && b.rpSub[k] !== sub) k++;
      if (k === b.rpCount) {
        b.rpSub[k] = sub;
        b.rpCount++;
      }
      b.rpAt[k] = 0;
      b.rpEnd[k] = b.retainedCount;
    }
    replayPump(b, c.session); // as many now as fit
  }
}

/** UNSUBSCRIBE (§3.10): exact filters removed, UNSUBACK always (MQTT-3.10.4-4, MQTT-3.10.4-5). */
export function handleUnsubscribe(b: Broker, conn: number, p: Packet): void {
  const slot = b.conns[conn].session;
  for (let i = 0; i < p.count; i++) subscriptionRemove(b, slot, p.filters[i]);
  sendBytes(b, conn, encodeAck(PacketType.UNSUBACK, p.packetId));
}
