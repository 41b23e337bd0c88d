// BENCH_BEFORE=<git ref>: the same bench against an older build in the same run. The ref is checked
// out into a temporary git worktree, given its dependencies and built there; the worktree goes away at
// cleanup, on every path out of the bench.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GIT_TIMEOUT_MS = 60_000;
const NPM_CI_TIMEOUT_MS = 5 * 60_000;
const BUILD_TIMEOUT_MS = 5 * 60_000;
const WORKTREE_REMOVE_TIMEOUT_MS = 60_000;
const OUTPUT_TAIL_CHARS = 4_000;
/** The most BENCH_BEFORE's preparation can take (git, npm ci, build), for the bench's watchdog. */
export const BEFORE_PREPARE_LIMIT_MS = 2 * GIT_TIMEOUT_MS + NPM_CI_TIMEOUT_MS + BUILD_TIMEOUT_MS;

/**
 * Checks `ref` out next to this tree (`root_dir`), installs and builds it. Returns the build as the
 * scenarios use it: { label, suffix, root_dir, commit, dependencies: { how, why }, prepare_s }.
 */
export async function prepareBeforeBuild(ref, { root_dir, cleanup }) {
  const started_ms = performance.now();
  const commit = (
    await runCommand('git', ['rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`], { cwd: root_dir, timeout_ms: GIT_TIMEOUT_MS, cleanup })
  ).trim();
  const tree_dir = mkdtempSync(join(tmpdir(), 'payrail-bench-before-'));
  cleanup.add(`remove worktree ${tree_dir}`, () => removeWorktree(root_dir, tree_dir), WORKTREE_REMOVE_TIMEOUT_MS + GIT_TIMEOUT_MS + 5_000);
  await runCommand('git', ['worktree', 'add', '--detach', tree_dir, commit], { cwd: root_dir, timeout_ms: GIT_TIMEOUT_MS, cleanup });

  const dependencies = chooseDependencies(root_dir, tree_dir);
  if (dependencies.how === 'symlink') {
    symlinkSync(join(root_dir, 'node_modules'), join(tree_dir, 'node_modules'), 'dir');
  } else {
    await runCommand('npm', ['ci', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: tree_dir,
      timeout_ms: NPM_CI_TIMEOUT_MS,
      cleanup,
    });
  }
  // What `npx tsc -p tsconfig.json` runs there, without npx's option parsing (its -p is --package).
  await runCommand(process.execPath, [join(tree_dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
    cwd: tree_dir,
    timeout_ms: BUILD_TIMEOUT_MS,
    cleanup,
  });
  return {
    label: `before (${ref} = ${commit.slice(0, 9)})`,
    suffix: '_before',
    root_dir: tree_dir,
    commit,
    dependencies,
    prepare_s: (performance.now() - started_ms) / 1000,
  };
}

/**
 * This tree's node_modules is reused only when the lockfiles are byte for byte the same: then it holds
 * exactly what `npm ci` would install there. Any difference (a package added, removed or at another
 * version or place in the tree) can change what the older code loads, so it gets its own `npm ci`.
 * Scripts are skipped (--ignore-scripts): the build is run explicitly, and the only install scripts
 * (esbuild's, the embedded PostgreSQL binaries') serve tools the bench does not use from that tree.
 */
function chooseDependencies(root_dir, tree_dir) {
  const here = readFileSync(join(root_dir, 'package-lock.json'));
  const there = readFileSync(join(tree_dir, 'package-lock.json'));
  if (here.equals(there) && existsSync(join(root_dir, 'node_modules'))) {
    return { how: 'symlink', why: "identical package-lock.json: this tree's node_modules is what npm ci would install" };
  }
  const difference = lockfileDifference(JSON.parse(there.toString('utf8')), JSON.parse(here.toString('utf8')));
  return { how: 'npm ci', why: `package-lock.json differs from this tree's (${difference}), so its own install` };
}

/** Counts how the installed packages of two lockfiles differ (path → version), for the report. */
function lockfileDifference(before, after) {
  const versions = (lock) =>
    new Map(
      Object.entries(lock.packages ?? {})
        .filter(([path]) => path !== '')
        .map(([path, entry]) => [path, entry.version]),
    );
  const old_versions = versions(before);
  const new_versions = versions(after);
  let added = 0;
  let changed = 0;
  for (const [path, version] of new_versions) {
    if (!old_versions.has(path)) added += 1;
    else if (old_versions.get(path) !== version) changed += 1;
  }
  const removed = [...old_versions.keys()].filter((path) => !new_versions.has(path)).length;
  return `this tree has ${added} packages more, ${removed} fewer, ${changed} at another version`;
}

/** Removes the worktree and git's record of it; the node_modules link goes first, never its target. */
async function removeWorktree(root_dir, tree_dir) {
  const link = join(tree_dir, 'node_modules');
  try {
    unlinkSync(link); // a symlink is unlinked; a real directory (npm ci) refuses and stays for git to remove
  } catch {
    // not a link, or not there
  }
  try {
    await runCommand('git', ['worktree', 'remove', '--force', tree_dir], { cwd: root_dir, timeout_ms: WORKTREE_REMOVE_TIMEOUT_MS });
  } finally {
    rmSync(tree_dir, { recursive: true, force: true });
    await runCommand('git', ['worktree', 'prune'], { cwd: root_dir, timeout_ms: GIT_TIMEOUT_MS });
  }
}

/**
 * Runs a command in its own process group, resolving with its stdout; fails with the tail of its
 * output on a non-zero exit, and kills the group after `timeout_ms` or, given `cleanup`, when the bench
 * is cleaned up first.
 */
function runCommand(command, args, { cwd, timeout_ms, cleanup }) {
  const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const killGroup = () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
  };
  cleanup?.add(`stop ${command} ${args[0]}`, killGroup);
  let stdout = '';
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    stdout += chunk;
    output = (output + chunk).slice(-OUTPUT_TAIL_CHARS);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    output = (output + chunk).slice(-OUTPUT_TAIL_CHARS);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(killGroup, timeout_ms);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else
        reject(
          new Error(
            `${command} ${args.join(' ')} in ${cwd} failed (${signal ?? `exit ${code}`}${signal === 'SIGKILL' ? `, limit ${timeout_ms} ms` : ''}):\n${output}`,
          ),
        );
    });
  });
}
