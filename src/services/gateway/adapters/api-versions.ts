import { PayrailError } from '../../../kernel/errors.js';
import { API_VERSION } from '../../events/index.js';

/**
 * `Stripe-Version`: Payrail answers in its API version's shape (2023-08-16) and says so in the
 * response header. Stripe's versions from 2019-02-11 (PaymentIntents' current shape) to 2022-08-01
 * are answered in their own shape where it differs in what Payrail serves (the payments service
 * renders it: the `charges` list on PaymentIntents until 2022-11-15, the customer's lists until
 * 2020-08-27). Versions newer than Payrail's are answered in Payrail's shape, so newer SDKs work.
 * Anything else is refused, as Stripe refuses a version it does not have.
 */

/** Stripe's versions Payrail renders in their own shape, oldest first. */
export const LEGACY_VERSIONS = [
  '2019-02-11',
  '2019-02-19',
  '2019-03-14',
  '2019-05-16',
  '2019-08-14',
  '2019-09-09',
  '2019-10-08',
  '2019-10-17',
  '2019-11-05',
  '2019-12-03',
  '2020-03-02',
  '2020-08-27',
  '2022-08-01',
] as const;

/** Answered in Payrail's shape, which differs from theirs only where Payrail has nothing to render. */
const CLOSE_TO_CURRENT = ['2022-11-15', API_VERSION] as const;

const OLDEST_SUPPORTED = LEGACY_VERSIONS[0];
/** `YYYY-MM-DD`, or `YYYY-MM-DD.name` for Stripe's named releases since 2024. */
const VERSION_SHAPE = /^(\d{4})-(\d{2})-(\d{2})(?:\.([a-z]+))?$/;

/** The version the response is rendered in (and echoed as `Stripe-Version`) for a request's header. */
export function answeredVersion(requested: string | undefined): string {
  if (requested === undefined) return API_VERSION;
  const version = requested.trim();
  if ((LEGACY_VERSIONS as readonly string[]).includes(version)) return version;
  if ((CLOSE_TO_CURRENT as readonly string[]).includes(version)) return API_VERSION;
  const match = VERSION_SHAPE.exec(version);
  const date = match ? `${match[1]}-${match[2]}-${match[3]}` : undefined;
  if (!date || !isCalendarDate(date)) throw invalid(version);
  if (date > API_VERSION) return API_VERSION;
  if (date < OLDEST_SUPPORTED) {
    throw new PayrailError('api_version_unsupported', {
      message: `Stripe API version ${version} predates PaymentIntents' current shape; Payrail answers versions from ${OLDEST_SUPPORTED} on. Send Stripe-Version: ${API_VERSION}.`,
    });
  }
  // A date between Stripe's releases names no version.
  throw invalid(version);
}

function invalid(version: string): PayrailError {
  // Echoed only when it looks like a version: a header may carry anything.
  const shown = /^[\w.-]{1,40}$/.test(version) ? version : 'the value sent';
  return new PayrailError('api_version_invalid', { message: `Invalid Stripe API version: ${shown}` });
}

function isCalendarDate(date: string): boolean {
  const parsed = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(date);
}
