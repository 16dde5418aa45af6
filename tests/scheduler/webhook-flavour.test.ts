import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { DISCORD_CUT_NOTE, discordContent, webhookBody, webhookFlavour } from '../../lib/webhook-flavour.ts';

/**
 * A webhook's body is chosen by its URL's host (docs/sources/webhooks.md): these URLs are only
 * parsed, never called.
 */

describe('the webhook flavour', () => {
  it('is told from the host: Teams Workflows, Discord, a retired Office 365 connector, else Slack-compatible', () => {
    const cases: [string, string][] = [
      ['https://hooks.slack.com/services/T000/B000/XXXX', 'slack'],
      ['https://chat.googleapis.com/v1/spaces/AAA/messages?key=k&token=t', 'slack'],
      ['https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=s', 'teams'],
      ['https://default1234.56.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=s', 'teams'],
      ['https://discord.com/api/webhooks/123/token', 'discord'],
      ['https://discordapp.com/api/webhooks/123/token', 'discord'],
      ['https://ptb.discord.com/api/webhooks/123/token', 'discord'],
      ['https://canary.discord.com/api/v10/webhooks/123/token', 'discord'],
      // Discord's Slack-compatible endpoint takes Slack's body.
      ['https://discord.com/api/webhooks/123/token/slack', 'slack'],
      ['https://contoso.webhook.office.com/webhookb2/g@t/IncomingWebhook/id/owner', 'retired-teams-connector'],
      ['https://outlook.office.com/webhook/g@t/IncomingWebhook/id/owner', 'retired-teams-connector'],
      // Neither a Microsoft nor a Discord host by a suffix of another name.
      ['https://notlogic.azure.com.example.com/hook', 'slack'],
      ['https://discord.com.example.com/api/webhooks/1/t', 'slack'],
    ];
    expect(cases.map(([url]) => [url, webhookFlavour(url)])).toEqual(cases);
  });

  it('takes the configured format over the host, except for a retired connector', () => {
    expect(webhookFlavour('https://hooks.internal.shop/teams', 'teams')).toBe('teams');
    expect(webhookFlavour('https://relay.shop.example/discord', 'discord')).toBe('discord');
    expect(webhookFlavour('https://discord.com/api/webhooks/1/t', 'slack')).toBe('slack');
    expect(webhookFlavour('https://contoso.webhook.office.com/webhookb2/x', 'teams')).toBe('retired-teams-connector');
    expect(configSchema.parse({ alerts: { webhookUrlEnv: 'HOOK', webhookFormat: 'discord' } }).alerts.webhookFormat).toBe('discord');
    expect(() => configSchema.parse({ alerts: { webhookFormat: 'msteams' } })).toThrow(/webhookFormat/);
  });

  it('is a Slack body as before, an Adaptive Card for Teams, Discord content', () => {
    const text = '*Weekly business review 2024-W10* · Shop\n• Revenue: €1,234.00\nReport: https://reports.shop.example/weekly-2024-W10.html';
    expect(webhookBody('slack', { text })).toEqual({ text });
    expect(webhookBody('teams', { text })).toEqual({
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            body: [
              { type: 'TextBlock', text: '**Weekly business review 2024-W10** · Shop', wrap: true },
              { type: 'TextBlock', text: '• Revenue: €1,234.00', wrap: true },
              { type: 'TextBlock', text: 'Report: [https://reports.shop.example/weekly-2024-W10.html](https://reports.shop.example/weekly-2024-W10.html)', wrap: true },
            ],
          },
        },
      ],
    });
    expect(webhookBody('discord', { text })).toEqual({
      content: '**Weekly business review 2024-W10** · Shop\n• Revenue: €1,234.00\nReport: https://reports.shop.example/weekly-2024-W10.html',
    });
  });

  it('cuts a Discord message to 2,000 characters, saying so and keeping the link line whole', () => {
    const changes = `What changed: ${Array.from({ length: 300 }, (_, i) => `change ${i}`).join('; ')}`;
    const lines = ['**Weekly business review 2024-W10** · Shop', changes, 'Report: https://reports.shop.example/weekly-2024-W10.html'];
    const content = discordContent(lines, true);
    expect(content.length).toBeLessThanOrEqual(2000);
    expect(content.length).toBeGreaterThan(1900);
    expect(content.startsWith(`${lines[0]}\nWhat changed: change 0; change 1;`)).toBe(true);
    expect(content.endsWith(`${DISCORD_CUT_NOTE}\nReport: https://reports.shop.example/weekly-2024-W10.html`)).toBe(true);
    // Cut at a space, not inside a word.
    expect(content).toMatch(/change \d+;? … \(cut: a Discord message holds at most 2,000 characters\)\n/);
    // Exactly at the limit, nothing is cut.
    const exact = ['x'.repeat(2000)];
    expect(discordContent(exact)).toBe(exact[0]);
    expect(discordContent(['x'.repeat(2001)]).length).toBeLessThanOrEqual(2000);
  });
});
