import { describe, expect, it } from 'vitest';
import { connectionProblem } from '../../warehouse/connection.ts';

/**
 * The words a failed connection is given, for failures a test cannot cause on this machine
 * without depending on its network. Those it can cause are in tls.test.ts,
 * database-requirements.test.ts and read-only.test.ts.
 */

describe('a host this machine has no route to', () => {
  it('an IPv6-only host from a machine without IPv6: says so and what to use instead', async () => {
    // What Node raises for it (connect ENETUNREACH); a real attempt would depend on this machine's routes.
    const error = Object.assign(new Error('connect ENETUNREACH 2001:db8::1:5432 - Local (:::0)'), { code: 'ENETUNREACH' });
    expect(connectionProblem(error)).toBe(
      "no route to the host's network from this machine (an IPv6-only host, e.g. a provider's direct connection, from a machine without IPv6): " +
        "use the provider's IPv4 address or its session-mode pooler, or give this machine IPv6 (connect ENETUNREACH 2001:db8::1:5432 - Local (:::0))",
    );
  });
});
