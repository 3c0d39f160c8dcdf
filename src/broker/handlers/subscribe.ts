import { PacketType, ReasonCode, SUBACK_FAILURE } from "../../codec/constants";
import { encodeAck, encodeSuback } from "../../codec/encode";
import { Packet } from "../../codec/packet";
import { logf } from "../../log/log";
import { Msg } from "../../log/messages";
import { Access, LogLevel } from "../../platform";
import { isValidFilter } from "../../topics/topic";
import { utf8Length } from "../../bytes/bytes";
import { sendBytes } from "../delivery";
import { isV5 } from "../message5";
import { encodeSubackCodes } from "../mqtt5";
import { replayPump, replayStart } from "../replay";
import { shareFilterStart } from "../shared";
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
  const v5 = MIDGE_FEATURES.mqtt5 && isV5(c);
  // MQTT 5.0: one Subscription Identifier for every filter of the packet (§3.8.2.1.2).
  const subId = MIDGE_FEATURES.mqtt5 && v5 && p.props.subscriptionIdCount > 0 ? p.props.subscriptionIds[0] : 0;
  for (let i = 0; i < p.count; i++) {
    const filter = p.filters[i];
    let requested = p.qosList[i];
    if (requested > MAX_GRANTED_QOS) requested = MAX_GRANTED_QOS;
    // Without QoS 2 the broker grants at most QoS 1 (MQTT-3.8.4-6: a lower QoS may be granted).
    if (!MIDGE_FEATURES.qos2 && requested > 1) requested = 1;
    // mqtt5 builds: `$share/{ShareName}/{filter}` joins a shared subscription (shared.ts), from
    // 3.1.1 clients too (SRV5-V311-30, as mosquitto); shareAt: where its inner filter starts.
    const shareAt = MIDGE_FEATURES.mqtt5 ? shareFilterStart(filter) : 0;
    // A valid ShareName leaves the inner filter's checks to isValidFilter on the whole string.
    if ((MIDGE_FEATURES.mqtt5 && shareAt < 0) || !isValidFilter(filter) || utf8Length(filter) > b.limits.maxTopicLength) {
      logf(b.log, LogLevel.NOTICE, Msg.SUBSCRIBE_INVALID_FILTER, s.clientId, filter);
      codes[i] = MIDGE_FEATURES.mqtt5 && v5 ? ReasonCode.TOPIC_FILTER_INVALID : SUBACK_FAILURE; // SRV-SUB-1, MQTT-4.8.2-1, MQTT-4.8.2-2
      continue;
    }
    // The ACL sees a shared subscription's inner filter: rules are written about topics.
    if (b.policy !== undefined && !b.policy.allow(s.clientId, s.hasUsername, s.username, MIDGE_FEATURES.mqtt5 && shareAt > 0 ? filter.substring(shareAt) : filter, Access.SUBSCRIBE)) {
      logf(b.log, LogLevel.NOTICE, Msg.SUBSCRIBE_DENIED, s.clientId, filter);
      codes[i] = MIDGE_FEATURES.mqtt5 && v5 ? ReasonCode.NOT_AUTHORIZED : SUBACK_FAILURE; // SRV-SUB-2
      continue;
    }
    const flags = MIDGE_FEATURES.mqtt5 && v5 ? (p.noLocal[i] ? 1 : 0) + (p.retainAsPublished[i] ? 2 : 0) : 0;
    const result = subscriptionAdd(b, c.session, filter, requested, flags, subId);
    if (result === SubResult.CLIENT_LIMIT || result === SubResult.TABLE_FULL) {
      if (result === SubResult.CLIENT_LIMIT) logf(b.log, LogLevel.WARNING, Msg.SUBSCRIBE_CLIENT_LIMIT, s.clientId, filter, b.limits.maxSubscriptionsPerClient);
      else logf(b.log, LogLevel.WARNING, Msg.SUBSCRIBE_TABLE_FULL, s.clientId, filter, b.limits.maxSubscriptions);
      codes[i] = MIDGE_FEATURES.mqtt5 && v5 ? ReasonCode.QUOTA_EXCEEDED : SUBACK_FAILURE; // SRV-SUB-2
      continue;
    }
    codes[i] = requested;
    // MQTT 5.0 Retain Handling (§3.8.3.1): 1 = only for a new subscription, 2 = never.
    if (MIDGE_FEATURES.mqtt5 && v5 && (p.retainHandling[i] === 2 || (p.retainHandling[i] === 1 && result === SubResult.REPLACED))) codes[i] = requested + NO_RETAINED;
    // Never retained messages through a shared subscription (SRV5-PUB-4, SRV5-SUB-7).
    if (MIDGE_FEATURES.mqtt5 && shareAt > 0) codes[i] = requested + NO_RETAINED;
  }
  if (MIDGE_FEATURES.mqtt5) {
    // The granted QoS without the NO_RETAINED mark, which 3.1.1 shared subscriptions get too.
    for (let i = 0; i < p.count; i++) b.matched[i] = codes[i] >= NO_RETAINED && codes[i] < 0x80 ? codes[i] - NO_RETAINED : codes[i];
    if (v5) sendBytes(b, conn, encodeSubackCodes(b, conn, PacketType.SUBACK, p.packetId, b.matched, p.count));
    else sendBytes(b, conn, encodeSuback(p.packetId, b.matched, p.count));
  } else {
    sendBytes(b, conn, encodeSuback(p.packetId, codes, p.count));
  }
  if (MIDGE_FEATURES.retained) {
    // The retained messages go out paced by the client (replay.ts): each granted subscription
    // that takes them (not a failure, Retain Handling or a shared one: NO_RETAINED) gets its
    // replay, or starts it again from the first slot, over the messages retained now.
    for (let i = 0; i < p.count; i++) {
      if (codes[i] >= NO_RETAINED) continue;
      replayStart(b, findSubscription(b, c.session, p.filters[i], ""));
    }
    replayPump(b, c.session); // as many now as fit
  }
}

/** Added to a granted QoS in b.codes when the subscription takes no retained messages (Retain Handling, shared). */
const NO_RETAINED = 16;

/**
 * UNSUBSCRIBE (§3.10): exact filters removed, UNSUBACK always (MQTT-3.10.4-4, MQTT-3.10.4-5);
 * to an MQTT 5.0 client with a reason code per filter: 0x00, or 0x11 when it had no such
 * subscription (§3.11.3).
 */
export function handleUnsubscribe(b: Broker, conn: number, p: Packet): void {
  const slot = b.conns[conn].session;
  for (let i = 0; i < p.count; i++) {
    const removed = subscriptionRemove(b, slot, p.filters[i]);
    b.codes[i] = removed ? ReasonCode.SUCCESS : ReasonCode.NO_SUBSCRIPTION_EXISTED;
  }
  if (MIDGE_FEATURES.mqtt5 && isV5(b.conns[conn])) {
    sendBytes(b, conn, encodeSubackCodes(b, conn, PacketType.UNSUBACK, p.packetId, b.codes, p.count));
  } else {
    sendBytes(b, conn, encodeAck(PacketType.UNSUBACK, p.packetId));
  }
}
