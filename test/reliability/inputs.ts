// Tally of the inputs a reliability test file tried and the faults it injected, printed when
// the file ends, so a run reports its figures next to pass/fail.
const inputs = new Map<string, number>();
const faults = new Map<string, number>();

/** Inputs tried: generated packets, byte strings, connections. */
export function countInputs(what: string, n: number): void {
  inputs.set(what, (inputs.get(what) ?? 0) + n);
}

/** Faults injected: kills, mutations, floods, partial packets, refused connections. */
export function countFaults(what: string, n: number): void {
  faults.set(what, (faults.get(what) ?? 0) + n);
}

function line(m: Map<string, number>): [number, string] {
  let total = 0;
  const parts: string[] = [];
  for (const [k, v] of m) {
    total += v;
    parts.push(`${k}: ${v}`);
  }
  return [total, parts.join(", ")];
}

/** Prints "[reliability] <title>: N inputs tried (...); M faults injected (...)". */
export function reportInputs(title: string): void {
  const [ni, pi] = line(inputs);
  const [nf, pf] = line(faults);
  console.log(`[reliability] ${title}: ${ni} inputs tried${ni ? ` (${pi})` : ""}; ${nf} faults injected${nf ? ` (${pf})` : ""}`);
}
