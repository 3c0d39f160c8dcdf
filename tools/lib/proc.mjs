// Process helpers for the reliability tools: find the process behind a listening port (so any
// target broker, however launched, can be watched) and read its memory from /proc (Linux).
import { readFileSync, readdirSync, readlinkSync } from "node:fs";

/** Socket inodes of TCP sockets listening on `port` (IPv4 and IPv6). */
function listeningInodes(port) {
  const inodes = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const local = f[1];
      const st = f[3];
      if (st !== "0A") continue; // LISTEN
      const p = parseInt(local.slice(local.lastIndexOf(":") + 1), 16);
      if (p === port) inodes.push(f[9]);
    }
  }
  return inodes;
}

/** Pid of the process listening on `port`, or 0 when it cannot be found (not Linux, no access). */
export function pidOfListeningPort(port) {
  const inodes = new Set(listeningInodes(port).map((i) => `socket:[${i}]`));
  if (inodes.size === 0) return 0;
  let pids = [];
  try {
    pids = readdirSync("/proc").filter((d) => /^[0-9]+$/.test(d));
  } catch {
    return 0;
  }
  for (const pid of pids) {
    let fds = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (inodes.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) return Number(pid);
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return 0;
}

/** Resident set size of a process in bytes, or 0 if it is gone. */
export function rssBytes(pid) {
  if (!pid) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** True while the process exists (and is not a zombie). */
export function processAlive(pid) {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

export const MB = 1024 * 1024;

export function mb(bytes) {
  return Math.round((bytes / MB) * 10) / 10;
}
