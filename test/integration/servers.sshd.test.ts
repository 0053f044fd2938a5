import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireServer } from '../helpers/servers/require-server.ts';
import { startSshd, type TestSshd } from '../helpers/servers/sshd.ts';

const sftpClient = '/usr/bin/sftp';

describe('test server: sshd (SFTP)', function () {
  const sshd = requireServer('OpenSSH sshd', startSshd);

  it('greets with an SSH-2.0 banner on its loopback port', async function () {
    assert.match(await banner(sshd().port), /^SSH-2\.0-OpenSSH/);
  });

  it('accepts an SFTP upload into the chroot, checked against the host key it reports', async function () {
    if (!existsSync(sftpClient)) this.skip();
    const result = await sftpPut(sshd(), 'id;status\n1;ok\n', `${sshd().remoteDir}/report.csv`);
    assert.equal(result.code, 0, result.output);
    const uploaded = join(sshd().root, 'report.csv');
    assert.equal(readFileSync(uploaded, 'utf8'), 'id;status\n1;ok\n');
    assert.equal(statSync(uploaded).uid, statSync(sshd().root).uid, 'the file belongs to the SFTP user');
  });

  it('refuses a write outside the upload folder', async function () {
    if (!existsSync(sftpClient)) this.skip();
    const result = await sftpPut(sshd(), 'no', '/escape.txt');
    assert.notEqual(result.code, 0);
    assert.match(result.output, /denied/i);
  });
});

function banner(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(chunk.toString());
    });
    socket.once('error', reject);
  });
}

/** Uploads `content` with the system sftp client in batch mode; the host key must match `hostPublicKey`. */
async function sftpPut(
  server: TestSshd,
  content: string,
  remotePath: string,
): Promise<{ code: number | null; output: string }> {
  const work = mkdtempSync(join(tmpdir(), 'koppel-sftp-client-'));
  try {
    const local = join(work, 'upload');
    writeFileSync(local, content);
    const knownHosts = join(work, 'known_hosts');
    writeFileSync(knownHosts, `[${server.host}]:${server.port} ${server.hostPublicKey}\n`);
    const options = ['BatchMode=yes', 'IdentitiesOnly=yes', 'StrictHostKeyChecking=yes'];
    const args = [
      ...['-b', '-', '-F', '/dev/null', '-i', server.privateKeyPath, '-P', String(server.port)],
      ...[...options, `UserKnownHostsFile=${knownHosts}`].flatMap((option) => ['-o', option]),
      `${server.username}@${server.host}`,
    ];
    return await new Promise((resolve, reject) => {
      const child = spawn(sftpClient, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('error', reject);
      child.once('exit', (code) => resolve({ code, output }));
      child.stdin.end(`put ${local} ${remotePath}\n`);
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
