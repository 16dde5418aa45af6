import { describe, expect, it } from 'vitest';
import { isLoopbackSmtpHost, smtpTransportOptions } from '../../scheduler/smtp-transport.ts';

/**
 * Report e-mails never send an SMTP password unencrypted to another machine: smtp:// to any
 * host but this machine's requires STARTTLS (nodemailer's requireTLS); smtps:// is TLS from the
 * first byte; a server on loopback is a trusted local relay.
 */
describe('smtpTransportOptions', () => {
  it('requires STARTTLS for smtp:// to another machine, not for smtps:// nor for this machine', () => {
    expect(smtpTransportOptions('smtp://apikey:S3cret@smtp.example.com:587')).toEqual({
      secure: false, port: 587, host: 'smtp.example.com', auth: { user: 'apikey', pass: 'S3cret' }, requireTLS: true,
    });
    expect(smtpTransportOptions('smtps://apikey:S3cret@smtp.example.com:465')).toMatchObject({ secure: true, port: 465, host: 'smtp.example.com', requireTLS: false });
    for (const url of ['smtp://u:p@127.0.0.1:25', 'smtp://u:p@127.3.4.5:2525', 'smtp://u:p@localhost:25', 'smtp://u:p@LOCALHOST.:25', 'smtp://u:p@[::1]:25']) {
      expect(smtpTransportOptions(url).requireTLS, url).toBe(false);
    }
    // A Compose service's name, a private address, a name under .localhost: another machine (DNS says where they are).
    for (const url of ['smtp://u:p@postfix:25', 'smtp://u:p@10.0.0.5:587', 'smtp://u:p@relay.localhost:25', 'smtp://u:p@[::ffff:7f00:1]:25', 'smtp://u:p@127.0.0.1.example.com:25']) {
      expect(smtpTransportOptions(url).requireTLS, url).toBe(true);
    }
  });

  it('takes the decision on what nodemailer would connect to, so the URL cannot undo it', () => {
    // nodemailer lets a URL's query override the options beside it: these are given whole.
    expect(smtpTransportOptions('smtp://u:p@smtp.example.com:587?requireTLS=false')).toMatchObject({ host: 'smtp.example.com', requireTLS: true });
    // The scheme decides secure (nodemailer keeps it over the query's), and the decision follows it.
    expect(smtpTransportOptions('smtps://u:p@smtp.example.com:465?secure=false')).toMatchObject({ secure: true, requireTLS: false });
    expect(smtpTransportOptions('smtp://u:p@smtp.example.com:587?secure=true&host=127.0.0.1')).toMatchObject({ secure: false, host: 'smtp.example.com', requireTLS: true });
    // A named service's host, not the URL's loopback address, is where the login goes.
    expect(smtpTransportOptions('smtp://u:p@127.0.0.1?service=SendGrid')).toMatchObject({ host: 'smtp.sendgrid.net', port: 587, requireTLS: true });
    expect(smtpTransportOptions('smtp://u:p@127.0.0.1?service=SendGrid')).not.toHaveProperty('url');
    expect(smtpTransportOptions('smtp://u:p@127.0.0.1?service=SendGrid')).not.toHaveProperty('service');
  });

  it('sends to a relay that takes mail without a login as it answers: no password to protect', () => {
    // No user in the URL: STARTTLS is taken when offered (nodemailer's default), not required.
    for (const url of ['smtp://postfix:25', 'smtp://10.0.0.5:25', 'smtp://relay.internal.example:2525']) {
      expect(smtpTransportOptions(url).requireTLS, url).toBe(false);
    }
    // A user, even without a password, is a login: required.
    expect(smtpTransportOptions('smtp://mailer@postfix:25').requireTLS).toBe(true);
    expect(smtpTransportOptions('smtp://mailer:@postfix:25').requireTLS).toBe(true);
  });

  it('treats this machine as another when told to (the tests\' seam)', () => {
    expect(smtpTransportOptions('smtp://u:p@127.0.0.1:2525', { trustLoopback: false }).requireTLS).toBe(true);
    expect(smtpTransportOptions('smtps://u:p@127.0.0.1:2525', { trustLoopback: false }).requireTLS).toBe(false);
  });

  it('knows loopback by 127.0.0.0/8, ::1 and localhost only', () => {
    for (const host of ['127.0.0.1', '127.255.255.254', '::1', '[::1]', 'localhost', 'Localhost.']) expect(isLoopbackSmtpHost(host), host).toBe(true);
    for (const host of ['128.0.0.1', '127.0.0.256', '127.1', 'a.localhost', 'localhost.example.com', '0.0.0.0', '', 'smtp']) expect(isLoopbackSmtpHost(host), host).toBe(false);
  });
});
