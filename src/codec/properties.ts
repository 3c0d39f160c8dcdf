import { Bytes, EMPTY_BYTES } from "../bytes/bytes";

/**
 * The properties of one MQTT 5.0 packet (OASIS MQTT 5.0 §2.2.2, Table 2-4), as fixed fields
 * filled in place. A number property is -1 when absent; a string or binary property has a
 * `has...` flag. User Properties are `userPropertyCount` entries of the parallel arrays
 * userKeys / userValues, Subscription Identifiers `subscriptionIdCount` entries of
 * subscriptionIds. Entries past the counts are stale and never read.
 */
export interface Properties {
  payloadFormatIndicator: number; // 0x01
  messageExpiryInterval: number; // 0x02
  hasContentType: boolean; // 0x03
  contentType: string;
  hasResponseTopic: boolean; // 0x08
  responseTopic: string;
  hasCorrelationData: boolean; // 0x09
  correlationData: Bytes;
  subscriptionIdCount: number; // 0x0B
  subscriptionIds: number[];
  sessionExpiryInterval: number; // 0x11
  hasAssignedClientId: boolean; // 0x12
  assignedClientId: string;
  serverKeepAlive: number; // 0x13
  hasAuthenticationMethod: boolean; // 0x15
  authenticationMethod: string;
  hasAuthenticationData: boolean; // 0x16
  authenticationData: Bytes;
  requestProblemInformation: number; // 0x17
  willDelayInterval: number; // 0x18
  requestResponseInformation: number; // 0x19
  hasResponseInformation: boolean; // 0x1A
  responseInformation: string;
  hasServerReference: boolean; // 0x1C
  serverReference: string;
  hasReasonString: boolean; // 0x1F
  reasonString: string;
  receiveMaximum: number; // 0x21
  topicAliasMaximum: number; // 0x22
  topicAlias: number; // 0x23
  maximumQos: number; // 0x24
  retainAvailable: number; // 0x25
  userPropertyCount: number; // 0x26
  userKeys: string[];
  userValues: string[];
  maximumPacketSize: number; // 0x27
  wildcardSubscriptionAvailable: number; // 0x28
  subscriptionIdAvailable: number; // 0x29
  sharedSubscriptionAvailable: number; // 0x2A
}

export function newProperties(): Properties {
  const pr: Properties = {
    payloadFormatIndicator: -1,
    messageExpiryInterval: -1,
    hasContentType: false,
    contentType: "",
    hasResponseTopic: false,
    responseTopic: "",
    hasCorrelationData: false,
    correlationData: EMPTY_BYTES,
    subscriptionIdCount: 0,
    subscriptionIds: [],
    sessionExpiryInterval: -1,
    hasAssignedClientId: false,
    assignedClientId: "",
    serverKeepAlive: -1,
    hasAuthenticationMethod: false,
    authenticationMethod: "",
    hasAuthenticationData: false,
    authenticationData: EMPTY_BYTES,
    requestProblemInformation: -1,
    willDelayInterval: -1,
    requestResponseInformation: -1,
    hasResponseInformation: false,
    responseInformation: "",
    hasServerReference: false,
    serverReference: "",
    hasReasonString: false,
    reasonString: "",
    receiveMaximum: -1,
    topicAliasMaximum: -1,
    topicAlias: -1,
    maximumQos: -1,
    retainAvailable: -1,
    userPropertyCount: 0,
    userKeys: [],
    userValues: [],
    maximumPacketSize: -1,
    wildcardSubscriptionAvailable: -1,
    subscriptionIdAvailable: -1,
    sharedSubscriptionAvailable: -1,
  };
  return pr;
}

/** Marks every property absent. Strings and binaries drop their references, arrays keep their slots. */
export function propertiesReset(pr: Properties): void {
  pr.payloadFormatIndicator = -1;
  pr.messageExpiryInterval = -1;
  pr.hasContentType = false;
  pr.contentType = "";
  pr.hasResponseTopic = false;
  pr.responseTopic = "";
  pr.hasCorrelationData = false;
  pr.correlationData = EMPTY_BYTES;
  pr.subscriptionIdCount = 0;
  pr.sessionExpiryInterval = -1;
  pr.hasAssignedClientId = false;
  pr.assignedClientId = "";
  pr.serverKeepAlive = -1;
  pr.hasAuthenticationMethod = false;
  pr.authenticationMethod = "";
  pr.hasAuthenticationData = false;
  pr.authenticationData = EMPTY_BYTES;
  pr.requestProblemInformation = -1;
  pr.willDelayInterval = -1;
  pr.requestResponseInformation = -1;
  pr.hasResponseInformation = false;
  pr.responseInformation = "";
  pr.hasServerReference = false;
  pr.serverReference = "";
  pr.hasReasonString = false;
  pr.reasonString = "";
  pr.receiveMaximum = -1;
  pr.topicAliasMaximum = -1;
  pr.topicAlias = -1;
  pr.maximumQos = -1;
  pr.retainAvailable = -1;
  pr.userPropertyCount = 0;
  pr.maximumPacketSize = -1;
  pr.wildcardSubscriptionAvailable = -1;
  pr.subscriptionIdAvailable = -1;
  pr.sharedSubscriptionAvailable = -1;
}

/** Appends one User Property (0x26); the same name may appear many times (SRV5-PROP-3). */
export function addUserProperty(pr: Properties, key: string, value: string): void {
  pr.userKeys[pr.userPropertyCount] = key;
  pr.userValues[pr.userPropertyCount] = value;
  pr.userPropertyCount++;
}

/** Appends one Subscription Identifier (0x0B) for a PUBLISH the server sends. */
export function addSubscriptionId(pr: Properties, id: number): void {
  pr.subscriptionIds[pr.subscriptionIdCount] = id;
  pr.subscriptionIdCount++;
}

/**
 * Where a property may appear (SRV5-PROP-5), one power of two per place; a property's entry in
 * PROPERTY_PLACES is the sum of its places, tested with Math.floor(places / place) % 2.
 */
export const enum PropertyPlace {
  CONNECT = 1,
  CONNACK = 2,
  PUBLISH = 4,
  WILL = 8,
  /** PUBACK, PUBREC, PUBREL, PUBCOMP. */
  ACK = 16,
  SUBSCRIBE = 32,
  /** SUBACK and UNSUBACK. */
  SUBACK = 64,
  UNSUBSCRIBE = 128,
  DISCONNECT = 256,
  AUTH = 512,
}

/** Property value types (§2.2.2.2); 0 marks an identifier the standard does not define. */
export const enum PropertyType {
  NONE = 0,
  BYTE = 1,
  TWO_BYTE = 2,
  FOUR_BYTE = 4,
  VARIABLE = 5,
  STRING = 6,
  BINARY = 7,
  STRING_PAIR = 8,
}

/** Largest property identifier the standard defines (0x2A Shared Subscription Available). */
export const MAX_PROPERTY_ID = 42;

// Indexed by property identifier 0..42 (Table 2-4).
// prettier-ignore
export const PROPERTY_TYPES = [
  0, 1, 4, 6, 0, 0, 0, 0, 6, 7, // 0x00-0x09: -, payload format, message expiry, content type, -, -, -, -, response topic, correlation data
  0, 5, 0, 0, 0, 0, 0, 4, 6, 2, // 0x0A-0x13: -, subscription id, -, -, -, -, -, session expiry, assigned client id, server keep alive
  0, 6, 7, 1, 4, 1, 6, 0, 6, 0, // 0x14-0x1D: -, auth method, auth data, request problem, will delay, request response, response info, -, server reference, -
  0, 6, 0, 2, 2, 2, 1, 1, 8, 4, // 0x1E-0x27: -, reason string, -, receive max, topic alias max, topic alias, max qos, retain available, user property, max packet size
  1, 1, 1, // 0x28-0x2A: wildcard, subscription id, shared subscription available
];

// prettier-ignore
export const PROPERTY_PLACES = [
  0, 12, 12, 12, 0, 0, 0, 0, 12, 12,
  0, 36, 0, 0, 0, 0, 0, 259, 2, 2,
  0, 515, 515, 1, 8, 1, 2, 0, 258, 0,
  0, 850, 0, 3, 3, 4, 2, 2, 1023, 3,
  2, 2, 2,
];

/** True when property `id` may appear in `place` (a PropertyPlace). */
export function propertyAllowed(id: number, place: number): boolean {
  if (id < 1 || id > MAX_PROPERTY_ID) return false;
  return Math.floor(PROPERTY_PLACES[id] / place) % 2 === 1;
}
