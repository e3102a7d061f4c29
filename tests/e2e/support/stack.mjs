// Starts the fake Google and the gateway through the repository's one launcher (examples/dev_stack.rs:
// both bind ports the system picks, and it prints their URLs as one JSON line) with a fresh temporary
// data directory, and stops both (and removes the directory) afterwards. The binaries come from
// `cargo build --bin gcli2api --example dev_stack` in $CARGO_TARGET_DIR (default: <repo>/target).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const TARGET_DIR = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(REPO_ROOT, 'target');
const GATEWAY_BIN = join(TARGET_DIR, 'debug', 'gcli2api');
const LAUNCHER_BIN = join(TARGET_DIR, 'debug', 'examples', 'dev_stack');
const STARTUP_TIMEOUT_S = 20;

// Every launcher ever started, so an aborted run still leaves no server behind: each one leads its
// own process group (`detached`), which holds the gateway too.
const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch (_) {
      /* already gone */
    }
  }
});

/** Starts the launcher; resolves with its JSON line ({gateway, google, pid, dir}) once the gateway is ready. */
function launch(args, env, errPath) {
  for (const bin of [LAUNCHER_BIN, GATEWAY_BIN]) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run cargo build --bin gcli2api --example dev_stack`);
  }
  // stdin stays open: closing it is the launcher's cue to stop the gateway and the fake.
  const child = spawn(LAUNCHER_BIN, ['--gateway-bin', GATEWAY_BIN, '--timeout-secs', String(STARTUP_TIMEOUT_S), ...args], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  running.add(child);
  child.on('exit', () => running.delete(child));
  let errors = '';
  child.stderr.on('data', (chunk) => {
    errors += chunk.toString();
    writeFileSync(errPath, errors);
  });
  const lines = createInterface({ input: child.stdout });
  const ready = new Promise((resolveLine, reject) => {
    lines.once('line', (line) => resolveLine(JSON.parse(line)));
    child.once('exit', (code) => reject(new Error(`the stack did not start (${code}):\n${errors}`)));
  });
  return { child, ready };
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.stdin.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
  await exited;
  clearTimeout(timer);
}

/** A credential file as the fake Google accepts it (any refresh token works). */
export function credentialJson(name) {
  return JSON.stringify({ client_id: 'test-client.apps.googleusercontent.com', client_secret: 'test-secret', refresh_token: `rt-${name}`, project_id: `px-${name}` });
}

/**
 * startStack({credentials: {'a.json': '{...}'}, password, authCodes: {code: refreshToken}, env, fakeControl}) → {url, fakeUrl, password, dir, api(), control(), stop()}.
 * The gateway gets a minimal environment so storage or credential variables of the calling shell
 * (REDIS_URI, GCLI_CREDS_*, ...) cannot leak into it.
 */
export async function startStack(options = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gcli2api-e2e-'));
  const credsDir = join(dir, 'creds');
  mkdirSync(credsDir);
  for (const [name, body] of Object.entries(options.credentials || {})) writeFileSync(join(credsDir, name), body);
  const password = options.password || 'e2e-panel-password';
  const baseEnv = { PATH: process.env.PATH || '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8' };

  const args = ['--dir', dir];
  // OAuth codes the fake's token endpoint exchanges: {code: refreshToken}.
  for (const [code, refreshToken] of Object.entries(options.authCodes || {})) args.push('--auth-code', `${code}=${refreshToken}`);
  // The fake's /__fake/ control API, for tests that script Google's answers.
  if (options.fakeControl) args.push('--control');
  // The panel must come up without usable credentials too: the process answering is enough.
  args.push('--ready-path', '/healthz');
  const gatewayEnv = {
    PASSWORD: password,
    CREDENTIALS_DIR: credsDir,
    LOG_FILE: join(dir, 'log.txt'),
    LOG_LEVEL: 'info',
    ...(options.env || {}),
  };
  // An undefined value leaves the variable out, as it would of a spawned process's environment.
  for (const [key, value] of Object.entries(gatewayEnv)) if (value !== undefined) args.push('--env', `${key}=${value}`);
  const stack = launch(args, baseEnv, join(dir, 'launcher.err'));
  try {
    const { gateway: url, google: fakeUrl } = await stack.ready;

    const api = async (method, path, body, token = password) => {
      const response = await fetch(url + path, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      let json = null;
      try {
        json = JSON.parse(text);
      } catch (_) {
        /* not JSON */
      }
      return { status: response.status, json, text };
    };

    // The fake's /__fake/ control API (started with fakeControl): POST `path` with a JSON body.
    const control = async (path, body) => {
      const response = await fetch(`${fakeUrl}/__fake/${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, text: await response.text() };
    };

    return {
      url,
      fakeUrl,
      password,
      dir,
      api,
      control,
      gatewayOutput: () => (existsSync(join(dir, 'gateway.out')) ? readFileSync(join(dir, 'gateway.out'), 'utf8') : ''),
      logFile: () => (existsSync(join(dir, 'log.txt')) ? readFileSync(join(dir, 'log.txt'), 'utf8') : ''),
      async stop() {
        await stopChild(stack.child);
        if (process.env.E2E_KEEP_TMP !== '1') rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopChild(stack.child);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
