import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestPlatform } from '../support/platform.js';
import { startTestPlatform } from '../support/platform.js';

/** How /js/v3 is served: one script for any origin, framable frame pages, nothing else from the folder. */

let t: TestPlatform;
beforeAll(async () => {
  t = await startTestPlatform();
});
afterAll(async () => {
  await t?.stop();
});

describe('Payrail.js serving', () => {
  it('serves the library as one script any origin may load, without an API key', async () => {
    const response = await fetch(`${t.url}/js/v3`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/javascript; charset=utf-8');
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(response.headers.get('cache-control')).toBe('public, max-age=300');
    const body = await response.text();
    // The four parts, joined inside one function scope that defines window.Stripe.
    expect(body.startsWith('/* Payrail.js v3 */\n(function () {')).toBe(true);
    for (const name of ['function FrameChannel', 'function PayrailElement', 'function showChallenge', 'window.Stripe = Stripe']) expect(body).toContain(name);
    expect(await (await fetch(`${t.url}/js/v3/`)).text()).toBe(body);
  });

  it('lets any page frame the frame pages, which run only Payrail’s scripts', async () => {
    for (const page of ['card-frame.html', 'controller.html', 'three-d-secure.html']) {
      const response = await fetch(`${t.url}/js/v3/${page}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('x-frame-options')).toBeNull();
      expect(response.headers.get('content-security-policy')).toContain('frame-ancestors *');
      expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await response.text()).not.toMatch(/<script>(?!<\/script>)/);
    }
  });

  it('serves nothing else: unknown names, the library’s parts and paths out of the folder are 404', async () => {
    for (const path of ['/js/v3/nothing.js', '/js/v3/lib%2Fcore.js', '/js/v3/..%2F..%2Fpackage.json', '/js/v3/lib/core.js', '/js/v2']) {
      expect((await fetch(`${t.url}${path}`)).status, path).toBe(404);
    }
  });

  it('keeps the hosted Checkout page unframable, uncached and to its own script', async () => {
    const response = await fetch(`${t.url}/c/pay/cs_test_anything`);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  });
});
