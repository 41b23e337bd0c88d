import StripeLatest from 'stripe-latest';

/**
 * The newest stripe-node (devDependency alias `stripe-latest`) pointed at a Payrail, pinned to
 * Payrail's API version as an integration written against Payrail would be.
 */
export function latestStripeClient(url: string, secret_key: string): StripeLatest {
  const { hostname, port } = new URL(url);
  const options = { apiVersion: '2023-08-16', host: hostname, port: Number(port), protocol: 'http', maxNetworkRetries: 0, telemetry: false } as const;
  return new StripeLatest(secret_key, options as unknown as ConstructorParameters<typeof StripeLatest>[1]);
}
