import { Command } from "commander";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { deleteUserLine, setUserLine } from "./auth/passwordFile";

/**
 * `midge passwd [-c] [-D] FILE USER [PASSWORD]`: mosquitto_passwd's job, writing the same
 * format ($7$, PBKDF2-SHA512), so files move freely between mosquitto and Midge.
 */
export function passwdCommand(): Command {
  return new Command("passwd")
    .description("add, change or delete a user in a password file (mosquitto_passwd format)")
    .argument("<file>", "password file")
    .argument("<user>", "user name")
    .argument("[password]", "password (asked for when left out)")
    .option("-c, --create", "create the file, overwriting it if it exists")
    .option("-D, --delete", "delete the user")
    .action(async (file: string, user: string, password: string | undefined, opts: { create?: boolean; delete?: boolean }) => {
      const fail = (message: string): void => {
        process.stderr.write(`Error: ${message}\n`);
        process.exitCode = 1;
      };
      if (user.indexOf(":") >= 0 || user === "") return fail("user names may not be empty or contain ':'");
      if (!opts.create && !existsSync(file)) return fail(`${file} does not exist (use -c to create it)`);
      const text = opts.create ? "" : readFileSync(file, "utf8");
      if (opts.delete) {
        const next = deleteUserLine(text, user);
        if (next === null) return fail(`user ${user} not found in ${file}`);
        writeFileSync(file, next, { mode: 0o600 });
        return;
      }
      const pw = password ?? (await askPassword());
      if (pw === null) return fail("passwords do not match");
      writeFileSync(file, setUserLine(text, user, pw), { mode: 0o600 });
    });
}

/** Reads the password twice from the terminal (once from a pipe). */
async function askPassword(): Promise<string | null> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY === true });
  const ask = (q: string): Promise<string> => new Promise((resolve) => rl.question(q, resolve));
  try {
    const first = await ask("Password: ");
    if (process.stdin.isTTY !== true) return first;
    const second = await ask("\nReenter password: ");
    process.stderr.write("\n");
    return first === second ? first : null;
  } finally {
    rl.close();
  }
}
