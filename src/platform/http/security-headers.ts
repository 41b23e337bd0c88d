/**
 * Headers every API response carries. The API answers JSON to programs, never pages to browsers, so
 * nothing may be cached (answers hold payment data), sniffed into HTML, framed, or loaded as a
 * resource. Four fixed headers: @fastify/helmet would add a dependency and defaults meant for pages.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};
