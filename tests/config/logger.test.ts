import { describe, expect, it } from 'vitest';
import { redactString, registerSecret } from '../../lib/logger.ts';

describe('log redaction', () => {
  it('hides registered secrets wherever they appear, and any connection-string password', () => {
    registerSecret('sk_test_abc123XYZ');
    expect(redactString('calling Stripe with sk_test_abc123XYZ failed')).toBe('calling Stripe with [redacted] failed');
    expect(redactString('postgres://app:s3cr3t@db:5432/shop')).toBe('postgres://app:[redacted]@db:5432/shop');
    expect(redactString('nothing to hide')).toBe('nothing to hide');
  });
});
