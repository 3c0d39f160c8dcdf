// Network helpers shared by the tests, benchmarks and measurement tools.
import { createServer } from "node:net";

/**
 * A TCP port free on 127.0.0.1 right now, for a process that cannot listen on port 0 and
 * report its port (mosquitto, the Espruino interpreter, a restarted broker).
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = srv.address().port;
      srv.close(() => resolve(port));
    });
  });
}
