import { Bytes } from "../../../src/bytes/bytes";
import { Acl, aclAllow } from "../../../src/auth/acl";
import { ConnackCode } from "../../../src/codec/constants";
import { Policy } from "../../../src/platform";
import { PasswordEntry, checkPassword } from "./passwordFile";

export interface SecurityOptions {
  allowAnonymous: boolean;
  /** null = no password_file: any user name is accepted without a password check. */
  passwords: Map<string, PasswordEntry> | null;
  /** null = no acl_file: every client may do everything. */
  acl: Acl | null;
}

/**
 * mosquitto's default security on the Node target: allow_anonymous, password_file and
 * acl_file. Differences from mosquitto 2.0 (which answers CONNACK 5 to every refusal): a
 * wrong user name or password gets CONNACK 4 as MQTT 3.1.1 intends, no credentials when
 * anonymous clients are not allowed get CONNACK 5; and a SUBSCRIBE that no ACL line could
 * ever deliver on gets SUBACK 0x80 (mosquitto grants it and then delivers nothing).
 */
export function createPolicy(options: SecurityOptions): Policy {
  return {
    authenticate(_clientId: string, hasUsername: boolean, username: string, hasPassword: boolean, password: Bytes): number {
      if (!hasUsername) return options.allowAnonymous ? ConnackCode.ACCEPTED : ConnackCode.NOT_AUTHORIZED;
      if (options.passwords === null) return ConnackCode.ACCEPTED;
      const entry = options.passwords.get(username);
      if (entry === undefined || !hasPassword) return ConnackCode.BAD_USERNAME_OR_PASSWORD;
      const u8 = password as unknown as Uint8Array;
      return checkPassword(entry, Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength)) ? ConnackCode.ACCEPTED : ConnackCode.BAD_USERNAME_OR_PASSWORD;
    },
    allow(clientId: string, hasUsername: boolean, username: string, topic: string, access: number): boolean {
      if (options.acl === null) return true;
      return aclAllow(options.acl, clientId, hasUsername, username, topic, access);
    },
  };
}
