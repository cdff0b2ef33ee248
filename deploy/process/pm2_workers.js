// Run on a host (node, no files of ours there): pm2's workers, read through pm2's own programmatic
// API from one process for a whole health gate, instead of one `pm2 jlist` (a CLI start, ~0.3 s
// of CPU) per poll.
//
// deploy.process.pm2 sends this file's text as `env PM2_HOME=... node -e <text> PM2_BIN`:
// require('pm2') is resolved from the configured pm2 binary's own install (its realpath, so
// node_modules/.bin/pm2 and a global install both work), connects to the daemon of PM2_HOME
// (starting it, as `pm2 jlist` would, when none runs), then answers every line read on stdin with
// one line on stdout:
//
//     @@deploy-pm2-workers@@ [{"name", "pm_id", "pid", "pm2_env": {"status", "exec_mode",
//                              "restart_time", "pm_uptime"}, "cwd"}, ...]
//
// - pm2.list() (the daemon's getMonitorData, what `pm2 jlist` prints), trimmed to what the gate
// reads, and each pid's working folder from /proc (the kernel's view, resolved at the worker's
// start). Every answer is a new question to the daemon: nothing is cached. When stdin ends it
// disconnects and exits 0; a failed connect or list exits 1 with the reason on stderr.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');

const MARK = '@@deploy-pm2-workers@@';

function which(bin) {
  if (bin.includes('/')) return bin;
  for (const dir of (process.env.PATH || '').split(':')) {
    const full = path.join(dir || '.', bin);
    try {
      fs.accessSync(full, fs.constants.X_OK);
      return full;
    } catch (e) { /* next */ }
  }
  throw new Error(`${bin}: not found on PATH`);
}

function cwdOf(pid) {
  if (!pid) return null;
  try {
    return fs.readlinkSync(`/proc/${pid}/cwd`);
  } catch (e) {
    return null;
  }
}

function fail(why) {
  process.stderr.write(`pm2 workers helper: ${why}\n`);
  process.exit(1);
}

let pm2;
try {
  const bin = fs.realpathSync(which(process.argv[1] || 'pm2'));
  pm2 = require(require.resolve('pm2', { paths: [path.dirname(bin)] }));
} catch (e) {
  fail(e.message || String(e));
}
// require('pm2') marks the process PM2_PROGRAMMATIC (its messages silenced); a daemon that connect
// has to start (none runs: as `pm2 jlist` would) inherits this environment, so start it as the
// CLI does. Lines pm2 then prints before an answer are not answers (no MARK): the reader skips them.
delete process.env.PM2_PROGRAMMATIC;

pm2.connect((err) => {
  if (err) fail(`connect: ${err.message || err}`);
  const input = readline.createInterface({ input: process.stdin });
  const asked = [];
  let busy = false;
  let closed = false;
  const next = () => {
    if (busy) return;
    if (!asked.length) {
      if (closed) pm2.disconnect(() => process.exit(0));
      return;
    }
    asked.shift();
    busy = true;
    pm2.list((error, list) => {
      if (error) fail(`list: ${error.message || error}`);
      const workers = list.map((p) => {
        const env = p.pm2_env || {};
        return { name: p.name, pm_id: p.pm_id, pid: p.pid,
                 pm2_env: { status: env.status, exec_mode: env.exec_mode,
                            restart_time: env.restart_time, pm_uptime: env.pm_uptime },
                 cwd: cwdOf(p.pid) };
      });
      process.stdout.write(`${MARK} ${JSON.stringify(workers)}\n`);
      busy = false;
      next();
    });
  };
  input.on('line', () => { asked.push(1); next(); });
  input.on('close', () => { closed = true; next(); });
});
