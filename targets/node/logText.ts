import { Command } from "commander";
import { createInterface } from "node:readline";
import { messageText } from "../../src/log/messages";
import { fillTemplate } from "../../src/log/log";

/**
 * Turns the code form of log lines ("{2|sensor-1|{101}}", what a board built without the
 * logText feature prints) back into the words a host build prints, with the texts of
 * src/log/messages.ts: `midge log-text < console.txt`. Innermost codes first, so a reason
 * given as an argument is words by the time its line is filled in. A client id or topic that
 * itself holds "{", "|" or "}" can confuse the split; such a line is left as it is.
 */
export function logTextDecode(line: string): string {
  let out = line;
  for (let guard = 0; guard < 16; guard++) {
    const m = /\{(\d+)((?:\|[^{}|]*)*)\}/.exec(out);
    if (m === null) break;
    const template = messageText(Number(m[1]));
    if (template === "") break;
    const args: (string | number)[] = m[2] === "" ? [] : m[2].slice(1).split("|");
    // %S<n> and %P<n> read argument n as a number (a Status, a packet type).
    for (let i = 0; i < args.length; i++) {
      if (template.indexOf("%S" + (i + 1)) >= 0 || template.indexOf("%P" + (i + 1)) >= 0) args[i] = Number(args[i]);
    }
    const text = fillTemplate(template, args[0], args[1], args[2], args[3], args[4]);
    out = out.slice(0, m.index) + text + out.slice(m.index + m[0].length);
  }
  return out;
}

/** `midge log-text`: standard input to standard output, code-form lines turned into text. */
export function logTextCommand(): Command {
  return new Command("log-text")
    .description("turn the numbered log lines of a board built without logText back into text (stdin to stdout)")
    .action(async () => {
      const rl = createInterface({ input: process.stdin, terminal: false });
      for await (const line of rl) process.stdout.write(logTextDecode(line) + "\n");
    });
}
