#!/usr/bin/env python3
"""A Home Assistant-like MQTT 5 client for the e2e suite (test/e2e-v5/20-home-assistant.test.ts).

Does what Home Assistant's MQTT integration does when it connects with protocol MQTTv5:
  - connects with its client id, Clean Start 1 and a Will on its status topic
    (homeassistant/status "offline", retained);
  - subscribes to the discovery prefix (homeassistant/#) and to the devices' state topics;
  - once the SUBACK is in, publishes its birth message (homeassistant/status "online", retained);
  - for every discovery config that names a command_topic, sends a command to that device at the
    QoS the config gives (as HA does when a user switches an entity), once it has seen
    --expect-configs configs.
Then it stays connected until killed (the test kills it with SIGKILL: an unclean drop).

Every event is printed to stdout as one JSON line, flushed, for the test to read:
  {"event": "connected", "reason_code": 0, "session_present": false}
  {"event": "subscribed", "mid": 1, "codes": [0, 1, 1]}
  {"event": "message", "topic": ..., "payload": ..., "qos": 0, "retain": true, "user_properties": [[k, v], ...], "content_type": ...}
  {"event": "birth_sent"} / {"event": "command_sent", "topic": ..., "qos": 1} / {"event": "commands_done"}
  {"event": "disconnected", "reason_code": ...} / {"event": "error", "message": ...}

Works with paho-mqtt 1.6 (Debian bookworm's python3-paho-mqtt) and 2.x (callback API version 2):
the callbacks take *args and read the fields where each version puts them.
"""
import argparse
import json
import sys

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

STATUS_TOPIC = "homeassistant/status"


def emit(**fields):
    print(json.dumps(fields), flush=True)


def code(rc):
    """A reason code as an int (paho 1.6 ReasonCodes, 2.x ReasonCode, or a plain int)."""
    return int(getattr(rc, "value", rc))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--state-topic", action="append", default=[], help="a device state topic to subscribe to (QoS 1)")
    ap.add_argument("--expect-configs", type=int, default=0, help="send the commands once this many discovery configs arrived")
    ap.add_argument("--keepalive", type=int, default=60)
    args = ap.parse_args()

    if hasattr(mqtt, "CallbackAPIVersion"):  # paho-mqtt 2.x
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=args.client_id, protocol=mqtt.MQTTv5, reconnect_on_failure=False)
    else:  # paho-mqtt 1.x
        client = mqtt.Client(client_id=args.client_id, protocol=mqtt.MQTTv5, reconnect_on_failure=False)

    will_props = Properties(PacketTypes.WILLMESSAGE)
    will_props.ContentType = "text/plain"
    client.will_set(STATUS_TOPIC, payload="offline", qos=1, retain=True, properties=will_props)

    configs = {}
    state = {"commands_sent": False, "sub_mid": None}

    def on_connect(c, userdata, flags, rc, properties=None, *rest):
        present = flags.get("session present", 0) if isinstance(flags, dict) else getattr(flags, "session_present", False)
        emit(event="connected", reason_code=code(rc), session_present=bool(present))
        if code(rc) != 0:
            return
        topics = [("homeassistant/#", 0)] + [(t, 1) for t in args.state_topic]
        result, mid = c.subscribe(topics)
        state["sub_mid"] = mid

    def on_subscribe(c, userdata, mid, codes, properties=None, *rest):
        emit(event="subscribed", mid=mid, codes=[code(x) for x in codes])
        if mid == state["sub_mid"]:
            # HA publishes its birth once its subscriptions are in place.
            c.publish(STATUS_TOPIC, payload="online", qos=1, retain=True)
            emit(event="birth_sent")

    def send_commands(c):
        for topic, cfg in sorted(configs.items()):
            cmd_topic = cfg.get("command_topic")
            if not cmd_topic:
                continue
            qos = int(cfg.get("qos", 0))
            payload = cfg.get("payload_on", "ON")
            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = ("origin", "home-assistant")
            c.publish(cmd_topic, payload=payload, qos=qos, retain=False, properties=props)
            emit(event="command_sent", topic=cmd_topic, qos=qos, payload=payload)
        emit(event="commands_done")

    def on_message(c, userdata, msg):
        payload = msg.payload.decode("utf-8", "replace")
        props = getattr(msg, "properties", None)
        user = [list(p) for p in getattr(props, "UserProperty", [])] if props is not None else []
        ctype = getattr(props, "ContentType", None) if props is not None else None
        emit(event="message", topic=msg.topic, payload=payload, qos=msg.qos, retain=bool(msg.retain), user_properties=user, content_type=ctype)
        if msg.topic.startswith("homeassistant/") and msg.topic.endswith("/config") and payload:
            try:
                configs[msg.topic] = json.loads(payload)
            except ValueError as e:
                emit(event="error", message="bad discovery config on %s: %s" % (msg.topic, e))
            if not state["commands_sent"] and args.expect_configs > 0 and len(configs) >= args.expect_configs:
                state["commands_sent"] = True
                send_commands(c)

    def on_disconnect(c, userdata, *rest):
        # 1.6: (rc, properties); 2.x: (flags, reason_code, properties)
        rc = rest[1] if len(rest) >= 3 else (rest[0] if rest else 0)
        emit(event="disconnected", reason_code=code(rc))

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.on_disconnect = on_disconnect

    try:
        client.connect(args.host, args.port, keepalive=args.keepalive, clean_start=True)
    except Exception as e:  # refused, unreachable
        emit(event="error", message="connect failed: %s" % e)
        return 1
    client.loop_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
