import { ipCountry } from '../adapters/ip-country.js';
import type { Random } from './random.js';

/**
 * Addresses that the scorer's own geolocation places in a given country, so synthetic customers and
 * fraudsters come from where the story says. Built by probing one address in each /16 with the same
 * lookup the scorer uses (65,536 lookups, a few milliseconds).
 */
const MAX_TRIES = 64;
const CARRIER_ADDRESSES_PER_COUNTRY = 3;

export class IpSampler {
  private readonly blocks = new Map<string, number[]>();
  private readonly carrier_pools = new Map<string, string[]>();

  constructor() {
    for (let block = 0; block < 65_536; block += 1) {
      const country = ipCountry(`${block >>> 8}.${block & 255}.128.1`);
      if (country === null) continue;
      const list = this.blocks.get(country) ?? [];
      list.push(block);
      this.blocks.set(country, list);
    }
  }

  /**
   * One of the few addresses a country's mobile carrier puts many customers behind (carrier-grade
   * NAT): honest traffic where many cards share an address.
   */
  shared(country: string, random: Random): string | null {
    let pool = this.carrier_pools.get(country);
    if (pool === undefined) {
      pool = Array.from({ length: CARRIER_ADDRESSES_PER_COUNTRY }, () => this.sample(country, random)).filter((ip): ip is string => ip !== null);
      this.carrier_pools.set(country, pool);
    }
    return pool.length === 0 ? null : random.pick(pool);
  }

  /** An IPv4 address in `country` (null when the database has none there). */
  sample(country: string, random: Random): string | null {
    const blocks = this.blocks.get(country);
    if (blocks === undefined) return null;
    for (let attempt = 0; attempt < MAX_TRIES; attempt += 1) {
      const block = random.pick(blocks);
      const address = `${block >>> 8}.${block & 255}.${random.int(256)}.${1 + random.int(254)}`;
      if (ipCountry(address) === country) return address;
    }
    return null;
  }
}
