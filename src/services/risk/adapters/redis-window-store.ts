import { Redis } from 'ioredis';
import { AMOUNT_STATS_CAP, MAX_MEMBERS_PER_WINDOW, type AmountStats, type WindowQuery, type WindowStore, type WindowWrite } from '../domain/windows.js';

/**
 * The windows in Redis, shared by every process: each window a sorted set (member → ms), each read and
 * each write one Lua script (one round trip, atomic). The statistics are a hash whose floats are
 * written with 17 significant digits, so they read back as the exact doubles the embedded store holds.
 * Times come from the caller (the scorer's clock), not from Redis, so both stores see the same times.
 */

const READ = `
local q = #KEYS - 1
local out = {}
for i = 1, q do
  local f = {}
  for field in string.gmatch(ARGV[i], '[^\\31]+') do f[#f + 1] = field end
  local kind, member = f[1], f[2]
  local own = nil
  if kind ~= 'count' then own = tonumber(redis.call('ZSCORE', KEYS[i], member)) end
  for w = 3, #f do
    local since = tonumber(f[w])
    if kind == 'score' then
      if own ~= nil and own > since then out[#out + 1] = string.format('%d', own) else out[#out + 1] = '-1' end
    else
      local count = redis.call('ZCOUNT', KEYS[i], '(' .. f[w], '+inf')
      if kind == 'distinct' and (own == nil or own <= since) then count = count + 1 end
      out[#out + 1] = count
    end
  end
end
local stats = redis.call('HMGET', KEYS[q + 1], 'n', 'mean', 'variance')
out[#out + 1] = stats[1] or '0'
out[#out + 1] = stats[2] or '0'
out[#out + 1] = stats[3] or '0'
return table.concat(out, ',')`;

const WRITE = `
local now, max_members, windows = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 1, windows do
  local key, member, ttl, keep_first = KEYS[i], ARGV[4 * i], tonumber(ARGV[4 * i + 1]), ARGV[4 * i + 2]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - ttl)
  if keep_first == '1' then redis.call('ZADD', key, 'NX', now, member) else redis.call('ZADD', key, now, member) end
  local extra = redis.call('ZCARD', key) - max_members
  if extra > 0 then redis.call('ZREMRANGEBYRANK', key, 0, extra - 1) end
  redis.call('PEXPIRE', key, ttl)
end
if #KEYS > windows then
  local key, x, cap, ttl = KEYS[windows + 1], tonumber(ARGV[4 * windows + 4]), tonumber(ARGV[4 * windows + 5]), ARGV[4 * windows + 6]
  local stored = redis.call('HMGET', key, 'n', 'mean', 'variance')
  local n = math.min((tonumber(stored[1]) or 0) + 1, cap)
  local mean, variance = tonumber(stored[2]) or 0, tonumber(stored[3]) or 0
  local alpha = 1 / n
  local delta = x - mean
  mean = mean + alpha * delta
  variance = (1 - alpha) * (variance + alpha * delta * delta)
  redis.call('HSET', key, 'n', n, 'mean', string.format('%.17g', mean), 'variance', string.format('%.17g', variance))
  redis.call('PEXPIRE', key, ttl)
end
return 0`;

/** Separates a query's fields in its one argument (ASCII unit separator: no key member contains it). */
const FIELD_SEPARATOR = '\x1f';

/** Amount statistics of a merchant that stops selling in a currency are dropped after this. */
const STATS_TTL_MS = 180 * 24 * 3600 * 1000;
/** A command may wait this long before the scorer answers from the embedded store instead (by default). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 200;
const READY_TIMEOUT_MS = 2000;

interface WindowScripts {
  payrailRiskRead(...args: Array<string | number>): Promise<string>;
  payrailRiskWrite(...args: Array<string | number>): Promise<number>;
}

export class RedisWindowStore implements WindowStore {
  private readonly redis: Redis & WindowScripts;

  constructor(url: string, prefix: string, on_error: (error: Error) => void, command_timeout_ms = DEFAULT_COMMAND_TIMEOUT_MS) {
    // No offline queue: while Redis is away a command fails at once and the embedded store answers.
    const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: command_timeout_ms, keyPrefix: prefix });
    redis.defineCommand('payrailRiskRead', { lua: READ });
    redis.defineCommand('payrailRiskWrite', { lua: WRITE });
    redis.on('error', on_error);
    this.redis = redis as Redis & WindowScripts;
  }

  /**
   * Resolves once connected, so the first scores go to Redis rather than to the fallback; rejects
   * after `timeout_ms` (the scorer then starts on the embedded windows and Redis joins when it answers).
   */
  async ready(timeout_ms = READY_TIMEOUT_MS): Promise<void> {
    if (this.redis.status === 'ready') return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis not ready within ${timeout_ms} ms`)), timeout_ms);
        this.redis.once('ready', resolve);
      });
    } finally {
      clearTimeout(timer);
    }
  }

  async read(queries: readonly WindowQuery[], stats_key: string): Promise<{ values: number[]; stats: AmountStats }> {
    // One argument per query and one string back: far fewer protocol items to encode and parse.
    const args: Array<string | number> = [queries.length + 1];
    for (const query of queries) args.push(query.key);
    args.push(stats_key);
    for (const query of queries) args.push([query.kind, query.kind === 'count' ? '-' : query.member, ...query.since_ms].join(FIELD_SEPARATOR));
    const reply = (await this.redis.payrailRiskRead(...args)).split(',').map(Number);
    const values = reply.slice(0, -3);
    const [n, mean, variance] = reply.slice(-3);
    return { values, stats: { n: n ?? 0, mean: mean ?? 0, variance: variance ?? 0 } };
  }

  async write(writes: readonly WindowWrite[], now_ms: number, amount: { stats_key: string; x: number } | null): Promise<void> {
    const keys = writes.map((write) => write.key);
    const args: Array<string | number> = [now_ms, MAX_MEMBERS_PER_WINDOW, writes.length];
    for (const write of writes) args.push(write.member, write.ttl_ms, write.keep_first ? '1' : '0', '');
    if (amount !== null) {
      keys.push(amount.stats_key);
      args.push(amount.x, AMOUNT_STATS_CAP, STATS_TTL_MS);
    }
    await this.redis.payrailRiskWrite(keys.length, ...keys, ...args);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
