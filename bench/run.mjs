#!/usr/bin/env node
// Midge's benchmark: runs every scenario against Midge (Node target), aedes and mosquitto in
// the same run, fresh broker per measurement, repeats, prints medians and ratios (Markdown),
// and writes everything as JSON.
//
//   npm run bench [-- --quick] [--scenarios a,b] [--brokers a,b] [--repeat N] [--json out.json]
//                 [--profile DIR] [--no-selftest] [--budget SECONDS] [--alt CHECKOUT|BUNDLE]
//
// Loopback only. The load generator runs in forked worker processes (bench/loadgen/worker.mjs)
// with raw sockets and pre-encoded packets; see bench/README.md.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { dirname, join, resolve } from "node:path";
import { BROKERS, ROOT, brokerVersion } from "./brokers/index.mjs";
import { otherLoad, runOne, scenarios, selftests, sum, supports } from "./lib/harness.mjs";

// ---------------------------------------------------------------------------------------------
// Reporting.

function median(values) {
  const v = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function fmt(v, digits) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (digits !== undefined) return v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const a = Math.abs(v);
  if (a >= 100) return Math.round(v).toLocaleString("en-US");
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function ratio(a, b) {
  if (a === null || b === null || b === 0) return null;
  return a / b;
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  const line = (r) => "| " + r.map((x, c) => (c === 0 ? String(x).padEnd(widths[c]) : String(x).padStart(widths[c]))).join(" | ") + " |";
  const sep = "|" + widths.map((w, c) => (c === 0 ? "-".repeat(w + 1) + "-" : "-".repeat(w + 1) + ":")).join("|") + "|";
  return [line(rows[0]), sep, ...rows.slice(1).map(line)].join("\n");
}

function versions() {
  let mosquitto = "";
  try {
    execFileSync("/usr/sbin/mosquitto", ["-h"], { stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const m = /mosquitto version (\S+)/.exec(String(e.stdout ?? "") + String(e.stderr ?? ""));
    if (m) mosquitto = m[1];
  }
  if (mosquitto === "") {
    try {
      const out = execFileSync("/usr/sbin/mosquitto", ["-h"], { encoding: "utf8" });
      const m = /mosquitto version (\S+)/.exec(out);
      if (m) mosquitto = m[1];
    } catch {
      // not installed
    }
  }
  let commit = "";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "targets"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    if (dirty !== "") commit += "+changes";
  } catch {
    // not a git checkout
  }
  const c = cpus();
  const alt = process.env.MIDGE_BENCH_ALT;
  return {
    midge: brokerVersion("midge") + (commit ? ` (${commit})` : ""),
    midgeAlt: alt ? `${resolve(alt)}${altCommit(alt)}` : "",
    node: process.versions.node,
    aedes: brokerVersion("aedes"),
    mosquitto,
    lua: BROKERS.lua.available() ? brokerVersion("lua") : "",
    cpu: `${c.length} × ${c[0]?.model ?? "?"}`,
    kernel: release(),
  };
}

/** " (commit)" of the checkout an alt bundle was built in (it sits two levels below its root). */
function altCommit(bundle) {
  try {
    const root = dirname(dirname(dirname(resolve(bundle))));
    const c = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "targets"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return ` (${c}${dirty !== "" ? "+changes" : ""})`;
  } catch {
    return "";
  }
}

/** The Node bundle --alt names: a checkout (its dist/node/midge.js) or a bundle file. */
function altBundle(path) {
  const inCheckout = join(resolve(path), "dist", "node", "midge.js");
  if (existsSync(inCheckout)) return inCheckout;
  return existsSync(path) && path.endsWith(".js") ? resolve(path) : null;
}

// ---------------------------------------------------------------------------------------------
// Command line.

function parseArgs(argv) {
  const o = { quick: false, scenarios: null, brokers: null, repeat: null, json: null, profile: null, selftest: true, budget: null, set: [], alt: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--quick") o.quick = true;
    else if (a === "--scenarios") o.scenarios = val().split(",").map((s) => s.trim()).filter(Boolean);
    else if (a === "--brokers") o.brokers = val().split(",").map((s) => s.trim()).filter(Boolean);
    else if (a === "--repeat") o.repeat = Number(val());
    else if (a === "--json") o.json = val();
    else if (a === "--profile") o.profile = val();
    else if (a === "--no-selftest") o.selftest = false;
    else if (a === "--budget") o.budget = Number(val());
    else if (a === "--set") o.set.push(val());
    else if (a === "--alt") o.alt = val();
    else if (a === "--help" || a === "-h") o.help = true;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

const USAGE = `usage: node bench/run.mjs [--quick] [--scenarios a,b] [--brokers a,b] [--repeat N]
                         [--json FILE] [--profile DIR] [--no-selftest] [--budget SECONDS]
                         [--set scenario.param=value] [--alt CHECKOUT|BUNDLE]
  scenarios: fanin, fanout, qos1, qos2, connect, idle, retained, wildcard, heap,
             fanin5, qos15 (fan-in and QoS 1 with MQTT 5.0 clients) (default: all)
  brokers:   midge, aedes, mosquitto (compared); lua (information, when dist/lua exists);
             midge-alt (another Midge build, with --alt or MIDGE_BENCH_ALT)
  --alt      another Midge build to run next to this one (a checkout with dist/node/midge.js,
             or the bundle itself): adds the midge-alt column and the ratio Midge/alt
  --quick    short windows, smaller counts, 1 repeat (about a minute)
  --profile  run Midge with node --cpu-prof, profiles written to DIR
  --budget   stop starting new measurements after this many seconds (default 900, quick 150)`;

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`bench: ${e.message}\n${USAGE}`);
    return 2;
  }
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  const repeat = o.repeat ?? (o.quick ? 1 : 3);
  const budgetMs = (o.budget ?? (o.quick ? 150 : 900)) * 1000;
  const all = scenarios(o.quick);
  for (const kv of o.set) {
    // --set scenario.param=value (tuning experiments; the defaults are what the README reports)
    const m = /^(\w+)\.(\w+)=(.*)$/.exec(kv);
    if (!m || !all[m[1]]) return console.error(`bench: bad --set ${kv}`), 2;
    all[m[1]].params[m[2]] = Number.isNaN(Number(m[3])) ? m[3] : Number(m[3]);
  }
  const names = o.scenarios ?? Object.keys(all);
  for (const n of names) if (!all[n]) return console.error(`bench: unknown scenario '${n}' (known: ${Object.keys(all).join(", ")})`), 2;
  if (o.alt) {
    const bundle = altBundle(o.alt);
    if (!bundle) return console.error(`bench: --alt ${o.alt}: neither a checkout with dist/node/midge.js nor a .js bundle`), 2;
    process.env.MIDGE_BENCH_ALT = bundle;
  }
  const alt = BROKERS["midge-alt"].available() ? ["midge-alt"] : [];
  const extras = o.quick ? [] : ["node-floor", "lua", "esp32"].filter((b) => BROKERS[b].available());
  const defaultBrokers = ["midge", ...alt, "aedes", "mosquitto", ...extras];
  // --alt with --brokers: the alt build runs right after Midge even when not listed.
  const chosen = o.brokers && o.alt && !o.brokers.includes("midge-alt") ? o.brokers.flatMap((b) => (b === "midge" ? ["midge", "midge-alt"] : [b])) : o.brokers;
  const brokers = (chosen ?? defaultBrokers).filter((b) => {
    if (!BROKERS[b]) throw new Error(`unknown broker '${b}'`);
    if (!BROKERS[b].available()) {
      console.error(`bench: ${b} is not available here, skipped`);
      return false;
    }
    return true;
  });
  if (brokers.includes("midge") && !existsSync(join(ROOT, "dist", "node", "midge.js"))) {
    console.error("bench: dist/node/midge.js missing: building it (node build.mjs --node)");
    const r = spawnSync(process.execPath, ["build.mjs", "--node"], { cwd: ROOT, stdio: ["ignore", 2, 2] });
    if (r.status !== 0) return 1;
  }
  if (o.profile) mkdirSync(o.profile, { recursive: true });

  const started = Date.now();
  const ver = versions();
  const opts = { profile: o.profile, runTimeoutMs: o.quick ? 60000 : 120000 };
  console.log(`Midge benchmark, ${new Date(started).toISOString()}`);
  console.log(`node ${ver.node}, midge ${ver.midge}, aedes ${ver.aedes}, mosquitto ${ver.mosquitto}${ver.lua ? `, lua ${ver.lua}` : ""}; ${ver.cpu}; Linux ${ver.kernel}`);
  if (brokers.includes("midge-alt")) console.log(`midge-alt: ${ver.midgeAlt}`);
  console.log(`scenarios: ${names.join(", ")}; brokers: ${brokers.join(", ")}; repeats: ${repeat}${o.quick ? " (quick)" : ""}`);
  const busyBefore = await otherLoad(1000);
  console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}; CPU busy before start: ${fmt(busyBefore)}% of one core`);
  if (busyBefore !== null && busyBefore > 20) console.log("WARNING: the machine is busy with other work: results will be noisy (see the 'other' CPU column).");
  console.log("");

  const runs = []; // { scenario, broker, repeat, metrics, cpu, warning, error }
  let outOfTime = false;

  // Self-test first: the generator's ceiling against brokers that do nothing.
  const self = {};
  if (o.selftest) {
    const v5Run = names.some((n) => all[n].mqtt5);
    for (const [name, st] of Object.entries(selftests(o.quick))) {
      if (st.mqtt5 && !v5Run) continue;
      try {
        const r = await runOne({ fn: st.fn, params: st.params, compute: (rs) => ({ rate: sum(rs, "rate") }) }, st.broker, opts);
        self[name] = { rate: r.metrics.rate, cpu: r.cpu };
        console.log(`self-test ${name.padEnd(8)} ${fmt(r.metrics.rate)} msg/s  (generator CPU ${fmt(r.cpu?.gen)}%)`);
      } catch (e) {
        self[name] = { error: String(e.message ?? e) };
        console.log(`self-test ${name}: ${e.message}`);
      }
    }
    console.log("");
  }

  for (let rep = 1; rep <= repeat && !outOfTime; rep++) {
    for (const sname of names) {
      const scn = all[sname];
      for (const b of brokers) {
        const def = BROKERS[b];
        if (scn.nodeOnly && !def.node) continue;
        if (def.scenarios && !def.scenarios.includes(sname)) continue;
        if (!supports(scn, b)) continue; // MQTT 5.0 rows: "n/a" for a broker without it
        if ((def.once || scn.once) && rep > 1) continue;
        if (Date.now() - started > budgetMs) {
          outOfTime = true;
          break;
        }
        const entry = { scenario: sname, broker: b, repeat: rep };
        const t0 = Date.now();
        try {
          Object.assign(entry, await runOne(scn, b, opts));
        } catch (e) {
          entry.error = String(e.message ?? e).split("\n").slice(0, 6).join("\n");
        }
        runs.push(entry);
        const shown = scn.metrics.map((m) => `${m.key}=${fmt(entry.metrics?.[m.key], m.digits)}`).join(" ");
        const cpu = entry.cpu ? ` cpu broker ${fmt(entry.cpu.broker)}% gen ${fmt(entry.cpu.gen)}% other ${fmt(entry.cpu.other)}%` : "";
        console.log(
          `[${rep}/${repeat}] ${sname.padEnd(8)} ${b.padEnd(9)} ${entry.error ? "ERROR " + entry.error.split("\n")[0] : shown + cpu}` +
            `${entry.warning ? "  WARNING: " + entry.warning : ""}  (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
        );
      }
      if (outOfTime) break;
    }
  }
  if (outOfTime) console.log(`\nTime budget of ${budgetMs / 1000} s reached: later measurements skipped.`);

  // Medians per scenario metric and broker.
  const medians = {};
  for (const sname of names) {
    medians[sname] = {};
    for (const m of all[sname].metrics) {
      medians[sname][m.key] = {};
      for (const b of brokers) {
        const v = median(runs.filter((r) => r.scenario === sname && r.broker === b && r.metrics).map((r) => r.metrics[m.key]));
        medians[sname][m.key][b] = v;
      }
    }
  }
  const cpuMedians = {};
  for (const sname of names) {
    cpuMedians[sname] = {};
    for (const b of brokers) {
      const rs = runs.filter((r) => r.scenario === sname && r.broker === b && r.cpu);
      if (rs.length) {
        cpuMedians[sname][b] = { broker: median(rs.map((r) => r.cpu.broker)), gen: median(rs.map((r) => r.cpu.gen)), other: median(rs.map((r) => r.cpu.other)) };
      }
    }
  }

  // Main table.
  const cols = brokers.filter((b) => BROKERS[b].compare);
  const info = brokers.filter((b) => !BROKERS[b].compare && !BROKERS[b].separate);
  const separate = brokers.filter((b) => BROKERS[b].separate);
  const header = ["Scenario (median of " + repeat + ")", ...cols.map((b) => BROKERS[b].label), ...info.map((b) => BROKERS[b].label + " ¹")];
  const hasAedes = cols.includes("aedes") && cols.includes("midge");
  const hasMosq = cols.includes("mosquitto") && cols.includes("midge");
  if (hasAedes) header.push("Midge/aedes");
  if (hasMosq) header.push("Midge/mosquitto");
  const hasAlt = cols.includes("midge") && brokers.includes("midge-alt");
  if (hasAlt) header.push("Midge/alt");
  const rows = [header];
  const ratios = {};
  // A broker without the scenario's protocol (aedes and MQTT 5.0): "n/a", not a missing value.
  const na = (sname, b) => !supports(all[sname], b);
  const ratioCell = (sname, b, r) => (na(sname, b) ? "n/a" : r === null ? "–" : r.toFixed(2));
  for (const sname of names) {
    ratios[sname] = {};
    for (const m of all[sname].metrics) {
      const med = medians[sname][m.key];
      if (m.separateOnly || [...cols, ...info].every((b) => med[b] === null || med[b] === undefined)) continue;
      const row = [m.label + (m.better === "lower" ? " ↓" : " ↑")];
      for (const b of [...cols, ...info]) row.push(na(sname, b) ? "n/a" : fmt(med[b], m.digits));
      const ra = hasAedes ? ratio(med.midge, med.aedes) : null;
      const rm = hasMosq ? ratio(med.midge, med.mosquitto) : null;
      const rt = hasAlt ? ratio(med.midge, med["midge-alt"]) : null;
      ratios[sname][m.key] = { aedes: ra, mosquitto: rm, ...(hasAlt ? { alt: rt } : {}) };
      if (hasAedes) row.push(ratioCell(sname, "aedes", ra));
      if (hasMosq) row.push(ratioCell(sname, "mosquitto", rm));
      if (hasAlt) row.push(ratioCell(sname, "midge-alt", rt));
      rows.push(row);
    }
  }
  console.log("\n" + table(rows));
  console.log("↑ higher is better, ↓ lower is better; ratios are Midge's value divided by the other broker's.");
  if (info.length) console.log(`¹ information only, not part of the comparison${info.some((b) => BROKERS[b].once) ? " (one run)" : ""}.`);
  if (names.some((n) => all[n].mqtt5) && [...cols, ...info].some((b) => !BROKERS[b].mqtt5)) {
    console.log("n/a: the broker has no MQTT 5.0 (not run, not a failure).");
  }

  // Brokers measured with their own (scaled-down) parameters: one table each.
  for (const b of separate) {
    const def = BROKERS[b];
    const srows = [[`${def.label}, information (${def.once ? "one run" : `median of ${repeat}`})`, "Value"]];
    for (const sname of names) {
      for (const m of all[sname].metrics) {
        const label = def.show ? def.show[`${sname}.${m.key}`] : m.label;
        const v = medians[sname][m.key][b];
        if (label === undefined || v === null || v === undefined) continue;
        srows.push([label + (m.better === "lower" ? " ↓" : " ↑"), fmt(v, m.digits)]);
      }
    }
    if (srows.length > 1) console.log("\n" + table(srows));
  }

  // Generator check: CPU of the load generator next to the broker's, per scenario.
  const cpuRows = [["CPU % of one core: broker / generator / other processes", ...cols.concat(info).map((b) => BROKERS[b].label)]];
  for (const sname of names) {
    if (!Object.keys(cpuMedians[sname]).length) continue;
    cpuRows.push([
      sname,
      ...cols
        .concat(info)
        .map((b) =>
          na(sname, b) ? "n/a" : cpuMedians[sname][b] ? `${fmt(cpuMedians[sname][b].broker, 0)} / ${fmt(cpuMedians[sname][b].gen, 0)} / ${fmt(cpuMedians[sname][b].other, 0)}` : "–",
        ),
    ]);
  }
  console.log("\n" + table(cpuRows));
  // Broker CPU per message: robust to a busy machine, where rates are not.
  const effRows = [["Broker CPU time per message (µs), lower is better", ...cols.concat(info).map((b) => BROKERS[b].label), ...(hasAlt ? ["Midge/alt"] : [])]];
  const efficiency = {};
  for (const sname of names) {
    if (!all[sname].metrics.some((m) => m.key === "rate")) continue;
    efficiency[sname] = {};
    for (const b of cols.concat(info)) {
      const rs = runs.filter((r) => r.scenario === sname && r.broker === b && r.cpu && r.cpu.broker && r.metrics && r.metrics.rate);
      efficiency[sname][b] = rs.length ? median(rs.map((r) => ((r.cpu.broker / 100) * 1e6) / r.metrics.rate)) : null;
    }
    const rt = hasAlt ? ratio(efficiency[sname].midge, efficiency[sname]["midge-alt"]) : null;
    const altCell = hasAlt ? [rt === null ? "–" : rt.toFixed(2)] : [];
    if (Object.values(efficiency[sname]).some((v) => v !== null)) {
      effRows.push([sname, ...cols.concat(info).map((b) => (na(sname, b) ? "n/a" : fmt(efficiency[sname][b], 2))), ...altCell]);
    }
  }
  if (effRows.length > 1) console.log("\n" + table(effRows));

  // The cost of MQTT 5.0 (properties): each 5.0 scenario against its 3.1.1 twin, the same
  // broker in the same run, as the ratio 5.0 / 3.1.1 (rates, latencies, broker CPU per message).
  const v5vs311 = {};
  const v5Brokers = cols.concat(info).filter((b) => BROKERS[b].mqtt5);
  const v5Rows = [["MQTT 5.0 / 3.1.1, same broker, this run", ...v5Brokers.map((b) => BROKERS[b].label)]];
  for (const sname of names) {
    const twin = all[sname].v311;
    if (!twin) continue;
    if (!names.includes(twin)) {
      console.log(`\n(${sname}: run ${twin} too for the ratio MQTT 5.0 / 3.1.1)`);
      continue;
    }
    v5vs311[sname] = { v311: twin };
    for (const m of all[sname].metrics) {
      const per = {};
      for (const b of v5Brokers) per[b] = ratio(medians[sname][m.key][b], medians[twin][m.key]?.[b] ?? null);
      v5vs311[sname][m.key] = per;
      if (v5Brokers.some((b) => per[b] !== null)) {
        v5Rows.push([`${sname} / ${twin}: ${m.key === "rate" ? "rate" : `latency ${m.key}`} ${m.better === "lower" ? "↓" : "↑"}`, ...v5Brokers.map((b) => (per[b] === null ? "–" : per[b].toFixed(2)))]);
      }
    }
    if (efficiency[sname] && efficiency[twin]) {
      const per = {};
      for (const b of v5Brokers) per[b] = ratio(efficiency[sname][b] ?? null, efficiency[twin][b] ?? null);
      v5vs311[sname].cpuPerMessage = per;
      if (v5Brokers.some((b) => per[b] !== null)) {
        v5Rows.push([`${sname} / ${twin}: broker CPU per message ↓`, ...v5Brokers.map((b) => (per[b] === null ? "–" : per[b].toFixed(2)))]);
      }
    }
  }
  if (v5Rows.length > 1) {
    console.log("\n" + table(v5Rows));
    console.log("The 5.0 value divided by the 3.1.1 one (every 5.0 PUBLISH carries a 33-byte property block); below 1 for a rate, above 1 for latency or CPU, is the cost of 5.0.");
  }
  if (self.send?.rate || self.receive?.rate) {
    console.log(
      `Generator ceiling against null brokers: sends ${fmt(self.send?.rate)} msg/s (8 publishers), receives ${fmt(self.receive?.rate)} msg/s (1 subscriber).`,
    );
  }
  if (self.send5?.rate || self.receive5?.rate) {
    console.log(`With MQTT 5.0 clients (property block on every PUBLISH): sends ${fmt(self.send5?.rate)} msg/s, receives ${fmt(self.receive5?.rate)} msg/s.`);
  }

  // Targets (Node target against the others, this run).
  const targets = [];
  const med = (s, k, b) => medians[s]?.[k]?.[b] ?? null;
  if (hasAedes || hasMosq) {
    for (const s of ["fanin", "fanout", "qos1"]) {
      if (!names.includes(s)) continue;
      const ra = ratio(med(s, "rate", "midge"), med(s, "rate", "aedes"));
      const rm = ratio(med(s, "rate", "midge"), med(s, "rate", "mosquitto"));
      if (hasAedes) targets.push({ target: `${s}: ≥ 2× aedes`, value: ra, pass: ra !== null && ra >= 2 });
      if (hasMosq) targets.push({ target: `${s}: ≥ 0.8× mosquitto`, value: rm, pass: rm !== null && rm >= 0.8 });
    }
  }
  if (names.includes("idle") && hasAedes) {
    const m = med("idle", "rssPerConn", "midge");
    const a = med("idle", "rssPerConn", "aedes");
    targets.push({ target: "idle: RSS per connection below aedes", value: m === null || a === null ? null : m / a, pass: m !== null && a !== null && m < a });
  }
  if (names.includes("heap") && brokers.includes("midge")) {
    const v = med("heap", "bytesPerMsg", "midge");
    targets.push({ target: "heap: growth per QoS 0 message ≈ 0 (< 0.1 byte)", value: v, pass: v !== null && v < 0.1 });
  }
  if (names.includes("wildcard") && brokers.includes("midge")) {
    const v = med("wildcard", "growth", "midge");
    targets.push({ target: "wildcard: 100× the subscriptions costs < 2× the time", value: v, pass: v !== null && v < 2 });
  }
  if (targets.length) {
    console.log("\nTargets for the Node target (this run):");
    for (const t of targets) console.log(`  ${t.pass ? "met    " : "NOT met"}  ${t.target}  (${t.value === null ? "no data" : fmt(t.value, 3)})`);
  }
  const noisy = runs.filter((r) => r.cpu && r.cpu.other !== null && r.cpu.other > 25);
  if (noisy.length) {
    console.log(`\nWARNING: other processes used more than 25% of a core during ${noisy.length} of ${runs.length} measurements: those numbers are unreliable.`);
  }
  const errors = runs.filter((r) => r.error);
  const warnings = runs.filter((r) => r.warning);
  if (errors.length || warnings.length) {
    console.log("\nProblems:");
    for (const r of errors) console.log(`  ${r.scenario}/${r.broker} #${r.repeat}: ERROR ${r.error.split("\n")[0]}`);
    for (const r of warnings) console.log(`  ${r.scenario}/${r.broker} #${r.repeat}: ${r.warning}`);
  }
  const elapsed = (Date.now() - started) / 1000;
  console.log(`\nTotal ${elapsed.toFixed(0)} s.`);

  const report = {
    date: new Date(started).toISOString(),
    versions: ver,
    machine: { loadavgAtStart: loadavg(), busyBeforeStart: busyBefore },
    options: { quick: o.quick, repeat, scenarios: names, brokers },
    scenarios: Object.fromEntries(
      names.map((n) => [n, { title: all[n].title, params: all[n].params, metrics: all[n].metrics, ...(all[n].mqtt5 ? { mqtt5: true, v311: all[n].v311 } : {}) }]),
    ),
    selftest: self,
    medians,
    ratios,
    cpu: cpuMedians,
    brokerCpuMicrosPerMessage: efficiency,
    v5vs311,
    targets,
    runs,
    table: table(rows),
    elapsedSeconds: elapsed,
  };
  const jsonPath = o.json ?? join(ROOT, "bench", "results", o.quick ? "latest-quick.json" : "latest.json");
  mkdirSync(join(jsonPath, ".."), { recursive: true });
  writeFileSync(jsonPath, JSON.stringify(report, null, 2) + "\n");
  console.log(`JSON: ${jsonPath}`);
  return errors.length ? 1 : 0;
}

// Interrupted (Ctrl-C, timeout): exit through process.exit so the brokers we started are
// killed by the exit hook in brokers/index.mjs; the workers end with their IPC channel.
process.on("SIGINT", () => process.exit(130));
process.on("SIGTERM", () => process.exit(143));

process.exitCode = await main();
