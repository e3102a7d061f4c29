// Starts the fake Google and the gateway on free loopback ports with a fresh temporary data directory,
// and stops both (and removes the directory) afterwards. The binaries come from `cargo build --bin
// gcli2api --example fake_google_server` in $CARGO_TARGET_DIR (default: <repo>/target).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const TARGET_DIR = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(REPO_ROOT, 'target');
const GATEWAY_BIN = join(TARGET_DIR, 'debug', 'gcli2api');
const FAKE_BIN = join(TARGET_DIR, 'debug', 'examples', 'fake_google_server');
const STARTUP_TIMEOUT_MS = 20000;

// Every child ever started, so an aborted run still leaves no server behind.
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

function launch(bin, args, env, logPath) {
  if (!existsSync(bin)) {
    throw new Error(`${bin} is missing: run cargo build --bin gcli2api --example fake_google_server`);
  }
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const keep = (chunk) => {
    output += chunk.toString();
    writeFileSync(logPath, output);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('exit', () => running.delete(child));
  return { child, output: () => output };
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function waitFor(description, probe, process_) {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (process_.child.exitCode !== null) {
      throw new Error(`${description}: the process exited (${process_.child.exitCode}):\n${process_.output()}`);
    }
    if (Date.now() > deadline) throw new Error(`${description}: not ready after ${STARTUP_TIMEOUT_MS} ms:\n${process_.output()}`);
    await sleep(100);
  }
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

  const fakeArgs = ['--host', '127.0.0.1', '--port', '0'];
  // OAuth codes the fake's token endpoint exchanges: {code: refreshToken}.
  for (const [code, refreshToken] of Object.entries(options.authCodes || {})) fakeArgs.push('--auth-code', `${code}=${refreshToken}`);
  // The fake's /__fake/ control API, for tests that script Google's answers.
  if (options.fakeControl) fakeArgs.push('--control');
  const fake = launch(FAKE_BIN, fakeArgs, baseEnv, join(dir, 'fake.out'));
  let gateway;
  try {
    const fakeUrl = await waitFor('fake Google', async () => {
      const m = /listening on (http:\/\/\S+)/.exec(fake.output());
      return m && m[1];
    }, fake);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    gateway = launch(GATEWAY_BIN, [], {
      ...baseEnv,
      HOST: '127.0.0.1',
      PORT: String(port),
      PASSWORD: password,
      CREDENTIALS_DIR: credsDir,
      LOG_FILE: join(dir, 'log.txt'),
      LOG_LEVEL: 'info',
      CODE_ASSIST_ENDPOINT: fakeUrl,
      OAUTH_PROXY_URL: fakeUrl,
      GOOGLEAPIS_PROXY_URL: fakeUrl,
      RESOURCE_MANAGER_API_URL: fakeUrl,
      SERVICE_USAGE_API_URL: fakeUrl,
      ...(options.env || {}),
    }, join(dir, 'gateway.out'));
    await waitFor('gateway', async () => (await fetch(`${url}/static/style.css`)).ok, gateway);

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
      gatewayOutput: () => gateway.output(),
      logFile: () => (existsSync(join(dir, 'log.txt')) ? readFileSync(join(dir, 'log.txt'), 'utf8') : ''),
      async stop() {
        await stopChild(gateway.child);
        await stopChild(fake.child);
        if (process.env.E2E_KEEP_TMP !== '1') rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (gateway) await stopChild(gateway.child);
    await stopChild(fake.child);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
