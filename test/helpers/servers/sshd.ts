import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findExecutable,
  isExecutable,
  onProcessExit,
  runToEnd,
  spawnServer,
  waitUntilReady,
  withFreshPort,
  sharedServer,
} from './server-process.ts';

export interface TestSshd {
  readonly host: string;
  readonly port: number;
  /** A user limited to chrooted internal-sftp, key authentication only. */
  readonly username: string;
  /** The user's ed25519 private key (OpenSSH format, no passphrase). */
  readonly privateKey: Buffer;
  /** The same key as a 0600 file, for command-line clients (`sftp -i`). */
  readonly privateKeyPath: string;
  /** The server's host key as an OpenSSH public-key line (`ssh-ed25519 AAAA… comment`); field 2 is the base64 blob a hostVerifier compares. */
  readonly hostPublicKey: string;
  /** The directory the user may write to, as the client sees it. */
  readonly remoteDir: string;
  /** The same directory on this machine's disk (inside the chroot), to check what a client uploaded. */
  readonly root: string;
  /** Stops sshd and deletes its files and the chroot; the next `startSshd()` starts a new one. */
  stop(): Promise<void>;
}

const sshdBinary = '/usr/sbin/sshd';
const username = 'koppelsftp';
const shared = sharedServer(start);

/**
 * A private OpenSSH sshd for this test process serving SFTP only, shared by every suite that asks
 * (started once, stopped at process exit); suites use their own sub-folder of `remoteDir`.
 * `null` unless running as root (sshd, the chroot and the system user need it) with sshd installed.
 */
export function startSshd(): Promise<TestSshd | null> {
  return shared.get();
}

async function start(): Promise<TestSshd | null> {
  const keygen = findExecutable('ssh-keygen');
  if (process.getuid?.() !== 0 || !isExecutable(sshdBinary) || keygen === null) return null;
  ensureUser();
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  // sshd reads AuthorizedKeysFile as the user, so the run directory must be traversable by it.
  const runDir = mkdtempSync(join(tmpdir(), 'koppel-sshd-'));
  chmodSync(runDir, 0o755);
  // A chroot must be root-owned with no path component writable by others: /srv, never /tmp.
  mkdirSync('/srv', { recursive: true });
  const chroot = mkdtempSync('/srv/koppel-sftp-');
  chmodSync(chroot, 0o755);
  const upload = join(chroot, 'upload');
  const removeDirs = () => {
    rmSync(runDir, { recursive: true, force: true });
    rmSync(chroot, { recursive: true, force: true });
  };
  try {
    mkdirSync(upload, { mode: 0o755 });
    const { uid, gid } = userIds();
    chownSync(upload, uid, gid);
    const hostKey = join(runDir, 'host_ed25519');
    const clientKey = join(runDir, 'client_ed25519');
    await runToEnd(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'koppel-test-host', '-f', hostKey]);
    await runToEnd(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'koppel-test-client', '-f', clientKey]);
    const authorizedKeys = join(runDir, 'authorized_keys');
    writeFileSync(authorizedKeys, readFileSync(`${clientKey}.pub`), { mode: 0o644 });

    return await withFreshPort(async (port) => {
      const config = join(runDir, 'sshd_config');
      writeFileSync(config, sshdConfig({ port, hostKey, authorizedKeys, chroot }));
      await runToEnd(sshdBinary, ['-t', '-f', config]);
      const server = spawnServer(sshdBinary, ['-D', '-e', '-f', config], {
        logFile: join(runDir, 'sshd.log'),
      });
      const unregister = onProcessExit(() => {
        server.child.kill('SIGKILL');
        removeDirs();
      });
      await waitUntilReady(server, 'sshd', () => hasSshBanner(port)).catch((error: unknown) => {
        unregister();
        throw error;
      });
      return {
        host: '127.0.0.1',
        port,
        username,
        privateKey: readFileSync(clientKey),
        privateKeyPath: clientKey,
        hostPublicKey: readFileSync(`${hostKey}.pub`, 'utf8').trim(),
        remoteDir: '/upload',
        root: upload,
        async stop() {
          shared.forget();
          server.child.kill('SIGTERM');
          await server.exited;
          unregister();
          removeDirs();
        },
      };
    });
  } catch (error) {
    removeDirs();
    throw error;
  }
}

function sshdConfig(o: { port: number; hostKey: string; authorizedKeys: string; chroot: string }): string {
  return `Port ${o.port}
ListenAddress 127.0.0.1
HostKey ${o.hostKey}
PidFile none
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile ${o.authorizedKeys}
# The key files live under world-writable /tmp.
StrictModes no
AllowUsers ${username}
Subsystem sftp internal-sftp
Match User ${username}
  ForceCommand internal-sftp
  ChrootDirectory ${o.chroot}
  AllowTcpForwarding no
  X11Forwarding no
  PermitTTY no
`;
}

function ensureUser(): void {
  try {
    userIds();
  } catch {
    // `-p '*'`: the default `!` counts as a locked account under `UsePAM no`, and sshd then refuses even keys.
    // useradd exits 9 when a parallel test process created the user first.
    try {
      execFileSync(
        'useradd',
        [
          '--system',
          '--no-create-home',
          '--home-dir',
          '/upload',
          '--shell',
          '/usr/sbin/nologin',
          '-p',
          '*',
          username,
        ],
        {
          stdio: 'pipe',
        },
      );
    } catch (error) {
      if ((error as { status?: number }).status !== 9) throw error;
    }
  }
}

function userIds(): { uid: number; gid: number } {
  const id = (flag: string) =>
    Number(execFileSync('id', [flag, username], { encoding: 'utf8', stdio: 'pipe' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function hasSshBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let banner = '';
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('data', (chunk) => {
      banner += chunk.toString();
      if (banner.includes('\n')) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(banner.startsWith('SSH-2.0-')));
  });
}
