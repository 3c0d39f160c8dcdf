/**
 * A feature that is off is not in the Espruino bundle: its functions, constant tables and texts
 * are gone, not merely unused. Each case builds the ESP32 profile with one feature off, keeping
 * identifiers (the same dead-code removal as the real bundle, names readable), and looks for
 * what only that feature uses; the same build with the feature on must contain it, so a
 * check cannot pass by looking for a name the bundle never had.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { bundleFor, featuresOf, loadProfile, scanBundle } from "../../targets/espruino/build.mjs";

/** What only each feature brings: function names (as declared in src/) and texts. */
const ONLY_WITH: Record<string, RegExp[]> = {
  mqtt31: [/"MQIsdp"/],
  qos2: [/function handlePubrel\d*\(/, /function handlePubrec\d*\(/, /function inboundAdd\d*\(/],
  will: [/function publishWill\d*\(/],
  retained: [/function retainedStore\d*\(/, /function replayPump\d*\(/],
  persistentSessions: [/function resendFlights\d*\(/],
  persistence: [/function snapshotWrite\d*\(/, /function snapshotRestore\d*\(/, /"midge\.snap"/],
  logText: [/function messageText\d*\(/, /function statusReason\d*\(/, /disconnected: /],
  mqtt5: [/function propertyAllowed\d*\(/],
};

const profile = loadProfile("esp32");
const base = featuresOf(profile);
let all = "";

beforeAll(async () => {
  const on: Record<string, boolean> = { ...base };
  for (const name of Object.keys(on)) if (name !== "bridge") on[name] = true;
  all = (await bundleFor(profile, undefined, on, { names: true })).code;
}, 60000);

describe("Espruino bundles leave out what a feature that is off would bring", () => {
  for (const name of Object.keys(ONLY_WITH)) {
    test(`${name} off: ${ONLY_WITH[name].map(String).join(", ")} absent (present with it on)`, async () => {
      for (const re of ONLY_WITH[name]) expect(all, `${re} with every feature on`).toMatch(re);
      const features: Record<string, boolean> = { ...base };
      for (const n of Object.keys(features)) if (n !== "bridge") features[n] = true;
      features[name] = false;
      const { code } = await bundleFor(profile, undefined, features, { names: true });
      for (const re of ONLY_WITH[name]) expect(code, String(re)).not.toMatch(re);
      expect(scanBundle(code)).toEqual([]);
    }, 60000);
  }

  test("sys: the Espruino target publishes no $SYS (its boards say sys off)", () => {
    expect(base.sys).toBe(false);
    expect(all).not.toMatch(/\$SYS\/broker\/uptime/);
  });
});
