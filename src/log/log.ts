import { Log } from "../platform";
import { packetName } from "../codec/constants";
import { statusReason } from "../codec/status";
import { Msg, messageText } from "./messages";

/**
 * Log lines by number (messages.ts). With the logText feature a line is its text with the
 * arguments in place; without it, "{number|argument|...}", which `midge log-text` turns back
 * into the text on a host. Each line also carries its category, so that targets filter
 * (connection_messages) by what a line is about, not by matching its words.
 */
export const enum LogCategory {
  GENERAL = 0,
  /** A client arriving or leaving: connection_messages false hides these. */
  CONNECTION = 1,
}

/** The category of message id. */
export function messageCategory(id: number): number {
  return id <= Msg.LAST_CONNECTION ? LogCategory.CONNECTION : LogCategory.GENERAL;
}

/**
 * Message id with its arguments, as text (logText) or as its code form. Used for reasons
 * that another line gives as one of its arguments, and by logf.
 */
export function render(id: number, a1?: string | number, a2?: string | number, a3?: string | number, a4?: string | number, a5?: string | number): string {
  // Written as one if/else so that a build without logText drops the texts (esbuild removes a
  // constant-false branch, not code after a return).
  if (MIDGE_FEATURES.logText) return fillTemplate(messageText(id), a1, a2, a3, a4, a5);
  let out = "{" + id;
  if (a1 !== undefined) out += "|" + a1;
  if (a2 !== undefined) out += "|" + a2;
  if (a3 !== undefined) out += "|" + a3;
  if (a4 !== undefined) out += "|" + a4;
  if (a5 !== undefined) out += "|" + a5;
  return out + "}";
}

/** Writes message id at level (LogLevel) with its arguments. */
export function logf(log: Log, level: number, id: number, a1?: string | number, a2?: string | number, a3?: string | number, a4?: string | number, a5?: string | number): void {
  log.log(level, render(id, a1, a2, a3, a4, a5), messageCategory(id));
}

/**
 * Puts the arguments into a template: %1 ... %5 as given, %S<n> as a Status reason, %P<n>
 * as a packet name. Host tools use it to turn code-form lines back into text.
 */
export function fillTemplate(template: string, a1?: string | number, a2?: string | number, a3?: string | number, a4?: string | number, a5?: string | number): string {
  let out = "";
  let from = 0;
  for (;;) {
    const at = template.indexOf("%", from);
    if (at < 0 || at + 1 >= template.length) break;
    let kind = template.charCodeAt(at + 1);
    let digitAt = at + 1;
    // 'S' (83) and 'P' (80) read the argument as a Status or a packet type.
    if (kind === 83 || kind === 80) digitAt = at + 2;
    else kind = 0;
    const n = template.charCodeAt(digitAt) - 48;
    if (n < 1 || n > 5) {
      out += template.substring(from, at + 1);
      from = at + 1;
      continue;
    }
    const arg = n === 1 ? a1 : n === 2 ? a2 : n === 3 ? a3 : n === 4 ? a4 : a5;
    let text = arg === undefined ? "" : "" + arg;
    if (kind === 83 && typeof arg === "number") text = statusReason(arg);
    else if (kind === 80 && typeof arg === "number") text = packetName(arg);
    out += template.substring(from, at) + text;
    from = digitAt + 1;
  }
  return out + template.substring(from);
}
