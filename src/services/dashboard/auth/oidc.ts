import * as client from 'openid-client';

/**
 * Sign-in through an external OpenID Connect provider (PAYRAIL_DASHBOARD_OIDC_*), with the
 * `openid-client` package: authorization code flow with PKCE, state and nonce. The provider vouches
 * for an email; the dashboard user with that email (invited beforehand) is signed in: no account is
 * ever created from a provider's say-so.
 */
export interface OidcSettings {
  issuer: string;
  client_id: string;
  client_secret: string;
  /** This server's callback as the provider knows it: …/dashboard/api/auth/oidc/callback */
  redirect_url: string;
}

/** The provider PAYRAIL_DASHBOARD_OIDC_{ISSUER,CLIENT_ID,CLIENT_SECRET,REDIRECT_URL} name; off unless all four are set. */
export function dashboardOidcSettings(env: NodeJS.ProcessEnv): OidcSettings | undefined {
  const issuer = env.PAYRAIL_DASHBOARD_OIDC_ISSUER;
  const client_id = env.PAYRAIL_DASHBOARD_OIDC_CLIENT_ID;
  const client_secret = env.PAYRAIL_DASHBOARD_OIDC_CLIENT_SECRET;
  const redirect_url = env.PAYRAIL_DASHBOARD_OIDC_REDIRECT_URL;
  if (!issuer || !client_id || !client_secret || !redirect_url) return undefined;
  return { issuer, client_id, client_secret, redirect_url };
}

/** What the browser keeps (in an HttpOnly cookie) between the start and the callback. */
export interface OidcFlow {
  state: string;
  nonce: string;
  code_verifier: string;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export class OidcSignIn {
  private configuration: Promise<client.Configuration> | undefined;

  constructor(private readonly settings: OidcSettings) {}

  /** The provider's metadata, fetched once; a failed fetch is retried on the next sign-in. */
  private provider(): Promise<client.Configuration> {
    this.configuration ??= (async () => {
      const issuer = new URL(this.settings.issuer);
      // Plain HTTP only to a provider on this machine (development, tests); anything else must be HTTPS.
      const insecure = issuer.protocol === 'http:' && LOOPBACK_HOSTS.has(issuer.hostname);
      return client.discovery(
        issuer,
        this.settings.client_id,
        this.settings.client_secret,
        undefined,
        insecure ? { execute: [client.allowInsecureRequests] } : {},
      );
    })().catch((error: unknown) => {
      this.configuration = undefined;
      throw error;
    });
    return this.configuration;
  }

  async start(): Promise<{ url: string; flow: OidcFlow }> {
    const flow = { state: client.randomState(), nonce: client.randomNonce(), code_verifier: client.randomPKCECodeVerifier() };
    const url = client.buildAuthorizationUrl(await this.provider(), {
      redirect_uri: this.settings.redirect_url,
      scope: 'openid email',
      code_challenge: await client.calculatePKCECodeChallenge(flow.code_verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    return { url: url.href, flow };
  }

  /**
   * The email the provider vouches for on its redirect back (`query`: the callback's query string),
   * and whether the provider says it verified it. Only `email_verified: true` counts: a provider that
   * leaves it out may hand out whatever address an account typed in, which would sign in its owner.
   */
  async finish(query: string, flow: OidcFlow): Promise<{ email: string; verified: boolean } | undefined> {
    const callback = new URL(this.settings.redirect_url);
    callback.search = query;
    const configuration = await this.provider();
    const tokens = await client.authorizationCodeGrant(configuration, callback, {
      pkceCodeVerifier: flow.code_verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    if (!claims) return undefined;
    // Providers that keep the ID token small answer the email (and its verification) at their userinfo endpoint instead.
    const vouched = typeof claims.email === 'string' && claims.email_verified === true;
    const profile = vouched ? claims : await client.fetchUserInfo(configuration, tokens.access_token, claims.sub);
    if (typeof profile.email !== 'string') return undefined;
    return { email: profile.email, verified: profile.email_verified === true };
  }
}
