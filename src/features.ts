/**
 * Parts of the broker that a board profile can leave out ("features" in boards/*.json), as
 * mosquitto's WITH_* build options or lwIP's opt.h do.
 *
 * The core reads a feature only as `MIDGE_FEATURES.<name>`, written out at each use, so that
 * the Espruino build can define each one as a constant (esbuild `define`): the minifier then
 * drops the branches behind a feature that is off, and tree shaking drops the functions and
 * texts only they used. Node and Lua set the global MIDGE_FEATURES from the profile once at
 * start-up, before any broker is created (targets/node/features.ts, targets/lua/main.ts).
 */
export interface Features {
  /** MQTT 3.1 clients (protocol name "MQIsdp", level 3); off: CONNACK 0x01 (MQTT-3.1.2-2). */
  mqtt31: boolean;
  /** QoS 2 both ways; off: SUBACK grants at most QoS 1, a QoS 2 PUBLISH or will closes the connection. */
  qos2: boolean;
  /** Last will messages; off: a CONNECT with a will is closed without CONNACK (MQTT-3.2.2-6: no return code says why). */
  will: boolean;
  /** Retained messages; off: behaves as retain_available false. */
  retained: boolean;
  /** CleanSession = 0 sessions kept after the connection ends; off: a session ends with its connection. */
  persistentSessions: boolean;
  /** Retained messages and sessions written to a Store and restored at start-up. */
  persistence: boolean;
  /** The $SYS/broker/... topics. */
  sys: boolean;
  /**
   * Bridges to other brokers (src/bridge, `connection` sections; off: such a config is an
   * error). Brokers bridging to us (protocol level 0x83/0x84) are served either way.
   */
  bridge: boolean;
  /** Log lines as text; off: as numbered codes that `midge log-text` on a host turns back into text. */
  logText: boolean;
  /**
   * MQTT 5.0 clients (src/codec/decode5.ts, encode5.ts); off: a CONNECT with protocol level 5
   * gets CONNACK 0x01 as from a 3.1.1 broker (MQTT-3.1.2-2 of 3.1.1).
   */
  mqtt5: boolean;
}

declare global {
  /** The features compiled in or installed at start-up (see above). */
  const MIDGE_FEATURES: Features;
}

/** Every feature name, in the order the build table prints them. */
export const FEATURE_NAMES: string[] = ["mqtt31", "qos2", "will", "retained", "persistentSessions", "persistence", "sys", "bridge", "logText", "mqtt5"];

/** The host profile: everything on. */
export function allFeatures(): Features {
  return {
    mqtt31: true,
    qos2: true,
    will: true,
    retained: true,
    persistentSessions: true,
    persistence: true,
    sys: true,
    bridge: true,
    logText: true,
    mqtt5: true,
  };
}
